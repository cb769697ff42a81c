package org.flotilla.raft.examples;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.Socket;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Three key-value servers in one JVM on loopback, each with the real Netty transport and file
 * stores, driven over HTTP through different nodes so that writes are forwarded to the leader.
 */
@Timeout(120)
class KvClusterTest {

  @TempDir Path dir;

  private final HttpTestClient http = new HttpTestClient(Duration.ofSeconds(10));
  private final Map<String, KvServer> servers = new LinkedHashMap<>();
  private final Map<String, String> httpUrl = new LinkedHashMap<>();
  private String members;

  @AfterEach
  void stop() {
    servers.values().forEach(KvServer::close);
  }

  private void startCluster() throws IOException {
    List<Integer> ports = HttpTestClient.freePorts(6);
    List<String> parts = new ArrayList<>();
    for (int i = 1; i <= 3; i++) {
      String id = "n" + i;
      String h = "127.0.0.1:" + ports.get(2 + i);
      parts.add(id + "=127.0.0.1:" + ports.get(i - 1) + "@" + h);
      httpUrl.put(id, "http://" + h);
    }
    members = String.join(",", parts);
    for (String id : httpUrl.keySet()) {
      startServer(id);
    }
  }

  private void startServer(String id) throws IOException {
    servers.put(
        id,
        KvServer.start(
            ServerConfig.parse(
                new String[] {
                  "--id", id,
                  "--data-dir", dir.resolve(id).toString(),
                  "--members", members,
                  "--election-timeout-ms", "300",
                  "--heartbeat-ms", "30",
                  "--max-body-bytes", "1024",
                  "--idle-timeout-ms", "500",
                  "--request-timeout-ms", "3000"
                })));
  }

  private static void await(String what, BooleanSupplier condition) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (!condition.getAsBoolean()) {
      assertThat(System.nanoTime()).as("waiting for " + what).isLessThan(deadline);
      Thread.sleep(20);
    }
  }

  private String leader() {
    String seen = null;
    for (KvServer s : servers.values()) {
      var st = s.node().status();
      if (st.leader().isEmpty() || (seen != null && !seen.equals(st.leader().get()))) {
        return null;
      }
      seen = st.leader().get();
    }
    return seen;
  }

  private String follower(String leader, int which) {
    return httpUrl.keySet().stream().filter(id -> !id.equals(leader)).toList().get(which);
  }

  private static final Pattern SAMPLE =
      Pattern.compile("([a-z_]+)\\{([^}]*)\\} (-?[0-9.eE+-]+|\\+Inf|NaN)");

  /** Parses a Prometheus text exposition into "name{labels}" to value, checking every line. */
  private static Map<String, Double> samples(String body) {
    Map<String, Double> out = new LinkedHashMap<>();
    for (String line : body.lines().toList()) {
      if (line.startsWith("# HELP ") || line.startsWith("# TYPE ")) {
        continue;
      }
      Matcher m = SAMPLE.matcher(line);
      assertThat(m.matches()).as("a sample line: %s", line).isTrue();
      out.put(m.group(1) + "{" + m.group(2) + "}", Double.parseDouble(m.group(3)));
    }
    return out;
  }

  private double metric(String node, String name, String extraLabels) throws Exception {
    String body = http.send("GET", httpUrl.get(node) + "/metrics", null).body();
    String key = name + "{group=\"kv\",node=\"" + node + "\"" + extraLabels + "}";
    Double v = samples(body).get(key);
    assertThat(v).as("sample %s in\n%s", key, body).isNotNull();
    return v;
  }

  private void awaitMetric(String node, String name, String labels, double atLeast)
      throws InterruptedException {
    await(
        node + " " + name + labels + " >= " + atLeast,
        () -> {
          try {
            return metric(node, name, labels) >= atLeast;
          } catch (Exception e) {
            throw new AssertionError(e);
          }
        });
  }

  @Test
  void metricsEndpointServesLiveValuesInThePrometheusFormat() throws Exception {
    startCluster();
    await("one leader known to all", () -> leader() != null);
    String leader = leader();
    String follower = follower(leader, 0);

    HttpTestClient.Reply before = http.send("GET", httpUrl.get(leader) + "/metrics", null);
    assertThat(before.status()).isEqualTo(200);
    for (String name :
        List.of(
            "flotilla_term gauge",
            "flotilla_commit_index gauge",
            "flotilla_applied_index gauge",
            "flotilla_role gauge",
            "flotilla_proposals_total counter",
            "flotilla_proposals_rejected_total counter",
            "flotilla_entries_committed_total counter",
            "flotilla_entries_applied_total counter",
            "flotilla_elections_started_total counter",
            "flotilla_elections_won_total counter",
            "flotilla_leader_changes_total counter",
            "flotilla_snapshots_taken_total counter",
            "flotilla_apply_seconds histogram",
            "flotilla_log_append_seconds histogram",
            "flotilla_log_append_batch_entries histogram",
            "flotilla_log_sync_seconds histogram",
            "flotilla_log_sync_batch_entries histogram",
            "flotilla_snapshot_seconds histogram",
            "flotilla_follower_match_index gauge",
            "flotilla_follower_lag_entries gauge",
            "flotilla_peer_messages_sent_total counter",
            "flotilla_peer_sent_bytes_total counter",
            "flotilla_peer_messages_received_total counter",
            "flotilla_peer_received_bytes_total counter",
            "flotilla_peer_messages_dropped_total counter",
            "flotilla_peer_connection_state gauge")) {
      assertThat(before.body()).contains("# TYPE " + name + "\n");
    }
    double proposals = metric(leader, "flotilla_proposals_total", "");

    HttpTestClient.Reply put = http.send("PUT", httpUrl.get(follower) + "/kv/m", "1");
    assertThat(put.status()).as(put.body()).isEqualTo(200);

    assertThat(metric(leader, "flotilla_proposals_total", "")).isEqualTo(proposals + 1);
    assertThat(metric(leader, "flotilla_is_leader", "")).isEqualTo(1);
    assertThat(metric(leader, "flotilla_role", ",role=\"LEADER\"")).isEqualTo(1);
    assertThat(metric(leader, "flotilla_term", "")).isGreaterThanOrEqualTo(1);
    assertThat(metric(leader, "flotilla_elections_won_total", "")).isGreaterThanOrEqualTo(1);
    // the leader's no-op and the PUT
    assertThat(metric(leader, "flotilla_commit_index", "")).isGreaterThanOrEqualTo(2);
    assertThat(metric(leader, "flotilla_log_append_seconds_count", "")).isPositive();
    assertThat(metric(leader, "flotilla_log_sync_seconds_count", "")).isPositive();
    assertThat(metric(leader, "flotilla_log_sync_batch_entries_sum", "")).isGreaterThanOrEqualTo(2);
    awaitMetric(leader, "flotilla_applied_index", "", 2);
    awaitMetric(leader, "flotilla_apply_seconds_count", "", 1);
    String peer = ",peer=\"" + follower + "\"";
    awaitMetric(leader, "flotilla_follower_match_index", peer, 2);
    assertThat(metric(leader, "flotilla_follower_lag_entries", peer)).isBetween(0.0, 1.0);
    assertThat(metric(leader, "flotilla_peer_connection_state", peer + ",state=\"CONNECTED\""))
        .isEqualTo(1);
    assertThat(metric(leader, "flotilla_peer_messages_sent_total", peer)).isPositive();
    assertThat(metric(leader, "flotilla_peer_sent_bytes_total", peer)).isPositive();
    assertThat(metric(leader, "flotilla_peer_messages_received_total", peer)).isPositive();

    awaitMetric(follower, "flotilla_commit_index", "", 2);
    assertThat(metric(follower, "flotilla_is_leader", "")).isEqualTo(0);
    assertThat(metric(follower, "flotilla_leader_changes_total", "")).isGreaterThanOrEqualTo(1);
    assertThat(metric(follower, "flotilla_follower_match_index", ",peer=\"" + leader + "\""))
        .isEqualTo(-1);
  }

  @Test
  void writesThroughFollowersAreForwardedAndReadEverywhere() throws Exception {
    startCluster();
    await("one leader known to all", () -> leader() != null);
    String leader = leader();
    String f1 = httpUrl.get(follower(leader, 0));
    String f2 = httpUrl.get(follower(leader, 1));

    HttpTestClient.Reply put = http.send("PUT", f1 + "/kv/color", "blue");
    assertThat(put.status()).as(put.body()).isEqualTo(200);
    assertThat(put.body()).contains("\"index\":");
    for (String url : httpUrl.values()) {
      assertThat(http.send("GET", url + "/kv/color", null).body()).isEqualTo("blue");
    }
    HttpTestClient.Reply cas =
        http.send("POST", f2 + "/kv/color?cas", "{\"expect\":\"blue\",\"value\":\"red\"}");
    assertThat(cas.status()).as(cas.body()).isEqualTo(200);
    HttpTestClient.Reply conflict =
        http.send("POST", f1 + "/kv/color?cas", "{\"expect\":\"blue\",\"value\":\"green\"}");
    assertThat(conflict.status()).isEqualTo(409);
    assertThat(conflict.body()).contains("\"current\":\"red\"");
    assertThat(http.send("GET", f1 + "/kv/color?consistency=lease", null).body()).isEqualTo("red");
    assertThat(http.send("DELETE", f2 + "/kv/color", null).status()).isEqualTo(200);
    assertThat(http.send("GET", f1 + "/kv/color", null).status()).isEqualTo(404);
    assertThat(http.send("DELETE", f1 + "/kv/color", null).status()).isEqualTo(404);

    // A session retry through another follower is applied once.
    String body = "{\"expect\":null,\"value\":\"v\"}";
    assertThat(
            http.send("POST", f1 + "/kv/s?cas", body, "Client-Id", "c", "Request-Seq", "1")
                .status())
        .isEqualTo(200);
    assertThat(
            http.send("POST", f2 + "/kv/s?cas", body, "Client-Id", "c", "Request-Seq", "1")
                .status())
        .isEqualTo(200);

    // Bad input.
    HttpTestClient.Reply big = http.send("PUT", f1 + "/kv/big", "x".repeat(2000));
    assertThat(big.status()).isEqualTo(413);
    HttpTestClient.Reply bad = http.send("POST", f1 + "/kv/color?cas", "{\"expect\":");
    assertThat(bad.status()).isEqualTo(400);
    assertThat(bad.body()).contains("malformed JSON");

    // The status is republished every 10 ticks: the first one after the writes shows the
    // followers replicating.
    String leaderUrl = httpUrl.get(leader);
    await(
        "the leader's status shows its followers replicating",
        () -> {
          try {
            return http.send("GET", leaderUrl + "/status", null)
                .body()
                .contains("\"replication\":\"REPLICATE\"");
          } catch (IOException e) {
            throw new UncheckedIOException(e);
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
          }
        });
    HttpTestClient.Reply status = http.send("GET", leaderUrl + "/status", null);
    assertThat(status.body()).contains("\"role\":\"LEADER\"", "\"matchIndex\":");
  }

  @Test
  void dataSurvivesARestartAndLeaderTransferWorksThroughAFollower() throws Exception {
    startCluster();
    await("one leader known to all", () -> leader() != null);
    String leader = leader();
    String other = follower(leader, 0);
    assertThat(http.send("PUT", httpUrl.get(other) + "/kv/durable", "yes").status()).isEqualTo(200);
    assertThat(http.send("POST", httpUrl.get(other) + "/snapshot", null).status()).isEqualTo(200);
    assertThat(http.send("PUT", httpUrl.get(other) + "/kv/after", "snap").status()).isEqualTo(200);

    servers.remove(other).close();
    startServer(other);
    http.reconnect(); // the old server's keep-alive connection must not carry the next request
    await(other + " caught up", () -> leader() != null);
    assertThat(
            http.send("GET", httpUrl.get(other) + "/kv/durable?consistency=linearizable", null)
                .body())
        .isEqualTo("yes");
    assertThat(http.send("GET", httpUrl.get(other) + "/kv/after", null).body()).isEqualTo("snap");

    HttpTestClient.Reply t =
        http.send("POST", httpUrl.get(other) + "/leader/transfer?to=" + other, null);
    assertThat(t.status()).as(t.body()).isEqualTo(200);
    await(other + " leads", () -> other.equals(leader()));
  }

  @Test
  void withoutAQuorumWritesAre503OrUnknownNeverOk() throws Exception {
    startCluster();
    await("one leader known to all", () -> leader() != null);
    String survivor = follower(leader(), 0);
    for (String id : List.copyOf(servers.keySet())) {
      if (!id.equals(survivor)) {
        servers.remove(id).close();
      }
    }
    String url = httpUrl.get(survivor);
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    HttpTestClient.Reply r;
    do {
      assertThat(System.nanoTime()).as("503 within 30 s").isLessThan(deadline);
      r = http.send("PUT", url + "/kv/k", "v");
      assertThat(r.status()).as(r.body()).isIn(503, 504);
    } while (r.status() != 503);
    assertThat(r.retryAfter()).isEqualTo("1");
    assertThat(r.body()).contains("\"outcome\":\"not-applied\"");
    await(
        "health 503 once the survivor knows no leader",
        () -> {
          try {
            return http.send("GET", url + "/health", null).status() == 503;
          } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return true;
          }
        });
  }

  @Test
  void idleConnectionsAreClosed() throws Exception {
    startCluster();
    String h = httpUrl.get("n1").substring("http://".length());
    try (Socket s =
        new Socket(
            InetAddress.getLoopbackAddress(), Integer.parseInt(h.substring(h.indexOf(':') + 1)))) {
      s.setSoTimeout(10_000);
      InputStream in = s.getInputStream();
      long start = System.nanoTime();
      assertThat(in.read()).as("server closes the idle connection").isEqualTo(-1);
      assertThat(System.nanoTime() - start).isGreaterThan(TimeUnit.MILLISECONDS.toNanos(400));
    }
  }
}
