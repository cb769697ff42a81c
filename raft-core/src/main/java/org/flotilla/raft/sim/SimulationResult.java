package org.flotilla.raft.sim;

import java.util.List;

/**
 * What a {@link Simulation} run found.
 *
 * @param seed the seed that replays this run
 * @param events the number of events run
 * @param violations the safety, liveness and linearizability violations found; empty on success
 * @param operations client operations recorded
 * @param okOperations client operations that completed successfully
 * @param outcomes operations counted by kind and outcome
 * @param maxCommitIndex the highest commit index any member reached
 * @param faultsInjected how many faults were injected
 * @param healTicks ticks from the heal to a settled cluster, or -1 if it did not settle
 * @param trace the last events before the first violation, empty on success
 */
public record SimulationResult(
    long seed,
    int events,
    List<String> violations,
    int operations,
    int okOperations,
    String outcomes,
    long maxCommitIndex,
    int faultsInjected,
    long healTicks,
    String trace) {

  /**
   * Tells whether the run found no violation.
   *
   * @return true on success
   */
  public boolean ok() {
    return violations.isEmpty();
  }

  /**
   * Returns a readable report: the seed, the violations and the trace.
   *
   * @return the report
   */
  public String report() {
    return "seed "
        + seed
        + " (replay with -Dflotilla.sim.seed="
        + seed
        + "): "
        + String.join("; ", violations)
        + "\nlast events:\n"
        + trace;
  }
}
