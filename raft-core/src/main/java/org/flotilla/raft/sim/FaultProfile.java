package org.flotilla.raft.sim;

/**
 * Which faults a {@link Simulation} injects, and how often. Rates are per simulated event.
 *
 * @param dropRate probability that a message is lost
 * @param duplicateRate probability that a message is delivered twice
 * @param maxDelay the largest message delay, in simulated microseconds (delays are uniform in [1,
 *     maxDelay], so messages are reordered)
 * @param partitionRate probability per event that a partition starts or heals
 * @param crashRate probability per event that a node crashes (or a crashed node restarts)
 * @param slowDiskRate probability per event that a node's disk turns slow (or fast again)
 * @param transferRate probability per event of a leadership transfer request
 * @param membershipRate probability per event of a membership change request
 * @param lossyFsync out of Raft's fault model: a disk that acknowledges a sync and then loses the
 *     synced data in a crash
 * @param termRewrite out of Raft's fault model: a network that rewrites the term of messages
 * @param lostTailRate probability that a crash also loses the last one to three log entries that
 *     the member's disk had reported durable, while its durable mark survives (a lost or zeroed
 *     write found at restart); the member must notice and be repaired (Protocol-Aware Recovery)
 * @param strandRate probability that a newly elected leader starts the Figure 8 pattern (§5.4.2)
 *     for itself and the next two leaders: the first two are cut off from everyone as soon as they
 *     are elected, for one to three election timeouts, so that each one's no-op stays on it alone;
 *     the third has the entries of its own term stripped from its AppendEntries for one to three
 *     election timeouts, so that followers take the older-term entries it sends without its no-op,
 *     and is then cut off. This opens the window in which a leader that counted replicas of an
 *     older-term entry would commit it and a later leader would overwrite it
 */
public record FaultProfile(
    double dropRate,
    double duplicateRate,
    long maxDelay,
    double partitionRate,
    double crashRate,
    double slowDiskRate,
    double transferRate,
    double membershipRate,
    boolean lossyFsync,
    boolean termRewrite,
    double lostTailRate,
    double strandRate) {

  /**
   * Creates a profile, checking the values.
   *
   * @param dropRate see above
   * @param duplicateRate see above
   * @param maxDelay see above
   * @param partitionRate see above
   * @param crashRate see above
   * @param slowDiskRate see above
   * @param transferRate see above
   * @param membershipRate see above
   * @param lossyFsync see above
   * @param termRewrite see above
   * @param lostTailRate see above
   * @param strandRate see above
   */
  public FaultProfile {
    for (double p :
        new double[] {
          dropRate,
          duplicateRate,
          partitionRate,
          crashRate,
          slowDiskRate,
          transferRate,
          membershipRate,
          lostTailRate,
          strandRate
        }) {
      if (p < 0 || p > 1) {
        throw new IllegalArgumentException("fault rates must be in [0, 1]: " + p);
      }
    }
    if (maxDelay < 1) {
      throw new IllegalArgumentException("maxDelay must be >= 1: " + maxDelay);
    }
  }

  /**
   * Returns no faults at all: a reliable network with short delays.
   *
   * @return the profile
   */
  public static FaultProfile none() {
    return new FaultProfile(0, 0, 200, 0, 0, 0, 0, 0, false, false, 0, 0);
  }

  /**
   * Returns every fault of Raft's model at rates that keep the cluster making progress, lost
   * durable tails in a quarter of the crashes, and a fifth of the newly elected leaders put through
   * the Figure 8 pattern ({@code strandRate}).
   *
   * @return the profile
   */
  public static FaultProfile standard() {
    return new FaultProfile(
        0.03, 0.02, 2_000, 0.002, 0.0015, 0.002, 0.001, 0.001, false, false, 0.25, 0.2);
  }

  /**
   * Returns a copy with the out-of-model faults set.
   *
   * @param lossy lossy fsync
   * @param rewrite term rewriting
   * @return the copy
   */
  public FaultProfile withOutOfModel(boolean lossy, boolean rewrite) {
    return new FaultProfile(
        dropRate,
        duplicateRate,
        maxDelay,
        partitionRate,
        crashRate,
        slowDiskRate,
        transferRate,
        membershipRate,
        lossy,
        rewrite,
        lostTailRate,
        strandRate);
  }

  /**
   * Returns a copy with the given rate of crashes that lose a durable tail.
   *
   * @param rate the probability, in [0, 1]
   * @return the copy
   */
  public FaultProfile withLostTailRate(double rate) {
    return new FaultProfile(
        dropRate,
        duplicateRate,
        maxDelay,
        partitionRate,
        crashRate,
        slowDiskRate,
        transferRate,
        membershipRate,
        lossyFsync,
        termRewrite,
        rate,
        strandRate);
  }

  /**
   * Returns a copy with the given probability that a new leader goes through the Figure 8 pattern.
   *
   * @param rate the probability, in [0, 1]
   * @return the copy
   */
  public FaultProfile withStrandRate(double rate) {
    return new FaultProfile(
        dropRate,
        duplicateRate,
        maxDelay,
        partitionRate,
        crashRate,
        slowDiskRate,
        transferRate,
        membershipRate,
        lossyFsync,
        termRewrite,
        lostTailRate,
        rate);
  }

  /**
   * Returns a copy with other message loss and duplication rates.
   *
   * @param drop the probability that a message is lost
   * @param duplicate the probability that a message is delivered twice
   * @return the copy
   */
  public FaultProfile withMessageFaults(double drop, double duplicate) {
    return new FaultProfile(
        drop,
        duplicate,
        maxDelay,
        partitionRate,
        crashRate,
        slowDiskRate,
        transferRate,
        membershipRate,
        lossyFsync,
        termRewrite,
        lostTailRate,
        strandRate);
  }

  /**
   * Returns a copy with another crash rate.
   *
   * @param rate the probability per event that a member crashes or restarts, in [0, 1]
   * @return the copy
   */
  public FaultProfile withCrashRate(double rate) {
    return new FaultProfile(
        dropRate,
        duplicateRate,
        maxDelay,
        partitionRate,
        rate,
        slowDiskRate,
        transferRate,
        membershipRate,
        lossyFsync,
        termRewrite,
        lostTailRate,
        strandRate);
  }
}
