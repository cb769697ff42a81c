package org.flotilla.raft.examples;

import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The long chaos runs, on three and on five server processes, and on a sharded cluster of five
 * servers and 16 groups, each for {@code flotilla.chaos.seconds} (600 under {@code -P chaos}). Run
 * with {@code mvn -B -P chaos -pl raft-examples verify -Dtest=ChaosTest}.
 */
@Tag("chaos-long")
@Timeout(7200)
class ChaosTest {

  @TempDir Path dir;

  private static Duration duration() {
    return Duration.ofSeconds(Long.getLong("flotilla.chaos.seconds", 600));
  }

  @Test
  void threeProcesses() throws Exception {
    ChaosSmokeTest.runAndCheck(3, duration(), dir.resolve("three"));
  }

  @Test
  void fiveProcesses() throws Exception {
    ChaosSmokeTest.runAndCheck(5, duration(), dir.resolve("five"));
  }

  /**
   * Five servers, 16 groups of three replicas, 16 keys spread over them: the nemesis also kills the
   * server leading the most groups, isolates servers and moves replicas between servers.
   */
  @Test
  void fiveServersSixteenGroups() throws Exception {
    ChaosSmokeTest.runAndCheck(5, 16, 16, duration(), dir.resolve("sharded"));
  }
}
