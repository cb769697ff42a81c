package org.flotilla.raft.internal.runtime;

import org.flotilla.raft.RaftOptions;
import org.flotilla.raft.internal.core.CoreOptions;

/** The options' durations in ticks of {@link RaftOptions#tickInterval()}, as the core counts. */
final class Ticks {

  private Ticks() {}

  /** The protocol core's settings from the options. */
  static CoreOptions coreOptions(RaftOptions options) {
    return new CoreOptions(
        election(options),
        heartbeat(options),
        options.preVote(),
        options.checkQuorum(),
        leaseDrift(options),
        options.maxInflightAppends(),
        options.maxAppendBytes(),
        options.maxApplyBatchBytes(),
        Math.max(options.maxPendingProposals(), 1));
  }

  /** The base election timeout in ticks. */
  static int election(RaftOptions o) {
    return (int) (o.electionTimeout().toNanos() / o.tickInterval().toNanos());
  }

  /** The heartbeat interval in ticks, at least one. */
  static int heartbeat(RaftOptions o) {
    return (int) Math.max(1, o.heartbeatInterval().toNanos() / o.tickInterval().toNanos());
  }

  /** A duration in ticks, at least one. */
  static int of(java.time.Duration d, RaftOptions o) {
    return (int) Math.max(1, Math.min(Integer.MAX_VALUE, d.toNanos() / o.tickInterval().toNanos()));
  }

  /** The lease's clock-drift margin in ticks, less than the election timeout. */
  static int leaseDrift(RaftOptions o) {
    return (int)
        Math.min(election(o) - 1L, o.leaseDriftMargin().toNanos() / o.tickInterval().toNanos());
  }
}
