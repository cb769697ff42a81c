package org.flotilla.raft.internal.core;

/**
 * The protocol core's settings, in ticks and counts. Validated on construction.
 *
 * @param electionTimeoutTicks the base election timeout T; timeouts are drawn from [T, 2T)
 * @param heartbeatTicks ticks between leader heartbeats; less than {@code electionTimeoutTicks}
 * @param preVote whether candidates run a pre-vote first (thesis §9.6)
 * @param checkQuorum whether a leader steps down when it has not heard from a quorum within an
 *     election timeout, and whether followers that heard from a leader recently ignore votes
 *     (thesis §6.2, §9.6)
 * @param leaseDriftTicks the clock-drift margin: a leader lease lasts {@code electionTimeoutTicks -
 *     leaseDriftTicks} ticks after the heartbeat round that a quorum acknowledged
 * @param maxInflightMessages the most AppendEntries in flight to one follower (pipelining window)
 * @param maxMessageBytes a soft limit on the entry bytes in one AppendEntries
 * @param maxApplyBytes a soft limit on the committed-entry bytes handed out in one ready batch
 * @param maxUncommittedEntries the most entries a leader holds uncommitted before it rejects
 *     proposals
 */
public record CoreOptions(
    int electionTimeoutTicks,
    int heartbeatTicks,
    boolean preVote,
    boolean checkQuorum,
    int leaseDriftTicks,
    int maxInflightMessages,
    int maxMessageBytes,
    int maxApplyBytes,
    int maxUncommittedEntries) {

  /** Defaults: T = 10 ticks, heartbeat every tick, pre-vote and check-quorum on. */
  public static final CoreOptions DEFAULTS =
      new CoreOptions(10, 1, true, true, 2, 256, 1 << 20, 4 << 20, 100_000);

  /**
   * Creates options, checking each value.
   *
   * @param electionTimeoutTicks see above
   * @param heartbeatTicks see above
   * @param preVote see above
   * @param checkQuorum see above
   * @param leaseDriftTicks see above
   * @param maxInflightMessages see above
   * @param maxMessageBytes see above
   * @param maxApplyBytes see above
   * @param maxUncommittedEntries see above
   */
  public CoreOptions {
    if (heartbeatTicks < 1) {
      throw new IllegalArgumentException("heartbeatTicks must be >= 1: " + heartbeatTicks);
    }
    if (electionTimeoutTicks <= heartbeatTicks) {
      throw new IllegalArgumentException(
          "electionTimeoutTicks ("
              + electionTimeoutTicks
              + ") must be greater than heartbeatTicks ("
              + heartbeatTicks
              + ")");
    }
    if (leaseDriftTicks < 0 || leaseDriftTicks >= electionTimeoutTicks) {
      throw new IllegalArgumentException(
          "leaseDriftTicks must be in [0, electionTimeoutTicks): " + leaseDriftTicks);
    }
    if (maxInflightMessages < 1) {
      throw new IllegalArgumentException(
          "maxInflightMessages must be >= 1: " + maxInflightMessages);
    }
    if (maxMessageBytes < 1) {
      throw new IllegalArgumentException("maxMessageBytes must be >= 1: " + maxMessageBytes);
    }
    if (maxApplyBytes < 1) {
      throw new IllegalArgumentException("maxApplyBytes must be >= 1: " + maxApplyBytes);
    }
    if (maxUncommittedEntries < 1) {
      throw new IllegalArgumentException(
          "maxUncommittedEntries must be >= 1: " + maxUncommittedEntries);
    }
  }

  /**
   * Returns a copy with another election timeout and heartbeat interval.
   *
   * @param electionTicks the election timeout
   * @param heartbeat the heartbeat interval
   * @return the copy
   */
  public CoreOptions withTimeouts(int electionTicks, int heartbeat) {
    return new CoreOptions(
        electionTicks,
        heartbeat,
        preVote,
        checkQuorum,
        Math.min(leaseDriftTicks, electionTicks - 1),
        maxInflightMessages,
        maxMessageBytes,
        maxApplyBytes,
        maxUncommittedEntries);
  }

  /**
   * Returns a copy with pre-vote and check-quorum set.
   *
   * @param preVoteOn pre-vote
   * @param checkQuorumOn check-quorum
   * @return the copy
   */
  public CoreOptions withPreVoteAndCheckQuorum(boolean preVoteOn, boolean checkQuorumOn) {
    return new CoreOptions(
        electionTimeoutTicks,
        heartbeatTicks,
        preVoteOn,
        checkQuorumOn,
        leaseDriftTicks,
        maxInflightMessages,
        maxMessageBytes,
        maxApplyBytes,
        maxUncommittedEntries);
  }

  /**
   * Returns a copy with other flow-control limits.
   *
   * @param inflight the pipelining window
   * @param messageBytes the bytes per AppendEntries
   * @return the copy
   */
  public CoreOptions withFlowControl(int inflight, int messageBytes) {
    return new CoreOptions(
        electionTimeoutTicks,
        heartbeatTicks,
        preVote,
        checkQuorum,
        leaseDriftTicks,
        inflight,
        messageBytes,
        maxApplyBytes,
        maxUncommittedEntries);
  }
}
