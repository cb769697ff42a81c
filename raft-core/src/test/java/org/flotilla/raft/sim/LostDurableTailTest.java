package org.flotilla.raft.sim;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * A member whose disk loses entries it had reported durable (a lost or zeroed write, found at
 * restart) must not let those entries lose their majority. The simulator crashes members and, in
 * some crashes, drops the last one to three durable entries of their logs while the durable mark
 * survives. With the rule of {@code RaftCore.awaitingRepair()} no committed entry is lost; with the
 * mark hidden from the cores (as in a store that keeps none) the search finds lost committed
 * entries.
 */
class LostDurableTailTest {

  // Lost tails in every crash, crashes four times as often as the standard profile.
  private static final FaultProfile LOST_TAILS =
      new FaultProfile(
          0.03, 0.02, 2_000, 0.002, 0.006, 0.002, 0.001, 0.001, false, false, 1.0, 0.2);

  private static List<String> violationsOver(boolean repair, int seeds, int stopAfter) {
    List<String> found = new ArrayList<>();
    for (long seed = 1; seed <= seeds && found.size() < stopAfter; seed++) {
      SimulationResult r =
          Simulation.builder()
              .seed(seed)
              .voters(3)
              .steps(3_000)
              .faults(LOST_TAILS)
              .repairLostTails(repair)
              .build()
              .run();
      found.addAll(r.violations());
    }
    return found;
  }

  /** With the durable mark, 300 seeds of lost tails lose no committed entry. */
  @Test
  void membersThatLostTheirTailAreRepairedAndLoseNothing() {
    List<String> found = violationsOver(true, 300, 1);
    System.out.println("lost durable tails, repair on: 300 seeds, " + found.size() + " violations");
    assertThat(found).isEmpty();
  }

  /** Without it, the same search finds a committed entry lost (within the first 300 seeds). */
  @Test
  void withoutTheMarkTheSearchFindsALostCommittedEntry() {
    List<String> found = violationsOver(false, 300, 1);
    System.out.println("lost durable tails, repair off: " + found);
    assertThat(found).isNotEmpty();
    assertThat(String.join("\n", found))
        .containsAnyOf("leader completeness", "state machine safety", "linearizab", "log matching");
  }
}
