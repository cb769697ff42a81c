package org.flotilla.raft.examples;

import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The long chaos runs, on three and on five server processes, each for {@code
 * flotilla.chaos.seconds} (600 under {@code -P chaos}). Run with {@code mvn -B -P chaos -pl
 * raft-examples verify -Dtest=ChaosTest}.
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
}
