package org.flotilla.raft.message;

/**
 * The leader's request that a caught-up member start an election at once, skipping pre-vote
 * (leadership transfer, thesis §3.10).
 *
 * @param from the leader
 * @param to the transfer target
 * @param term the leader's term
 */
public record TimeoutNow(String from, String to, long term) implements RaftMessage {

  /**
   * Creates the message, checking its fields.
   *
   * @param from the leader
   * @param to the target
   * @param term the term
   */
  public TimeoutNow {
    RaftMessage.checkHeader(from, to, term);
  }
}
