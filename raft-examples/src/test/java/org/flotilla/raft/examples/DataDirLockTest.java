package org.flotilla.raft.examples;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Two {@code flotilla-kv} processes on one {@code --data-dir}: the second exits at once with a
 * non-zero status and one line naming the directory and the first's process id, while the first
 * keeps serving; once the first dies (SIGKILL), the directory is free again.
 */
@Timeout(180)
class DataDirLockTest {

  @TempDir Path dir;

  private final HttpTestClient http = new HttpTestClient(Duration.ofSeconds(5));
  private ServerProcess first;
  private ServerProcess second;

  @AfterEach
  void stop() throws InterruptedException {
    for (ServerProcess p : new ServerProcess[] {first, second}) {
      if (p != null) {
        p.kill();
      }
    }
  }

  private ServerProcess server(String name, Path dataDir, int raftPort, int httpPort) {
    String members = "n1=127.0.0.1:" + raftPort + "@127.0.0.1:" + httpPort;
    List<String> args =
        List.of(
            "--id",
            "n1",
            "--data-dir",
            dataDir.toString(),
            "--members",
            members,
            "--election-timeout-ms",
            "300",
            "--heartbeat-ms",
            "30");
    return new ServerProcess(name, args, dir.resolve(name + ".log"));
  }

  /** Writes key=value through the server, retrying until it has elected itself. */
  private void put(String url, String key, String value) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (true) {
      try {
        if (http.send("PUT", url + "/kv/" + key, value).status() == 200) {
          return;
        }
      } catch (java.io.IOException e) {
        // not listening yet
      }
      assertThat(System.nanoTime()).as("PUT %s on %s in time", key, url).isLessThan(deadline);
      Thread.sleep(50);
    }
  }

  @Test
  void aSecondServerOnTheSameDataDirExitsAtOnceAndTheFirstKeepsServing() throws Exception {
    Path data = dir.resolve("data");
    List<Integer> ports = HttpTestClient.freePorts(4);
    String url = "http://127.0.0.1:" + ports.get(1);
    first = server("first", data, ports.get(0), ports.get(1));
    first.start();
    put(url, "color", "blue");

    // other ports, so that only the data directory stands in its way
    second = server("second", data, ports.get(2), ports.get(3));
    second.start();
    assertThat(second.awaitExit(30, TimeUnit.SECONDS)).as("exit status").isNotZero();
    List<String> lines = Files.readAllLines(dir.resolve("second.log"));
    List<String> errors = lines.stream().filter(l -> l.contains("cannot start")).toList();
    assertThat(errors)
        .as("second.log:\n%s", String.join("\n", lines))
        .singleElement()
        .asString()
        .contains(data.resolve("log").toString())
        .contains("in use by process " + first.pid());
    assertThat(lines).as("no stack trace").noneMatch(l -> l.startsWith("\tat "));

    assertThat(first.isAlive()).isTrue();
    put(url, "shape", "round");
    assertThat(http.send("GET", url + "/kv/color", null).body()).isEqualTo("blue");

    first.kill(); // nothing closed: the operating system releases the lock
    second = server("third", data, ports.get(0), ports.get(1));
    second.start();
    put(url, "size", "small");
    assertThat(http.send("GET", url + "/kv/shape", null).body()).isEqualTo("round");
  }
}
