package org.flotilla.raft;

/**
 * The command may or may not have been applied, and this member cannot tell which: the entry that
 * held it was replaced by a snapshot before this member saw it applied, a forwarded command got no
 * (or no definite) answer from the leader, or the leader lost its leadership while a membership
 * change was in flight. The command may still be committed and applied through the other members.
 *
 * <p>A command submitted in a client session can be retried safely with the same sequence number,
 * at any member: the group applies it at most once. Without a session a retry may apply it twice;
 * read the state first. A membership change should be checked against {@link
 * NodeStatus#configuration()} before it is retried.
 */
public final class OutcomeUnknownException extends RaftException {

  private static final long serialVersionUID = 1L;

  /**
   * Creates the exception.
   *
   * @param message what happened, and why the outcome is unknown
   */
  public OutcomeUnknownException(String message) {
    super(message);
  }
}
