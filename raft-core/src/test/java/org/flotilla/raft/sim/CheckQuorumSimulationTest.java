package org.flotilla.raft.sim;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import org.flotilla.raft.internal.core.CoreOptions;
import org.junit.jupiter.api.Test;

/**
 * Thesis §6.2 CheckQuorum in the simulator: a leader isolated at a random moment steps down within
 * one election timeout. {@code -Dflotilla.sim.seed=S} replays one seed.
 */
class CheckQuorumSimulationTest {

  private static final int SEEDS = 200;

  /** Election timeout in ticks. */
  private static final int T = 10;

  private static final long TICK = Simulation.TICK;

  /**
   * "A leader in Raft steps down if an election timeout elapses without a successful round of
   * heartbeats to a majority of its cluster": over many seeds (3 or 5 voters, message loss, delay
   * and duplication, the isolation anywhere in the tick and in the term), the leader steps down
   * within an election timeout and a tick of its isolation, and between T - 1 and T ticks after the
   * last moment a quorum had answered it, never earlier.
   */
  @Test
  void isolatedLeaderStepsDownWithinOneElectionTimeout() {
    String one = System.getProperty("flotilla.sim.seed", "");
    List<Long> seeds = new ArrayList<>();
    if (!one.isBlank()) {
      seeds.add(Long.parseLong(one.trim()));
    } else {
      for (long s = 1; s <= SEEDS; s++) {
        seeds.add(s);
      }
    }
    List<String> failures = new ArrayList<>();
    long slowest = 0;
    for (long seed : seeds) {
      Simulation.LeaderIsolation r =
          Simulation.builder()
              .seed(seed)
              .voters(seed % 2 == 0 ? 3 : 5)
              .spares(0)
              .options(CoreOptions.DEFAULTS.withTimeouts(T, 1).withFlowControl(8, 4096))
              .build()
              .isolateLeader(3 * T);
      String why = check(r);
      if (why != null) {
        failures.add(
            "seed " + seed + " (replay with -Dflotilla.sim.seed=" + seed + "): " + why + " " + r);
      } else {
        slowest = Math.max(slowest, r.steppedDownAt() - r.isolatedAt());
      }
    }
    System.out.printf(
        "check-quorum simulator: %d seeds, slowest step-down %.2f ticks after isolation,"
            + " %d failures%n",
        seeds.size(), slowest / (double) TICK, failures.size());
    assertThat(failures).as("isolated leaders that did not step down in time").isEmpty();
  }

  private static String check(Simulation.LeaderIsolation r) {
    if (!r.violations().isEmpty()) {
      return "violations " + r.violations();
    }
    if (r.leader() == null) {
      return "no leader was elected";
    }
    if (r.steppedDownAt() < 0) {
      return "still leading " + 3 * T + " ticks after its isolation";
    }
    long afterIsolation = r.steppedDownAt() - r.isolatedAt();
    if (afterIsolation > (T + 1) * TICK) {
      return "stepped down " + afterIsolation + " us after its isolation";
    }
    long afterQuorum = r.steppedDownAt() - r.quorumHeardAt();
    if (afterQuorum < (T - 1) * TICK || afterQuorum > T * TICK) {
      return "stepped down " + afterQuorum + " us after a quorum last answered";
    }
    return null;
  }
}
