package org.flotilla.raft.sim;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.function.LongFunction;
import org.junit.jupiter.api.Test;

/**
 * Runs the deterministic simulator over many seeds. {@code -Dflotilla.sim.seeds=N} sets how many
 * (2,000 in the default build, 100,000 with {@code -P soak}); {@code -Dflotilla.sim.seed=S} replays
 * one seed.
 */
class SimulationTest {

  private static final int STEPS = 2_000;

  @Test
  void threeVotersUnderEveryFaultOfTheModel() {
    runSeeds(
        "3 voters",
        seed -> Simulation.builder().seed(seed).voters(3).spares(1).steps(STEPS).build(),
        1);
  }

  @Test
  void fiveVotersAndALearnerUnderEveryFaultOfTheModel() {
    runSeeds(
        "5 voters + learner",
        seed ->
            Simulation.builder().seed(seed).voters(5).learners(1).spares(1).steps(STEPS).build(),
        4);
  }

  private static void runSeeds(String name, LongFunction<Simulation> sim, int share) {
    String one = System.getProperty("flotilla.sim.seed", "");
    List<Long> seeds = new ArrayList<>();
    if (!one.isBlank()) {
      seeds.add(Long.parseLong(one.trim()));
    } else {
      int total = Integer.getInteger("flotilla.sim.seeds", 2_000);
      // The 3-voter suite runs most seeds; the 5-voter suite a quarter as many, each longer.
      int count = Math.max(1, total / share);
      for (long s = 1; s <= count; s++) {
        seeds.add(s);
      }
    }
    long events = 0;
    long ops = 0;
    long faults = 0;
    long maxHeal = 0;
    List<String> failures = new ArrayList<>();
    for (long seed : seeds) {
      SimulationResult r = sim.apply(seed).run();
      if (seeds.size() == 1) {
        System.out.println(r.outcomes() + " commit " + r.maxCommitIndex());
      }
      events += r.events();
      ops += r.okOperations();
      faults += r.faultsInjected();
      maxHeal = Math.max(maxHeal, r.healTicks());
      if (!r.ok()) {
        failures.add(r.report());
        if (failures.size() >= 3) {
          break;
        }
      }
    }
    System.out.printf(
        "simulator %s: %d seeds, %d events, %d ok operations, %d faults, max heal %d ticks,"
            + " %d violations%n",
        name, seeds.size(), events, ops, faults, maxHeal, failures.size());
    assertThat(failures).as("simulation failures").isEmpty();
  }
}
