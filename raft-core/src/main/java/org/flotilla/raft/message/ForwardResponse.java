package org.flotilla.raft.message;

import java.nio.ByteBuffer;
import org.flotilla.raft.CommandRejectedException;

/**
 * The leader's answer to a {@link ForwardRequest}: sent once the command was applied on the leader,
 * or at once if it was refused. Handled by the runtime, never by the protocol core.
 *
 * @param from the leader
 * @param to the follower
 * @param term the leader's term
 * @param requestId the request's id
 * @param status what became of the command
 * @param index the command's log index, when {@link Status#APPLIED}; else 0
 * @param entryTerm the term of the command's entry, when {@link Status#APPLIED}; else 0
 * @param result the state machine's result on the leader, or null
 * @param error why the command was refused or its outcome is unknown; empty when applied
 * @param rejection the kind of refusal, when {@link Status#REJECTED}; else null
 */
public record ForwardResponse(
    String from,
    String to,
    long term,
    long requestId,
    Status status,
    long index,
    long entryTerm,
    ByteBuffer result,
    String error,
    CommandRejectedException.Reason rejection)
    implements RaftMessage {

  /** What became of a forwarded command. The codes are the wire's. */
  public enum Status {
    /** Committed and applied on the leader. */
    APPLIED(0),
    /** Not applied: the receiver does not lead. */
    NOT_LEADER(1),
    /** Not applied: the leader's pending budget or queues are full. */
    OVERLOADED(2),
    /** Not applied: refused (a transfer in progress, a replaced entry, a session rule). */
    REJECTED(3),
    /** The outcome is unknown (the leader stopped, or lost track of the command). */
    UNKNOWN(4);

    private final int code;

    Status(int code) {
      this.code = code;
    }

    /**
     * Returns the status's code on the wire.
     *
     * @return the code
     */
    public int code() {
      return code;
    }

    /**
     * Returns the status with a wire code.
     *
     * @param code the code
     * @return the status
     * @throws IllegalArgumentException if no status has the code
     */
    public static Status of(int code) {
      for (Status s : values()) {
        if (s.code == code) {
          return s;
        }
      }
      throw new IllegalArgumentException("unknown forward status " + code);
    }
  }

  /**
   * Creates the message, checking its fields.
   *
   * @param from the leader
   * @param to the follower
   * @param term the term
   * @param requestId the request id
   * @param status the outcome
   * @param index the entry's index
   * @param entryTerm the entry's term
   * @param result the result, or null
   * @param error the reason, or empty
   * @param rejection the kind of refusal, present exactly when the status is {@link
   *     Status#REJECTED}
   */
  public ForwardResponse {
    RaftMessage.checkHeader(from, to, term);
    if (status == null) {
      throw new IllegalArgumentException("forward response without status");
    }
    RaftMessage.checkIndex("index", index);
    RaftMessage.checkIndex("entryTerm", entryTerm);
    if (status == Status.APPLIED && index == 0) {
      throw new IllegalArgumentException("an applied forwarded command needs its index");
    }
    if (error == null) {
      throw new IllegalArgumentException("forward response without error text (use \"\")");
    }
    if ((rejection != null) != (status == Status.REJECTED)) {
      throw new IllegalArgumentException(
          "a forward response has a rejection reason exactly when rejected: " + status);
    }
  }

  @Override
  public int sizeInBytes() {
    return 64 + (result == null ? 0 : result.remaining()) + error.length();
  }
}
