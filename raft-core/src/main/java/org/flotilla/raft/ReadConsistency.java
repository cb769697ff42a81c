package org.flotilla.raft;

/** How fresh a read must be. */
public enum ReadConsistency {
  /**
   * Linearizable (the default): the read sees every write acknowledged before it started. The
   * leader confirms it still leads with one heartbeat round shared by concurrent reads (ReadIndex,
   * thesis §6.4); on a follower the read index is asked of the leader and the read is served
   * locally once applied. Costs a round trip, never a log write.
   */
  LINEARIZABLE,
  /**
   * Leader lease: like {@link #LINEARIZABLE} but without the round trip while the leader's lease
   * holds, which assumes clocks drift less than the configured margin. Needs check-quorum (on by
   * default); falls back to a heartbeat round when the lease does not hold.
   */
  LEASE,
  /**
   * Local and possibly stale: served from this member's state at once, with no guarantee of
   * freshness (it may miss acknowledged writes, and on a partitioned member be arbitrarily old).
   */
  STALE
}
