package org.flotilla.raft.examples;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 14, item 4, as it was found: three key-value servers (real Netty transport, file stores)
 * with {@code --max-body-bytes 30000000}. A 20 MB PUT is under the HTTP limit but larger than any
 * Raft message (16 MiB frames): it used to get 504 and wedge replication, the leader dropping and
 * re-sending the same AppendEntries for ever, so that every later write got 504 too. Now it is
 * refused with 413 on whichever node receives it, nothing is proposed, and later writes succeed.
 */
@Timeout(120)
class KvLargeCommandTest {

  @TempDir Path dir;

  private final HttpTestClient http = new HttpTestClient(Duration.ofSeconds(30));
  private final Map<String, KvServer> servers = new LinkedHashMap<>();
  private final Map<String, String> httpUrl = new LinkedHashMap<>();

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
    String members = String.join(",", parts);
    for (String id : httpUrl.keySet()) {
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
                    "--max-body-bytes", "30000000",
                    "--request-timeout-ms", "3000"
                  })));
    }
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

  @Test
  void aPutTooLargeForOneRaftMessageGets413AndLaterWritesSucceed() throws Exception {
    startCluster();
    await("one leader known to all", () -> leader() != null);
    String leader = leader();
    String follower = httpUrl.keySet().stream().filter(id -> !id.equals(leader)).findFirst().get();
    assertThat(http.send("PUT", httpUrl.get(leader) + "/kv/before", "1").status()).isEqualTo(200);

    String twentyMegabytes = "x".repeat(20_000_000);
    for (String id : List.of(leader, follower)) {
      HttpTestClient.Reply big = http.send("PUT", httpUrl.get(id) + "/kv/big", twentyMegabytes);
      assertThat(big.status()).as("a 20 MB PUT to %s", id).isEqualTo(413);
      assertThat(big.body())
          .as("the body of the 413 from %s", id)
          .startsWith("{\"error\":\"command too large\",\"message\":\"")
          .contains("larger than the largest entry", "\"outcome\":\"not-applied\"");
    }
    HttpTestClient.Reply withSession =
        http.send(
            "PUT",
            httpUrl.get(follower) + "/kv/big",
            twentyMegabytes,
            "Client-Id",
            "c1",
            "Request-Seq",
            "1");
    assertThat(withSession.status()).isEqualTo(413);

    // Nothing was proposed and replication is not wedged: writes through every node succeed.
    for (String id : httpUrl.keySet()) {
      HttpTestClient.Reply put = http.send("PUT", httpUrl.get(id) + "/kv/after-" + id, id);
      assertThat(put.status())
          .as("a PUT to %s after the refusals: %s", id, put.body())
          .isEqualTo(200);
      assertThat(http.send("GET", httpUrl.get(leader) + "/kv/after-" + id, null).body())
          .isEqualTo(id);
    }
    assertThat(http.send("GET", httpUrl.get(leader) + "/kv/big", null).status()).isEqualTo(404);
    for (KvServer s : servers.values()) {
      assertThat(s.node().isRunning()).isTrue();
    }
  }
}
