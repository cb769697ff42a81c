package org.flotilla.raft.sim;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * A seed of {@link RuntimeSimulation} replays exactly: each seed runs twice, and the two runs must
 * give the same trace digest (every message sent, lost and delivered, every storage call and
 * durability report, every command applied, every client's invocation and result, every crash and
 * partition, each at its virtual time), the same number of events and the same outcome. The seeds
 * cover the four variants of the runtime simulation (forwarding on or off, concurrent queries on or
 * off). {@code -Dflotilla.replay.seeds=N} sets the number of seeds (default 6); {@code
 * -Dflotilla.sim.seed=S} replays one, twice. When two runs part, the test runs the seed twice more
 * with the trace printed and names the first event where they differ.
 */
class RuntimeReplayTest {

  private static final Duration FAULT_PHASE = Duration.ofSeconds(20);

  @Test
  void aSeedReplaysTheSameTraceOfEvents() {
    String one = System.getProperty("flotilla.sim.seed", "");
    List<Long> seeds = new ArrayList<>();
    if (!one.isBlank()) {
      seeds.add(Long.parseLong(one.trim()));
    } else {
      int n = Integer.getInteger("flotilla.replay.seeds", 6);
      for (long s = 1; s <= n; s++) {
        seeds.add(s);
      }
    }
    List<String> differences = new ArrayList<>();
    long operations = 0;
    long events = 0;
    for (long seed : seeds) {
      RuntimeSimulation first = RuntimeSimulation.of(seed, 3, FAULT_PHASE);
      List<String> firstViolations = first.run();
      RuntimeSimulation second = RuntimeSimulation.of(seed, 3, FAULT_PHASE);
      List<String> secondViolations = second.run();
      operations += first.history().size();
      events += first.traceEvents();
      System.out.printf(
          "%s; %d events, digest %s / %s%n",
          first.summary(),
          first.traceEvents(),
          first.traceDigest().substring(0, 16),
          second.traceDigest().substring(0, 16));
      if (!first.traceDigest().equals(second.traceDigest())
          || !first.summary().equals(second.summary())
          || !firstViolations.equals(secondViolations)) {
        String replay =
            "seed "
                + seed
                + " does not replay (replay with mvn -pl raft-core test -Dtest=RuntimeReplayTest"
                + " -Dflotilla.sim.seed="
                + seed
                + "): "
                + first.summary()
                + " / "
                + second.summary();
        System.out.println(replay);
        System.out.println(firstDifference(seed));
        differences.add(replay);
      }
    }
    System.out.printf(
        "runtime replay: %d seeds run twice, %d operations, %d events each time, %d differed%n",
        seeds.size(), operations, events, differences.size());
    assertThat(differences).isEmpty();
  }

  /** Runs the seed twice more with the trace kept and describes where the traces first part. */
  private static String firstDifference(long seed) {
    List<String> a = new ArrayList<>();
    List<String> b = new ArrayList<>();
    RuntimeSimulation.builder().seed(seed).faultPhase(FAULT_PHASE).trace(a::add).build().run();
    RuntimeSimulation.builder().seed(seed).faultPhase(FAULT_PHASE).trace(b::add).build().run();
    int n = Math.min(a.size(), b.size());
    for (int i = 0; i < n; i++) {
      if (!a.get(i).equals(b.get(i))) {
        return "first difference at event "
            + i
            + ":\n  "
            + String.join("\n  ", a.subList(Math.max(0, i - 3), i))
            + "\n- "
            + a.get(i)
            + "\n+ "
            + b.get(i);
      }
    }
    return a.size() == b.size()
        ? "the two traces of this rerun are the same"
        : "one trace is a prefix of the other: " + a.size() + " and " + b.size() + " events";
  }
}
