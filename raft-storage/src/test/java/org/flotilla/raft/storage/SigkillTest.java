package org.flotilla.raft.storage;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.flotilla.raft.message.LogEntry;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Kills a child JVM with SIGKILL in the middle of its write loop, reopens the log, and checks that
 * every entry the child was told is durable is there and intact. Three rounds on the same log.
 */
@Timeout(180)
class SigkillTest {

  @TempDir Path dir;

  @Test
  void everyEntryReportedDurableSurvivesSigkill() throws Exception {
    Path log = dir.resolve("log");
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    long verified = 0;
    for (int round = 1; round <= 3; round++) {
      Process child =
          new ProcessBuilder(
                  java,
                  "-Xmx256m",
                  "-cp",
                  System.getProperty("java.class.path"),
                  KillChild.class.getName(),
                  log.toString())
              .redirectError(dir.resolve("child-" + round + ".err").toFile())
              .start();
      long durable = -1;
      long ready = -1;
      long target = 0;
      try (BufferedReader in =
          new BufferedReader(
              new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8))) {
        String line;
        while ((line = in.readLine()) != null) {
          if (line.startsWith("READY ")) {
            ready = Long.parseLong(line.substring(6));
            target = ready + 2000L * round;
          } else if (line.startsWith("D ")) {
            durable = Math.max(durable, Long.parseLong(line.substring(2)));
            if (durable >= target && child.isAlive()) {
              child.toHandle().destroyForcibly(); // SIGKILL; keeps our end of the pipe open
            }
          } else if (line.startsWith("F ")) {
            throw new AssertionError("child store failed: " + line);
          }
        }
      } finally {
        child.destroyForcibly();
        assertThat(child.waitFor(30, TimeUnit.SECONDS)).isTrue();
      }
      assertThat(ready).as("round %d: child started at", round).isEqualTo(verified);
      assertThat(durable).as("round %d durable", round).isGreaterThanOrEqualTo(target);
      try (FileLogStore store = FileLogStore.open(log, FileLogStore.Options.defaults())) {
        assertThat(store.lastIndex()).isGreaterThanOrEqualTo(durable);
        long i = 1;
        while (i <= store.lastIndex()) {
          List<LogEntry> chunk = store.entries(i, store.lastIndex() + 1, 8 << 20);
          for (LogEntry e : chunk) {
            assertThat(e).isEqualTo(KillChild.entry(e.index()));
          }
          i += chunk.size();
        }
        verified = store.lastIndex();
      }
    }
  }
}
