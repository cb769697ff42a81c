package org.flotilla.raft.sim;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.stream.LongStream;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Hosts of many groups under faults, in virtual time (see {@link HostSimulation}): every group's
 * safety, linearizability of a workload spread over the groups, service after the heal, and
 * quiescence with its wake-ups. Five hosts, 200 groups of three replicas (120 per host). {@code
 * -Dflotilla.host.sim.seeds=N} sets the number of seeds (2 in the default build, 50 with {@code -P
 * soak}); {@code -Dflotilla.host.sim.seed=S} replays one.
 */
class HostSimulationTest {

  static Stream<Long> seeds() {
    String one = System.getProperty("flotilla.host.sim.seed", "");
    if (!one.isBlank()) {
      return Stream.of(Long.parseLong(one.trim()));
    }
    return LongStream.rangeClosed(1, Integer.getInteger("flotilla.host.sim.seeds", 2)).boxed();
  }

  @ParameterizedTest(name = "seed {0}")
  @MethodSource("seeds")
  void manyGroupsPerHostStaySafeAndServeUnderFaults(long seed) {
    HostSimulation sim = new HostSimulation(seed, 5, 200);
    List<String> violations = sim.run();
    System.out.println(sim.summary());
    assertThat(violations).as(sim.summary()).isEmpty();
  }
}
