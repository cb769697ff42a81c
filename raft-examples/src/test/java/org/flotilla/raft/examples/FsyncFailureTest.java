package org.flotilla.raft.examples;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A member whose disk fails says so and gets out of the way, on three real {@code flotilla-kv}
 * processes. Every process runs with an {@code LD_PRELOAD} shim (fail_fsync.c, compiled here with
 * the system's C compiler) that makes {@code fsync} and {@code fdatasync} fail with EIO for the
 * files of its data directory once a file named {@code FAIL_FSYNC} appears there: a real fault, met
 * by the JVM as a failing disk's. The test triggers it on the leader, then checks that the leader's
 * {@code /status} says FAILED with the cause, that requests through it get 503 at once (not 504
 * after the request time-out), that {@code /health} is 503, that the process exits with status 3
 * after its grace period, and that the other two members go on serving writes and reads.
 *
 * <p>Without a C compiler ({@code cc} or {@code gcc}) or on a system without {@code /proc} the test
 * is skipped; it installs nothing (.ci/run installs gcc where it is missing).
 */
@Timeout(180)
class FsyncFailureTest {

  private static final Duration EXIT_DELAY = Duration.ofSeconds(4);
  private static final Duration REQUEST_TIMEOUT = Duration.ofSeconds(6);
  private static final Pattern ROLE = Pattern.compile("\"role\":\"([A-Z_]+)\"");
  private static final Pattern LEADER = Pattern.compile("\"leader\":\"([^\"]+)\"");

  @TempDir Path dir;

  private final HttpTestClient http = new HttpTestClient(Duration.ofSeconds(10));
  private final Map<String, ServerProcess> servers = new LinkedHashMap<>();
  private final Map<String, String> url = new LinkedHashMap<>();
  private final Map<String, Path> dataDirs = new LinkedHashMap<>();

  @AfterEach
  void stop() throws InterruptedException {
    for (ServerProcess p : servers.values()) {
      p.kill();
    }
  }

  @Test
  void aMemberWhoseFsyncFailsReportsFailedAnswers503AndExitsWhileTheOthersServe() throws Exception {
    Path shim = buildShim();
    startCluster(shim);
    String leader = awaitLeader(null);
    assertThat(put(leader, "before", "1").status()).isEqualTo(200);

    Files.createFile(dataDirs.get(leader).resolve("FAIL_FSYNC"));
    // The leader's next log sync fails. The write may still commit through the two others (the
    // leader counts itself only once its own sync succeeds): any answer will do, promptly.
    HttpTestClient.Reply trigger = put(leader, "during", "2");
    assertThat(trigger.status()).as(trigger.body()).isIn(200, 503, 504);

    String status =
        await(
            leader + "'s /status says FAILED",
            Duration.ofSeconds(20),
            () -> {
              HttpTestClient.Reply r = get(leader, "/status");
              return r != null && r.status() == 200 && r.body().contains("\"role\":\"FAILED\"")
                  ? r.body()
                  : null;
            });
    assertThat(status)
        .contains("\"failure\":{\"error\":", "\"message\":")
        .contains("Input/output error")
        .contains("\"leader\":null");

    long start = System.nanoTime();
    List<HttpTestClient.Reply> refused = new ArrayList<>();
    refused.add(put(leader, "after", "3"));
    refused.add(get(leader, "/kv/before"));
    refused.add(get(leader, "/kv/before?consistency=stale"));
    for (HttpTestClient.Reply r : refused) {
      assertThat(r.status()).as(r.body()).isEqualTo(503);
      assertThat(r.body())
          .contains("\"error\":\"node failed\"", "\"outcome\":\"not-applied\"")
          .contains("\"message\":", "Input/output error");
    }
    assertThat(Duration.ofNanos(System.nanoTime() - start))
        .as("answered at once, not after the %s request time-out", REQUEST_TIMEOUT)
        .isLessThan(REQUEST_TIMEOUT.dividedBy(2));
    HttpTestClient.Reply health = get(leader, "/health");
    assertThat(health.status()).as(health.body()).isEqualTo(503);
    assertThat(health.body()).contains("\"error\":\"node failed\"", "Input/output error");

    int exit = servers.get(leader).awaitExit(EXIT_DELAY.toSeconds() + 30, TimeUnit.SECONDS);
    assertThat(exit).as("exit status of the failed member").isEqualTo(ServerConfig.EXIT_FAILED);
    assertThat(Files.readString(dir.resolve(leader + ".log")))
        .containsPattern("FAILED: the log store failed|FAILED: a store failed")
        .contains("Way out")
        .contains("exiting with status 3");

    // The other two elect a leader between them and serve writes and reads.
    String next = awaitLeader(leader);
    String other = url.keySet().stream().filter(id -> !id.equals(leader)).toList().get(0);
    await(
        "a write through " + other,
        Duration.ofSeconds(30),
        () -> {
          HttpTestClient.Reply r = put(other, "after", "4");
          return r != null && r.status() == 200 ? r : null;
        });
    for (String id : List.of(next, other)) {
      HttpTestClient.Reply r = get(id, "/kv/after");
      assertThat(r.status()).as(id + ": " + r.body()).isEqualTo(200);
      assertThat(r.body()).isEqualTo("4");
      assertThat(get(id, "/kv/before").body()).isEqualTo("1");
    }
  }

  // ------------------------------------------------------------------ the shim

  /** Compiles the shim, or skips the test if no C compiler or no /proc is there. */
  private Path buildShim() throws IOException, InterruptedException {
    assumeTrue(
        Files.isDirectory(Path.of("/proc/self/fd")),
        "no /proc/self/fd: the fsync-failing LD_PRELOAD shim needs Linux");
    String cc = compiler();
    assumeTrue(
        cc != null,
        "no C compiler (cc or gcc) on the PATH to build the fsync-failing LD_PRELOAD shim;"
            + " .ci/run installs gcc");
    Path source = dir.resolve("fail_fsync.c");
    try (InputStream in = getClass().getResourceAsStream("fail_fsync.c")) {
      assertThat(in).as("the shim's source on the test class path").isNotNull();
      Files.copy(in, source);
    }
    Path lib = dir.resolve("libfailfsync.so");
    Process p =
        new ProcessBuilder(cc, "-shared", "-fPIC", "-o", lib.toString(), source.toString(), "-ldl")
            .redirectErrorStream(true)
            .start();
    boolean done = p.waitFor(60, TimeUnit.SECONDS);
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (!done) {
      p.destroyForcibly();
    }
    assertThat(done && p.exitValue() == 0).as("%s builds the shim: %s", cc, out).isTrue();
    return lib;
  }

  private static String compiler() {
    String path = System.getenv("PATH");
    if (path == null) {
      return null;
    }
    for (String name : List.of("cc", "gcc")) {
      for (String d : path.split(Pattern.quote(java.io.File.pathSeparator), -1)) {
        Path candidate = Path.of(d, name);
        if (Files.isExecutable(candidate)) {
          return candidate.toString();
        }
      }
    }
    return null;
  }

  // ------------------------------------------------------------------ the cluster

  private void startCluster(Path shim) throws IOException {
    List<Integer> ports = HttpTestClient.freePorts(6);
    List<String> parts = new ArrayList<>();
    for (int i = 1; i <= 3; i++) {
      String id = "n" + i;
      String h = "127.0.0.1:" + ports.get(2 + i);
      parts.add(id + "=127.0.0.1:" + ports.get(i - 1) + "@" + h);
      url.put(id, "http://" + h);
      dataDirs.put(id, Files.createDirectories(dir.resolve(id)).toRealPath());
    }
    String members = String.join(",", parts);
    for (String id : url.keySet()) {
      ServerProcess p =
          new ServerProcess(
              id,
              List.of(
                  "--id",
                  id,
                  "--data-dir",
                  dataDirs.get(id).toString(),
                  "--members",
                  members,
                  "--election-timeout-ms",
                  "500",
                  "--heartbeat-ms",
                  "50",
                  "--request-timeout-ms",
                  Long.toString(REQUEST_TIMEOUT.toMillis()),
                  "--failure-exit-delay-ms",
                  Long.toString(EXIT_DELAY.toMillis())),
              dir.resolve(id + ".log"),
              Map.of(
                  "LD_PRELOAD", shim.toString(),
                  "FLOTILLA_FAIL_FSYNC_DIR", dataDirs.get(id).toString()));
      servers.put(id, p);
      p.start();
    }
  }

  /** Waits until the running members other than {@code except} agree on a leader; returns it. */
  private String awaitLeader(String except) {
    return await(
        "a leader that the members agree on",
        Duration.ofSeconds(60),
        () -> {
          String seen = null;
          for (String id : url.keySet()) {
            if (id.equals(except)) {
              continue;
            }
            HttpTestClient.Reply r = get(id, "/status");
            if (r == null || r.status() != 200) {
              return null;
            }
            Matcher role = ROLE.matcher(r.body());
            Matcher leader = LEADER.matcher(r.body());
            if (!role.find() || !leader.find() || leader.group(1).equals(except)) {
              return null;
            }
            if (seen != null && !seen.equals(leader.group(1))) {
              return null;
            }
            seen = leader.group(1);
          }
          return seen;
        });
  }

  private HttpTestClient.Reply put(String id, String key, String value) {
    try {
      return http.send("PUT", url.get(id) + "/kv/" + key, value);
    } catch (IOException e) {
      return null;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  private HttpTestClient.Reply get(String id, String path) {
    try {
      return http.send("GET", url.get(id) + path, null);
    } catch (IOException e) {
      return null;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  /** Polls every 50 ms until the supplier gives a value, failing after the timeout. */
  private <T> T await(String what, Duration timeout, Supplier<T> poll) {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (true) {
      T v = poll.get();
      if (v != null) {
        return v;
      }
      if (System.nanoTime() > deadline) {
        throw new AssertionError("timed out after " + timeout + " waiting for " + what + logs());
      }
      try {
        Thread.sleep(50);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException(e);
      }
    }
  }

  private String logs() {
    StringBuilder b = new StringBuilder();
    for (String id : url.keySet()) {
      try {
        List<String> lines = Files.readAllLines(dir.resolve(id + ".log"));
        b.append("\n--- ").append(id).append(".log (tail)\n");
        lines
            .subList(Math.max(0, lines.size() - 30), lines.size())
            .forEach(l -> b.append(l).append('\n'));
      } catch (IOException e) {
        b.append("\n--- ").append(id).append(".log unreadable: ").append(e);
      }
    }
    return b.toString();
  }
}
