package org.flotilla.raft.sim;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Shows that the simulator's checks can fail: faults outside Raft's fault model must be caught. */
class OutOfModelFaultTest {

  private static List<String> violationsOver(FaultProfile faults, int seeds) {
    List<String> found = new ArrayList<>();
    for (long seed = 1; seed <= seeds; seed++) {
      SimulationResult r = Simulation.builder().seed(seed).voters(3).faults(faults).build().run();
      found.addAll(r.violations());
    }
    return found;
  }

  /** A disk that acknowledges a sync and then loses the data in a crash breaks durability. */
  @Test
  void lossyFsyncIsCaught() {
    List<String> found = violationsOver(FaultProfile.standard().withOutOfModel(true, false), 100);
    assertThat(found).isNotEmpty();
    assertThat(String.join("\n", found))
        .containsAnyOf("leader completeness", "state machine safety", "linearizab", "log matching");
  }

  /** A network that makes stale votes and stale leaders' messages look current breaks safety. */
  @Test
  void termRewritingNetworkIsCaught() {
    List<String> found = violationsOver(FaultProfile.standard().withOutOfModel(false, true), 100);
    assertThat(found).isNotEmpty();
    assertThat(String.join("\n", found))
        .containsAnyOf(
            "election safety", "state machine safety", "log matching", "leader completeness");
  }

  /** Within the model, the same seeds are clean: the detections above come from the faults. */
  @Test
  void theSameSeedsWithinTheModelAreClean() {
    assertThat(violationsOver(FaultProfile.standard(), 100)).isEmpty();
  }
}
