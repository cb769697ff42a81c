package org.flotilla.raft.examples;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.flotilla.raft.spi.StorageException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A sharded cluster in one JVM: five servers on loopback, eight groups of three replicas placed
 * round-robin, real Netty host transport and shared file log. Keys are served through any server;
 * leadership spreads to the plan; a replica moves (also off its leader); a server's restart brings
 * back exactly the replicas it held; a stopped server's groups are led elsewhere; bad requests are
 * refused with their codes.
 */
@Timeout(180)
class ShardedKvServerTest {

  private static final int SHARDS = 8;
  private static final int SERVERS = 5;

  @TempDir Path dir;

  private final HttpTestClient http = new HttpTestClient(Duration.ofSeconds(15));
  private final Map<String, ShardedKvServer> servers = new LinkedHashMap<>();
  private final Map<String, String> url = new LinkedHashMap<>();
  private String members;

  @AfterEach
  void stop() {
    servers.values().forEach(ShardedKvServer::close);
  }

  private void startCluster() throws IOException {
    List<Integer> ports = HttpTestClient.freePorts(2 * SERVERS);
    List<String> parts = new ArrayList<>();
    for (int i = 1; i <= SERVERS; i++) {
      String id = "n" + i;
      String h = "127.0.0.1:" + ports.get(SERVERS + i - 1);
      parts.add(id + "=127.0.0.1:" + ports.get(i - 1) + "@" + h);
      url.put(id, "http://" + h);
    }
    members = String.join(",", parts);
    for (String id : url.keySet()) {
      start(id, SHARDS);
    }
  }

  private void start(String id, int shards) throws IOException {
    servers.put(id, ShardedKvServer.start(ServerConfig.parse(args(id, shards))));
  }

  private String[] args(String id, int shards) {
    return new String[] {
      "--id", id,
      "--data-dir", dir.resolve(id).toString(),
      "--members", members,
      "--shards", Integer.toString(shards),
      "--replicas", "3",
      "--election-timeout-ms", "400",
      "--heartbeat-ms", "40",
      "--rebalance-interval-ms", "500",
      "--request-timeout-ms", "5000"
    };
  }

  private interface Check {
    boolean holds() throws Exception;
  }

  private static void await(String what, Check condition) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (!condition.holds()) {
      assertThat(System.nanoTime()).as("waiting for " + what).isLessThan(deadline);
      Thread.sleep(50);
    }
  }

  private JsonNode json(String method, String u) throws Exception {
    HttpTestClient.Reply r = http.send(method, u, null);
    assertThat(r.status()).as("%s %s: %s", method, u, r.body()).isEqualTo(200);
    return KvApi.JSON.readTree(r.body());
  }

  /**
   * Each group's leader: of the servers that say they lead it, the one in the highest term (an old
   * leader may not have heard of the new one yet). Two in one term would break election safety.
   */
  private Map<Integer, String> leaders() throws Exception {
    Map<Integer, String> out = new HashMap<>();
    Map<Integer, Long> terms = new HashMap<>();
    for (String id : servers.keySet()) {
      for (JsonNode g : json("GET", url.get(id) + "/status").get("groups")) {
        if ("LEADER".equals(g.get("role").textValue())) {
          int group = g.get("group").intValue();
          long term = g.get("term").longValue();
          long seen = terms.getOrDefault(group, -1L);
          assertThat(term).as("two leaders of group %d in term %d", group, term).isNotEqualTo(seen);
          if (term > seen) {
            terms.put(group, term);
            out.put(group, id);
          }
        }
      }
    }
    return out;
  }

  /**
   * Moves a replica, retrying a 503 or 504 as the API says (the same request goes on where the last
   * one stopped: a leader change under way may interrupt a step).
   */
  private JsonNode move(String u) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (true) {
      HttpTestClient.Reply r = http.send("POST", u, null);
      if (r.status() == 200) {
        return KvApi.JSON.readTree(r.body());
      }
      assertThat(r.status()).as("POST %s: %s", u, r.body()).isIn(503, 504);
      assertThat(System.nanoTime()).as("POST %s: %s", u, r.body()).isLessThan(deadline);
      Thread.sleep(100);
    }
  }

  /** PUTs through a server, retrying a 503 (nothing done; Retry-After) as a client does. */
  private void put(String server, String key, String value) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (true) {
      HttpTestClient.Reply r = http.send("PUT", url.get(server) + "/kv/" + key, value);
      if (r.status() == 200) {
        return;
      }
      assertThat(r.status()).as("PUT %s through %s: %s", key, server, r.body()).isEqualTo(503);
      assertThat(System.nanoTime())
          .as("PUT %s through %s: %s", key, server, r.body())
          .isLessThan(deadline);
      Thread.sleep(100);
    }
  }

  @Test
  void keysAreServedThroughAnyServerAndLeadershipFollowsThePlan() throws Exception {
    startCluster();
    // Each server holds the groups of its placement: 8 groups x 3 replicas over 5 servers.
    int held = 0;
    for (ShardedKvServer s : servers.values()) {
      held +=
          json("GET", "http://127.0.0.1:" + s.httpAddress().getPort() + "/status")
              .get("groups")
              .size();
    }
    assertThat(held).isEqualTo(SHARDS * 3);
    // Leadership goes to each group's first server: groups g and g+5 to server g mod 5.
    await(
        "every group led by its planned leader",
        () -> {
          Map<Integer, String> l = leaders();
          for (int g = 0; g < SHARDS; g++) {
            if (!("n" + (g % SERVERS + 1)).equals(l.get(g))) {
              return false;
            }
          }
          return true;
        });
    List<String> ids = new ArrayList<>(url.keySet());
    for (int k = 0; k < 40; k++) {
      put(ids.get(k % SERVERS), "key" + k, "v" + k);
    }
    for (String id : ids) {
      for (int k = 0; k < 40; k += 7) {
        HttpTestClient.Reply r = http.send("GET", url.get(id) + "/kv/key" + k, null);
        assertThat(r.status()).as("GET key%d through %s: %s", k, id, r.body()).isEqualTo(200);
        assertThat(r.body()).isEqualTo("v" + k);
      }
    }
    // Every group got some of the keys: the hash spreads them.
    assertThat(
            java.util.stream.IntStream.range(0, 40)
                .map(k -> ShardedApi.shardOf("key" + k, SHARDS))
                .distinct()
                .count())
        .isEqualTo(SHARDS);
    // A group's own endpoints, through a server that does not hold it (n4 holds 2, 3, 4, 7).
    JsonNode st = json("GET", url.get("n4") + "/shards/0/status");
    assertThat(st.get("role").textValue()).isIn("LEADER", "FOLLOWER");
    JsonNode dirView = json("GET", url.get("n2") + "/shards");
    assertThat(dirView.get("groups")).hasSize(SHARDS);
    assertThat(dirView.get("liveServers")).hasSize(SERVERS);
  }

  /** The first key m0, m1, ... of the group. */
  private static String keyOf(int group) {
    for (int k = 0; ; k++) {
      if (ShardedApi.shardOf("m" + k, SHARDS) == group) {
        return "m" + k;
      }
    }
  }

  @Test
  void aReplicaMovesOffItsLeaderAndARestartKeepsWhatTheServerHolds() throws Exception {
    startCluster();
    await("every group has a leader", () -> leaders().size() == SHARDS);
    // Group 0 is on n1, n2, n3; move its replica from n1 (its planned leader) to n5.
    String key = keyOf(0);
    put("n4", key, "before");
    await("n1 leads group 0", () -> "n1".equals(leaders().get(0)));
    JsonNode moved = move(url.get("n3") + "/shards/0/move?from=n1&to=n5");
    assertThat(moved.get("fromReplicaDeleted").booleanValue()).isTrue();
    List<String> voters = new ArrayList<>();
    moved.get("voters").forEach(v -> voters.add(v.textValue()));
    assertThat(voters).containsExactlyInAnyOrder("n2", "n3", "n5");
    assertThat(servers.get("n1").shard(0)).isNull();
    assertThat(servers.get("n5").shard(0)).isNotNull();
    // The same move again is done already.
    assertThat(move(url.get("n2") + "/shards/0/move?from=n1&to=n5").get("voters")).hasSize(3);
    // The value is there, and writes go on through the new placement.
    assertThat(http.send("GET", url.get("n1") + "/kv/" + key, null).body()).isEqualTo("before");
    put("n1", key, "after");
    // n5's replica has every entry: read it there without going to the leader.
    await(
        "n5's replica applied the write",
        () ->
            "after"
                .equals(
                    http.send("GET", url.get("n5") + "/kv/" + key + "?consistency=stale", null)
                        .body()));

    // n1 and n5 restart: n1 without group 0, n5 with it.
    for (String id : List.of("n1", "n5")) {
      servers.remove(id).close();
      start(id, SHARDS);
    }
    assertThat(servers.get("n1").shard(0)).isNull();
    assertThat(servers.get("n5").shard(0)).isNotNull();
    String catalog = Files.readString(dir.resolve("n5").resolve(ShardCatalog.FILE));
    assertThat(catalog).contains("\"0\" : \"JOINED\"");
    await(
        "group 0 serves the value through n5 after the restarts",
        () -> "after".equals(http.send("GET", url.get("n5") + "/kv/" + key, null).body()));

    // Another shape of cluster in the same data directory is refused, naming the flags.
    servers.remove("n2").close();
    assertThatThrownBy(() -> start("n2", SHARDS * 2))
        .isInstanceOf(StorageException.class)
        .hasMessageContaining("--shards " + SHARDS);
  }

  @Test
  void aStoppedServersGroupsAreLedElsewhereAndRebalanceSpreadsThem() throws Exception {
    startCluster();
    await("every group has a leader", () -> leaders().size() == SHARDS);
    await(
        "n1 leads groups 0 and 5",
        () -> "n1".equals(leaders().get(0)) && "n1".equals(leaders().get(5)));
    servers.remove("n1").close();
    url.remove("n1");
    await("every group has a leader without n1", () -> leaders().size() == SHARDS);
    for (int k = 0; k < 24; k++) {
      put("n2", "s" + k, "x");
    }
    JsonNode r = json("POST", url.get("n3") + "/rebalance");
    // 8 groups over 4 live servers: 2 each.
    r.get("planned").forEach(n -> assertThat(n.intValue()).isEqualTo(2));
    await(
        "leaders spread two per live server",
        () -> {
          Map<String, Integer> count = new HashMap<>();
          leaders().values().forEach(id -> count.merge(id, 1, Integer::sum));
          return count.size() == 4 && count.values().stream().allMatch(c -> c == 2);
        });
  }

  @Test
  void badRequestsAreRefusedWithTheirCodes() throws Exception {
    startCluster();
    String n2 = url.get("n2");
    HttpTestClient.Reply r = http.send("GET", n2 + "/shards/99/status", null);
    assertThat(r.status()).isEqualTo(404);
    assertThat(r.body()).contains("no such group");
    r = http.send("GET", n2 + "/shards/x/status", null);
    assertThat(r.status()).isEqualTo(404);
    r = http.send("POST", n2 + "/shards/1/move?from=n2&to=n9", null);
    assertThat(r.status()).isEqualTo(404);
    assertThat(r.body()).contains("unknown member");
    r = http.send("POST", n2 + "/shards/1/move?from=n2&to=n2", null);
    assertThat(r.status()).isEqualTo(400);
    r = http.send("POST", n2 + "/shards/1/move?from=n2", null);
    assertThat(r.status()).isEqualTo(400);
    r = http.send("GET", n2 + "/shards/1/move", null);
    assertThat(r.status()).isEqualTo(405);
    r = http.send("GET", n2 + "/shards/1/kv/a", null);
    assertThat(r.status()).isEqualTo(404);
    r = http.send("GET", n2 + "/nowhere", null);
    assertThat(r.status()).isEqualTo(404);
    // A passed-on request for a group the server does not hold is not passed on again.
    r = http.send("GET", n2 + "/shards/0/status", null, KvApi.ROUTED, "1");
    // n2 holds group 0 (n1, n2, n3): it answers; n4 does not, and says so.
    assertThat(r.status()).isEqualTo(200);
    r = http.send("GET", url.get("n4") + "/shards/0/status", null, KvApi.ROUTED, "1");
    assertThat(r.status()).isEqualTo(503);
    assertThat(r.body()).contains("not hosted");
    // Deleting the replica a server leads is refused.
    await("n1 leads group 0", () -> "n1".equals(leaders().get(0)));
    r = http.send("DELETE", url.get("n1") + "/shards/0/replica", null);
    assertThat(r.status()).isEqualTo(409);
    assertThat(r.body()).contains("is leader");
  }
}
