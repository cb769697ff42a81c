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
 * @param quiesce whether the leader quiesces the group with this heartbeat: it stops ticking, and a
 *     follower that holds exactly the entries up to {@code commitIndex} stops its election timer
 *     until any message, request or host failure wakes it (docs/architecture.md, "Quiescence")
 */
public record Heartbeat(
    String from, String to, long term, long commitIndex, long round, boolean quiesce)
    implements RaftMessage {

  /**
   * Creates the message, checking its fields.
   *
   * @param from the leader
   * @param to the receiver
   * @param term the term
   * @param commitIndex the commit index
   * @param round the round
   * @param quiesce whether the leader quiesces the group
   */
  public Heartbeat {
    RaftMessage.checkHeader(from, to, term);
    RaftMessage.checkIndex("commitIndex", commitIndex);
    RaftMessage.checkIndex("round", round);
  }

  /**
   * Creates a heartbeat that does not quiesce the group.
   *
   * @param from the leader
   * @param to the receiver
   * @param term the term
   * @param commitIndex the commit index
   * @param round the round
   */
  public Heartbeat(String from, String to, long term, long commitIndex, long round) {
    this(from, to, term, commitIndex, round, false);
  }
}
