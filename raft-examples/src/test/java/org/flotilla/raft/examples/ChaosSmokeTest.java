package org.flotilla.raft.examples;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.time.Duration;
import org.flotilla.raft.sim.LinearizabilityChecker;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A short chaos run on three real server processes, in the default build: every fault kind of
 * {@link ChaosRun} may occur. {@code -Dflotilla.chaos.seed=N} replays a seed's fault schedule (the
 * network and the processes' timing are not deterministic, so a replay is close, not exact).
 */
@Timeout(300)
class ChaosSmokeTest {

  @TempDir Path dir;

  static long seed() {
    String s = System.getProperty("flotilla.chaos.seed", "");
    return s.isBlank() ? System.nanoTime() : Long.parseLong(s.trim());
  }

  static void runAndCheck(int nodes, Duration duration, Path dir) throws Exception {
    runAndCheck(nodes, 0, 3, duration, dir);
  }

  /**
   * Runs a chaos run and checks it: linearizable, enough operations succeeded, and the cluster
   * serves soon after the final heal.
   *
   * @param nodes the servers
   * @param shards 0 for one group on every server, else the groups of a sharded cluster
   * @param keys the keys the clients use (spread over the groups of a sharded cluster)
   */
  static void runAndCheck(int nodes, int shards, int keys, Duration duration, Path dir)
      throws Exception {
    long seed = seed();
    System.out.println(
        "[chaos] seed " + seed + " (replay with -Dflotilla.chaos.seed=" + seed + ")");
    ChaosRun.Report report;
    try (ChaosRun run = new ChaosRun(nodes, shards, duration, seed, 4, keys, dir)) {
      report = run.run();
      System.out.println("[chaos] fault schedule (seed " + seed + "):");
      run.schedule().forEach(line -> System.out.println("  " + line));
    }
    System.out.printf(
        "[chaos] seed %d: %d nodes, %d operations (%d ok), %d faults, recovery after heals %s ms,"
            + " final recovery %d ms%n",
        seed,
        nodes,
        report.operations(),
        report.ok(),
        report.faults(),
        report.recoveryMillis(),
        report.finalRecoveryMillis());
    assertThat(report.check().verdict())
        .as("seed %d: %s", seed, report.check().message())
        .isEqualTo(LinearizabilityChecker.Verdict.LINEARIZABLE);
    assertThat(report.ok()).as("seed %d: operations that succeeded", seed).isGreaterThan(100);
    // The cluster serves again within a few election timeouts of the final heal (a SIGKILLed
    // node's JVM restart is not needed: the others form a quorum).
    assertThat(report.finalRecoveryMillis())
        .as("seed %d: recovery after the final heal", seed)
        .isLessThan(ChaosRun.ELECTION_TIMEOUT.multipliedBy(12).toMillis());
  }

  @Test
  void threeProcessesUnderFaultsStayLinearizable() throws Exception {
    long seconds = Long.getLong("flotilla.chaos.smoke.seconds", 60);
    runAndCheck(3, Duration.ofSeconds(seconds), dir);
  }
}
