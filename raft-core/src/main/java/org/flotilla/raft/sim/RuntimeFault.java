package org.flotilla.raft.sim;

/**
 * The faults and features a {@link RuntimeSimulation} can exercise. A run is given a set of them;
 * each seed switches each one of the set on with probability 3/4 (all of them on seeds that are
 * multiples of 4), so that seeds differ in their mix and every fault also runs alone with others
 * quiet.
 */
public enum RuntimeFault {
  /**
   * Crashes and restarts: a crash stops every thread of the member at once and loses every log
   * entry, term and vote not yet synced (the torn or missing tail of a write cut by power loss).
   */
  CRASH,
  /** Partitions: a member cut off both ways, a one-way link, and a bridge between two halves. */
  PARTITION,
  /** Message loss (2% of messages) and duplication (2%). */
  LOSS,
  /** Long message delays (up to 40 ms for 5% of messages), which reorder messages. */
  DELAY,
  /** A disk that turns slow (syncs take 20 to 80 ms) for a while. */
  SLOW_DISK,
  /**
   * Drifting clocks: each member's clock runs 0.97 to 1.03 times real time, within the lease's
   * drift margin, so lease reads stay linearizable.
   */
  CLOCK_DRIFT,
  /**
   * Membership changes under load: a spare member added (as a learner promoted automatically, or as
   * a plain learner), learners promoted, voters removed (the leader too), with joint consensus.
   */
  MEMBERSHIP,
  /** Leadership transfers to random voters, and members with different election priorities. */
  TRANSFER,
  /**
   * Snapshots: taken often and on request, several chunks each, sent to members that fall behind
   * (so crashes and partitions interrupt transfers, which resume).
   */
  SNAPSHOT,
  /**
   * Overload: a small bound on pending commands and bursts of clients, so proposals are refused.
   */
  OVERLOAD
}
