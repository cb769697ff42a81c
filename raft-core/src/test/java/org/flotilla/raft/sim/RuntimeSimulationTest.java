package org.flotilla.raft.sim;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Drives real {@link org.flotilla.raft.RaftNode}s (the whole runtime) deterministically under every
 * {@link RuntimeFault}, each seed with its own mix, and checks every run (see {@link
 * RuntimeSimulation}). {@code -Dflotilla.runtime.sim.seeds=N} sets the number of seeds (200 in the
 * default build, 10,000 with {@code -P soak}), {@code -Dflotilla.runtime.sim.first=F} the first
 * (default 1, so that a long search can be split over several JVMs); {@code -Dflotilla.sim.seed=S}
 * replays one.
 */
class RuntimeSimulationTest {

  /** Each seed's fault phase: long enough for several faults of each kind, short enough for 200. */
  static final Duration FAULT_PHASE = Duration.ofSeconds(12);

  @Test
  void theRuntimeStaysSafeLinearizableAndLiveUnderEveryFault() {
    String one = System.getProperty("flotilla.sim.seed", "");
    List<Long> seeds = new ArrayList<>();
    if (!one.isBlank()) {
      seeds.add(Long.parseLong(one.trim()));
    } else {
      int n = Integer.getInteger("flotilla.runtime.sim.seeds", 200);
      long first = Long.getLong("flotilla.runtime.sim.first", 1);
      for (long s = first; s < first + n; s++) {
        seeds.add(s);
      }
    }
    List<String> violations = new ArrayList<>();
    Map<RuntimeFault, Integer> faultSeeds = new EnumMap<>(RuntimeFault.class);
    long ops = 0;
    int voters = 0;
    for (long seed : seeds) {
      // 3 voters on most seeds; 5 on every fifth, 1 on every 25th
      int n = seed % 25 == 0 ? 1 : seed % 5 == 0 ? 5 : 3;
      RuntimeSimulation sim =
          RuntimeSimulation.builder().seed(seed).voters(n).faultPhase(FAULT_PHASE).build();
      List<String> found = sim.run();
      ops += sim.history().size();
      voters += n;
      sim.faults().forEach(f -> faultSeeds.merge(f, 1, Integer::sum));
      if (seeds.size() == 1 || !found.isEmpty()) {
        System.out.println(
            sim.summary()
                + " (replay with mvn -pl raft-core test -Dtest=RuntimeSimulationTest"
                + " -Dflotilla.sim.seed="
                + seed
                + ")");
        found.forEach(System.out::println);
      }
      violations.addAll(found);
      if (violations.size() > 20) {
        break;
      }
    }
    System.out.printf(
        "runtime simulator: %d seeds (%d voters in all), %d operations, seeds per fault %s,"
            + " %d violations%n",
        seeds.size(), voters, ops, faultSeeds, violations.size());
    assertThat(violations).isEmpty();
  }
}
