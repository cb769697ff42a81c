package org.flotilla.raft.message;

/**
 * The leader's periodic heartbeat; it asserts leadership, advances the follower's commit index and
 * opens a round that ReadIndex reads and leader leases count (thesis §6.4).
 *
 * <p>It carries no log-matching check, so {@code commitIndex} is at most the follower's match index
 * as the leader knows it.
 *
 * @param from the leader
 * @param to the follower or learner
 * @param term the leader's term
 * @param commitIndex {@code min(leader commit, follower match)}
 * @param round the heartbeat round, increasing within a term
 */
public record Heartbeat(String from, String to, long term, long commitIndex, long round)
    implements RaftMessage {

  /**
   * Creates the message, checking its fields.
   *
   * @param from the leader
   * @param to the receiver
   * @param term the term
   * @param commitIndex the commit index
   * @param round the round
   */
  public Heartbeat {
    RaftMessage.checkHeader(from, to, term);
    RaftMessage.checkIndex("commitIndex", commitIndex);
    RaftMessage.checkIndex("round", round);
  }
}
