package org.flotilla.raft.sim;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Drives real {@link org.flotilla.raft.RaftNode}s (the whole runtime) deterministically with
 * crashes between append and sync, message loss and partitions. {@code
 * -Dflotilla.runtime.sim.seeds=N} sets the number of seeds (default 20); {@code
 * -Dflotilla.sim.seed=S} replays one.
 */
class RuntimeSimulationTest {

  @Test
  void theRuntimeStaysSafeAndLinearizableUnderCrashesAndPartitions() {
    String one = System.getProperty("flotilla.sim.seed", "");
    List<Long> seeds = new ArrayList<>();
    if (!one.isBlank()) {
      seeds.add(Long.parseLong(one.trim()));
    } else {
      int n = Integer.getInteger("flotilla.runtime.sim.seeds", 20);
      for (long s = 1; s <= n; s++) {
        seeds.add(s);
      }
    }
    List<String> violations = new ArrayList<>();
    long ops = 0;
    for (long seed : seeds) {
      RuntimeSimulation sim = RuntimeSimulation.of(seed, 3, Duration.ofSeconds(20));
      List<String> found = sim.run();
      ops += sim.history().size();
      if (seeds.size() == 1 || !found.isEmpty()) {
        System.out.println(
            sim.summary()
                + " (replay with mvn -pl raft-core test -Dtest=RuntimeSimulationTest"
                + " -Dflotilla.sim.seed="
                + seed
                + ")");
      }
      violations.addAll(found);
    }
    System.out.printf(
        "runtime simulator: %d seeds, %d operations, %d violations%n",
        seeds.size(), ops, violations.size());
    assertThat(violations).isEmpty();
  }
}
