package org.flotilla.raft;

/**
 * The operation was refused or definitely did not take effect: for example a membership change
 * while another is in flight, a proposal during a leadership transfer, or a command whose log entry
 * was replaced by a new leader's. {@link #reason()} tells which kind of refusal it was, so that a
 * caller need not read the message: for most, a retry is safe and may succeed; for {@link
 * Reason#SESSION_SUPERSEDED}, {@link Reason#NO_SESSION}, {@link Reason#TOO_LARGE} and {@link
 * Reason#INVALID} the same request is refused again.
 */
public sealed class CommandRejectedException extends RaftException
    permits CommandTooLargeException {

  private static final long serialVersionUID = 1L;

  /** The kind of a refusal. The codes are the wire's (a forwarded command's refusal). */
  public enum Reason {
    /**
     * Refused for the moment (a membership change or leadership transfer in progress, a snapshot
     * already being written, a leader not ready): a retry may succeed.
     */
    REFUSED(0),
    /** The command's log entry was replaced by a new leader's: it was not applied; retry. */
    REPLACED(1),
    /**
     * A later command of the same client session was already applied: this one never will be, and a
     * retry with the same sequence number is refused again.
     */
    SESSION_SUPERSEDED(2),
    /**
     * The client has no session (it expired, or never began with sequence 1): the command was not
     * applied; the client must start a new session.
     */
    NO_SESSION(3),
    /**
     * The group holds {@link RaftOptions#maxSessions()} sessions: the command was not applied; a
     * retry succeeds once idle sessions expire.
     */
    SESSIONS_FULL(4),
    /**
     * The command is too large for one message: a {@link CommandTooLargeException}, or, for a
     * command a leader refused after a follower forwarded it, a plain refusal with this reason.
     */
    TOO_LARGE(5),
    /**
     * The request itself is invalid (for example a client id too long to encode): it is refused
     * again, whatever the retries.
     */
    INVALID(6);

    private final int code;

    Reason(int code) {
      this.code = code;
    }

    /**
     * Returns the reason's code on the wire.
     *
     * @return the code
     */
    public int code() {
      return code;
    }

    /**
     * Returns the reason with a wire code; an unknown code (from a newer peer) is {@link #REFUSED}.
     *
     * @param code the code
     * @return the reason
     */
    public static Reason of(int code) {
      for (Reason r : values()) {
        if (r.code == code) {
          return r;
        }
      }
      return REFUSED;
    }
  }

  /** Which kind of refusal this is. */
  private final Reason reason;

  /**
   * Creates a refusal of kind {@link Reason#REFUSED}.
   *
   * @param message why
   */
  public CommandRejectedException(String message) {
    this(Reason.REFUSED, message);
  }

  /**
   * Creates the exception.
   *
   * @param reason the kind of refusal
   * @param message why
   */
  public CommandRejectedException(Reason reason, String message) {
    super(message);
    if (reason == null) {
      throw new IllegalArgumentException("a refusal needs a reason");
    }
    this.reason = reason;
  }

  /**
   * Returns the kind of refusal, for a caller that decides whether to retry.
   *
   * @return the reason
   */
  public Reason reason() {
    return reason;
  }
}
