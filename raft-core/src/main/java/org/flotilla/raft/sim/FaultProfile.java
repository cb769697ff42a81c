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
    double lostTailRate) {

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
          lostTailRate
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
    return new FaultProfile(0, 0, 200, 0, 0, 0, 0, 0, false, false, 0);
  }

  /**
   * Returns every fault of Raft's model at rates that keep the cluster making progress, and lost
   * durable tails in a quarter of the crashes.
   *
   * @return the profile
   */
  public static FaultProfile standard() {
    return new FaultProfile(
        0.03, 0.02, 2_000, 0.002, 0.0015, 0.002, 0.001, 0.001, false, false, 0.25);
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
        lostTailRate);
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
        rate);
  }
}
