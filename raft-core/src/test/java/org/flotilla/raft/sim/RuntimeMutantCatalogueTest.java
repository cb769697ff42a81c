package org.flotilla.raft.sim;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.List;
import org.flotilla.raft.internal.runtime.RuntimeMutants;
import org.flotilla.raft.internal.runtime.RuntimeMutants.Mutant;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The runtime half of the bug catalogue (docs/testing.md): each {@link Mutant} puts a known bug
 * back into the runtime, and the runtime simulator, run over seeds from 1 with the standard faults,
 * must find it within the mutant's seed budget. The budgets are about three times the seeds the
 * search took when it was written, so a change that makes the search weaker fails here.
 */
class RuntimeMutantCatalogueTest {

  private static final Duration FAULT_PHASE = Duration.ofSeconds(8);

  @AfterEach
  void reset() {
    RuntimeMutants.reset();
  }

  @ParameterizedTest
  @EnumSource(Mutant.class)
  void theSimulatorFindsTheBug(Mutant mutant) {
    int budget = budget(mutant);
    RuntimeMutants.enable(mutant);
    long caught = -1;
    String first = "";
    for (long seed = 1; seed <= budget && caught < 0; seed++) {
      List<String> found =
          RuntimeSimulation.builder().seed(seed).faultPhase(FAULT_PHASE).build().run();
      if (!found.isEmpty()) {
        caught = seed;
        first = found.get(0);
      }
    }
    System.out.printf(
        "runtime mutant %s: caught at seed %d (budget %d): %s%n",
        mutant, caught, budget, first.lines().findFirst().orElse(""));
    assertThat(caught).as("seed at which %s was caught", mutant).isPositive();
  }

  @Test
  void resetTurnsEverySwitchOff() {
    for (Mutant m : Mutant.values()) {
      RuntimeMutants.enable(m);
      assertThat(RuntimeMutants.active()).hasSize(1);
      RuntimeMutants.reset();
      assertThat(RuntimeMutants.active()).isEmpty();
    }
  }

  /** The seed budget of each mutant. */
  private static int budget(Mutant m) {
    return switch (m) {
      case SESSION_DEDUP_OFF -> 30;
      case READ_BEFORE_APPLIED -> 30;
      case FOLLOWER_READ_WITHOUT_READ_INDEX -> 30;
      case DURABLE_BEFORE_SYNC -> 300;
    };
  }
}
