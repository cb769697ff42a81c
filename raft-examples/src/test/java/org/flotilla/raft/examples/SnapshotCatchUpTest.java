package org.flotilla.raft.examples;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A follower that was down while the leader snapshotted and compacted its log past the follower's
 * last entry catches up through InstallSnapshot, on three real {@code flotilla-kv} processes with
 * small log segments ({@code --segment-size}) and a low {@code --snapshot-threshold}. The proof is
 * the restarted follower's {@code flotilla_snapshots_installed_total} (a counter of the new
 * process, so 0 at its start), its applied index, and a key written while it was down served by it.
 *
 * <p>It takes about 30 s, most of it starting four JVMs, so it runs in the chaos profile, not the
 * default build: {@code mvn -P chaos -pl raft-examples verify -Dtest=SnapshotCatchUpTest}.
 */
@Tag("chaos-long")
@Timeout(180)
class SnapshotCatchUpTest {

  private static final int WRITES = 600;
  private static final String VALUE = "v".repeat(2000);
  private static final Pattern INSTALLED =
      Pattern.compile("(?m)^flotilla_snapshots_installed_total\\{[^}]*} (\\d+)");

  @TempDir Path dir;

  private final HttpTestClient http = new HttpTestClient(Duration.ofSeconds(5));
  private final Map<String, ServerProcess> servers = new LinkedHashMap<>();
  private final Map<String, String> url = new LinkedHashMap<>();
  private final long t0 = System.nanoTime();

  @AfterEach
  void killAll() throws InterruptedException {
    for (ServerProcess s : servers.values()) {
      s.kill();
    }
  }

  @Test
  void aFollowerBehindTheLeadersCompactedLogCatchesUpThroughASnapshot() throws Exception {
    List<Integer> ports = HttpTestClient.freePorts(6);
    List<String> parts = new ArrayList<>();
    for (int i = 1; i <= 3; i++) {
      String id = "n" + i;
      String h = "127.0.0.1:" + ports.get(2 + i);
      parts.add(id + "=127.0.0.1:" + ports.get(i - 1) + "@" + h);
      url.put(id, "http://" + h);
    }
    String members = String.join(",", parts);
    for (String id : url.keySet()) {
      ServerProcess s =
          new ServerProcess(
              id,
              List.of(
                  "--id",
                  id,
                  "--data-dir",
                  dir.resolve(id).toString(),
                  "--members",
                  members,
                  "--election-timeout-ms",
                  "500",
                  "--heartbeat-ms",
                  "50",
                  // About 30 entries of 2 KB per segment, a snapshot every 100 entries (keeping
                  // 50 behind it): the leader's log soon starts far past the stopped follower's.
                  "--segment-size",
                  "65536",
                  "--snapshot-threshold",
                  "100"),
              dir.resolve(id + ".log"));
      servers.put(id, s);
      s.start();
    }
    String leader = awaitLeader();
    log("leader " + leader);
    String follower = leader.equals("n1") ? "n2" : "n1";
    put(leader, "before", "1");
    await(follower + " applies the first write", () -> "1".equals(staleGet(follower, "before")));
    long followerLast = statusField(follower, "lastIndex");

    servers.get(follower).kill();
    log("killed " + follower + " at its last index " + followerLast);
    writeMany(leader);
    log(WRITES + " writes acknowledged");
    String current = awaitLeader();
    await(
        "the leader snapshots well past " + follower + "'s last entry " + followerLast,
        () -> statusField(current, "snapshotIndex") > followerLast + 300);
    long leaderApplied = statusField(current, "appliedIndex");
    log("the leader's snapshot is past it; restarting " + follower);

    long restarted = System.nanoTime();
    servers.get(follower).start();
    await(
        follower + " installs a snapshot and applies what the leader had",
        () ->
            installedSnapshots(follower) >= 1
                && statusField(follower, "appliedIndex") >= leaderApplied);
    long seconds = TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - restarted);
    log(follower + " installed a snapshot and caught up in " + seconds + " s");
    assertThat(seconds).as("caught up within a minute").isLessThan(60);
    assertThat(statusField(follower, "snapshotIndex")).isGreaterThan(followerLast + 300);
    assertThat(staleGet(follower, "k0")).isEqualTo(VALUE + 0);
    assertThat(staleGet(follower, "k" + (WRITES - 1))).isEqualTo(VALUE + (WRITES - 1));
    assertThat(staleGet(follower, "before")).isEqualTo("1");
  }

  private void log(String event) {
    System.out.printf("[SnapshotCatchUpTest] t=%.1fs %s%n", (System.nanoTime() - t0) / 1e9, event);
  }

  /** Writes {@link #WRITES} keys through the leader, four at a time. */
  private void writeMany(String leader) throws Exception {
    ExecutorService pool = Executors.newFixedThreadPool(4);
    try {
      List<Future<?>> done = new ArrayList<>();
      for (int t = 0; t < 4; t++) {
        int first = t;
        done.add(
            pool.submit(
                () -> {
                  for (int i = first; i < WRITES; i += 4) {
                    put(leader, "k" + i, VALUE + i);
                  }
                  return null;
                }));
      }
      for (Future<?> f : done) {
        f.get(120, TimeUnit.SECONDS);
      }
    } finally {
      pool.shutdownNow();
    }
  }

  /** Puts a key through a node, retrying a refusal (503) or a time-out until a deadline. */
  private void put(String node, String key, String value) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (true) {
      HttpTestClient.Reply r;
      try {
        r = http.send("PUT", url.get(node) + "/kv/" + key, value);
      } catch (IOException e) {
        r = null;
      }
      if (r != null && r.status() == 200) {
        return;
      }
      assertThat(System.nanoTime())
          .as("PUT " + key + " via " + node + ": " + (r == null ? "no answer" : r.body()))
          .isLessThan(deadline);
      Thread.sleep(50);
    }
  }

  private String staleGet(String node, String key) {
    try {
      HttpTestClient.Reply r =
          http.send("GET", url.get(node) + "/kv/" + key + "?consistency=stale", null);
      return r.status() == 200 ? r.body() : null;
    } catch (IOException e) {
      return null;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return null;
    }
  }

  /** A number from a node's {@code /status}, or -1 if it does not answer. */
  private long statusField(String node, String field) {
    try {
      HttpTestClient.Reply r = http.send("GET", url.get(node) + "/status", null);
      Matcher m = Pattern.compile("\"" + field + "\":(-?\\d+)").matcher(r.body());
      return r.status() == 200 && m.find() ? Long.parseLong(m.group(1)) : -1;
    } catch (IOException e) {
      return -1;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return -1;
    }
  }

  /** The node's {@code flotilla_snapshots_installed_total}, or -1 if it does not answer. */
  private long installedSnapshots(String node) {
    try {
      HttpTestClient.Reply r = http.send("GET", url.get(node) + "/metrics", null);
      Matcher m = INSTALLED.matcher(r.body());
      return r.status() == 200 && m.find() ? Long.parseLong(m.group(1)) : -1;
    } catch (IOException e) {
      return -1;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return -1;
    }
  }

  /** Waits until a running node names a leader that is running, and returns it. */
  private String awaitLeader() throws InterruptedException {
    String[] found = new String[1];
    await(
        "a leader",
        () -> {
          for (String id : url.keySet()) {
            if (!servers.get(id).isAlive()) {
              continue;
            }
            try {
              HttpTestClient.Reply r = http.send("GET", url.get(id) + "/status", null);
              Matcher m = Pattern.compile("\"leader\":\"([^\"]+)\"").matcher(r.body());
              if (r.status() == 200 && m.find() && servers.get(m.group(1)).isAlive()) {
                found[0] = m.group(1);
                return true;
              }
            } catch (IOException e) {
              // not up yet
            } catch (InterruptedException e) {
              Thread.currentThread().interrupt();
              return false;
            }
          }
          return false;
        });
    return found[0];
  }

  /** Polls a condition every 100 ms for at most 60 s. */
  private static void await(String what, java.util.function.BooleanSupplier condition)
      throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (!condition.getAsBoolean()) {
      assertThat(System.nanoTime()).as("within 60 s: " + what).isLessThan(deadline);
      Thread.sleep(100);
    }
  }
}
