package org.flotilla.raft.examples;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.core.type.TypeReference;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.flotilla.raft.cluster.Configuration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Sends bad requests to every endpoint of a real single-node server, over a raw socket (so that
 * malformed escapes and raw bytes reach it as sent), and checks each answer: the status, the JSON
 * error code, {@code Allow} on a 405, no {@code Retry-After} on a 4xx, no Java or Netty class name,
 * and that nothing was written: no command was proposed (except by a session refusal, which the log
 * decides), the key kept its value and the configuration is the same.
 */
@Timeout(120)
class KvBadRequestTest {

  @TempDir static Path dir;

  private static KvServer server;
  private static int port;

  /** One bad request and the answer it must get. Its arrays are never modified. */
  @SuppressWarnings("ArrayRecordComponent")
  private record Case(
      String endpoint,
      String method,
      String target,
      byte[] body,
      String[] headers,
      int status,
      String code,
      boolean appends) {

    @Override
    public String toString() {
      String t = target.length() > 60 ? target.substring(0, 60) + "..." : target;
      return method
          + " "
          + t
          + (headers.length > 0 ? " " + List.of(headers) : "")
          + " -> "
          + status
          + " "
          + code;
    }
  }

  private static final List<Case> CASES = new ArrayList<>();

  private static void bad(
      String endpoint,
      String method,
      String target,
      String body,
      int status,
      String code,
      String... headers) {
    CASES.add(
        new Case(
            endpoint,
            method,
            target,
            body == null ? null : body.getBytes(StandardCharsets.UTF_8),
            headers,
            status,
            code,
            false));
  }

  /** A refusal that goes through the log (a session refusal): the log grows, the state does not. */
  private static void refusedInLog(
      String endpoint,
      String method,
      String target,
      String body,
      int status,
      String code,
      String... headers) {
    CASES.add(
        new Case(
            endpoint,
            method,
            target,
            body == null ? null : body.getBytes(StandardCharsets.UTF_8),
            headers,
            status,
            code,
            true));
  }

  static {
    String kv = "/kv/{key}";
    String[] session = {"Client-Id", "c1", "Request-Seq", "1"};

    // GET /kv/{key}
    bad(kv, "GET", "/kv/%FF", null, 400, "invalid key");
    bad(kv, "GET", "/kv/%FE", null, 400, "invalid key");
    bad(kv, "GET", "/kv/%C3", null, 400, "invalid key"); // a truncated two-byte sequence
    bad(kv, "GET", "/kv/%ED%A0%80", null, 400, "invalid key"); // an encoded surrogate
    bad(kv, "GET", "/kv/%ZZ", null, 400, "invalid key");
    bad(kv, "GET", "/kv/ab%4", null, 400, "invalid key");
    bad(kv, "GET", "/kv/\u00ff", null, 400, "invalid key"); // a raw byte 0xFF in the target
    bad(kv, "GET", "/kv/", null, 400, "invalid key");
    bad(kv, "GET", "/kv/" + "k".repeat(1025), null, 400, "invalid key");
    bad(kv, "GET", "/kv/" + "%C3%A9".repeat(513), null, 400, "invalid key"); // 1026 bytes
    bad(kv, "GET", "/kv/seed?consistency=eventual", null, 400, "invalid parameter");
    bad(kv, "GET", "/kv/seed?consistency=", null, 400, "invalid parameter");
    bad(kv, "GET", "/kv/seed?consistency=%FF", null, 400, "invalid parameter");
    bad(
        kv,
        "GET",
        "/kv/seed?consistency=stale&consistency=lease",
        null,
        400,
        "conflicting parameters");
    bad(kv, "GET", "/kv/seed?cas", null, 400, "unknown parameter");
    bad(kv, "GET", "/kv/seed?Consistency=stale", null, 400, "unknown parameter");
    bad(kv, "GET", "/kv/seed", "x", 400, "unexpected body");
    bad(kv, "GET", "/kv/seed", null, 400, "invalid header", session);
    bad(kv, "GET", "/kv/absent", null, 404, "not found");

    // PUT /kv/{key}
    bad(kv, "PUT", "/kv/%FF", "v", 400, "invalid key");
    bad(kv, "PUT", "/kv/%FE", "v", 400, "invalid key");
    bad(kv, "PUT", "/kv/", "v", 400, "invalid key");
    bad(kv, "PUT", "/kv/" + "k".repeat(1025), "v", 400, "invalid key");
    bad(kv, "PUT", "/kv/seed?cas", "{\"expect\":null,\"value\":\"x\"}", 400, "unknown parameter");
    bad(kv, "PUT", "/kv/seed?ttl=5", "x", 400, "unknown parameter");
    bad(kv, "PUT", "/kv/seed", "x", 400, "invalid header", "Client-Id", "c1");
    bad(kv, "PUT", "/kv/seed", "x", 400, "invalid header", "Request-Seq", "1");
    bad(kv, "PUT", "/kv/seed", "x", 400, "invalid header", "Client-Id", "c1", "Request-Seq", "0");
    bad(kv, "PUT", "/kv/seed", "x", 400, "invalid header", "Client-Id", "c1", "Request-Seq", "-1");
    bad(kv, "PUT", "/kv/seed", "x", 400, "invalid header", "Client-Id", "c1", "Request-Seq", "one");
    bad(
        kv,
        "PUT",
        "/kv/seed",
        "x",
        400,
        "invalid header",
        "Client-Id",
        "c1",
        "Request-Seq",
        "99999999999999999999");
    bad(kv, "PUT", "/kv/seed", "x", 400, "invalid header", "Client-Id", "c 1", "Request-Seq", "1");
    bad(
        kv,
        "PUT",
        "/kv/seed",
        "x",
        400,
        "invalid header",
        "Client-Id",
        "c".repeat(257),
        "Request-Seq",
        "1");
    bad(kv, "PUT", "/kv/seed", "x".repeat(1025), 413, "body too large");
    refusedInLog(
        kv,
        "PUT",
        "/kv/seed",
        "changed",
        409,
        "stale request",
        "Client-Id",
        "writer",
        "Request-Seq",
        "1");
    refusedInLog(
        kv,
        "PUT",
        "/kv/seed",
        "changed",
        409,
        "no session",
        "Client-Id",
        "fresh",
        "Request-Seq",
        "7");

    // POST /kv/{key}?cas
    String cas = "{\"expect\":\"v0\",\"value\":\"changed\"}";
    bad(kv, "POST", "/kv/seed", cas, 400, "missing parameter");
    bad(kv, "POST", "/kv/seed?cas=yes", cas, 400, "invalid parameter");
    bad(kv, "POST", "/kv/seed?cas&cas", cas, 400, "conflicting parameters");
    bad(kv, "POST", "/kv/seed?cas&consistency=lease", cas, 400, "unknown parameter");
    bad(kv, "POST", "/kv/%FF?cas", cas, 400, "invalid key");
    bad(kv, "POST", "/kv/seed?cas", "", 400, "invalid body");
    bad(kv, "POST", "/kv/seed?cas", "{", 400, "invalid body");
    bad(kv, "POST", "/kv/seed?cas", "[\"v0\",\"changed\"]", 400, "invalid body");
    bad(kv, "POST", "/kv/seed?cas", "{\"expect\":\"v0\"}", 400, "invalid body");
    bad(kv, "POST", "/kv/seed?cas", "{\"expect\":\"v0\",\"value\":null}", 400, "invalid body");
    bad(kv, "POST", "/kv/seed?cas", "{\"expect\":\"v0\",\"value\":1}", 400, "invalid body");
    bad(kv, "POST", "/kv/seed?cas", "{\"expect\":\"v0\",\"value\":true}", 400, "invalid body");
    bad(kv, "POST", "/kv/seed?cas", "{\"expect\":\"v0\",\"value\":{\"a\":1}}", 400, "invalid body");
    bad(
        kv,
        "POST",
        "/kv/seed?cas",
        "{\"expect\":[\"v0\"],\"value\":\"changed\"}",
        400,
        "invalid body");
    bad(kv, "POST", "/kv/seed?cas", "{\"expect\":0,\"value\":\"changed\"}", 400, "invalid body");
    bad(
        kv,
        "POST",
        "/kv/seed?cas",
        "{\"expect\":\"v0\",\"value\":\"changed\",\"ttl\":5}",
        400,
        "invalid body");
    bad(
        kv,
        "POST",
        "/kv/seed?cas",
        "{\"expect\":\"v0\",\"expect\":\"v0\",\"value\":\"changed\"}",
        400,
        "invalid body");
    bad(kv, "POST", "/kv/seed?cas", cas + " trailing", 400, "invalid body");
    bad(kv, "POST", "/kv/seed?cas", cas, 400, "invalid header", "Request-Seq", "1");
    refusedInLog(
        kv,
        "POST",
        "/kv/seed?cas",
        cas,
        409,
        "stale request",
        "Client-Id",
        "writer",
        "Request-Seq",
        "1");

    // DELETE /kv/{key}
    bad(kv, "DELETE", "/kv/%FF", null, 400, "invalid key");
    bad(kv, "DELETE", "/kv/", null, 400, "invalid key");
    bad(kv, "DELETE", "/kv/seed?cas", null, 400, "unknown parameter");
    bad(kv, "DELETE", "/kv/seed", "x", 400, "unexpected body");
    bad(kv, "DELETE", "/kv/seed", null, 400, "invalid header", "Client-Id", "c1");
    refusedInLog(
        kv,
        "DELETE",
        "/kv/seed",
        null,
        409,
        "stale request",
        "Client-Id",
        "writer",
        "Request-Seq",
        "1");
    refusedInLog(kv, "DELETE", "/kv/absent", null, 404, "not found");
    bad(kv, "PATCH", "/kv/seed", "x", 405, "method not allowed");

    // The read-only endpoints.
    for (String p : List.of("/status", "/health", "/metrics", "/members")) {
      bad(p, "GET", p + "?verbose=1", null, 400, "unknown parameter");
      bad(p, "GET", p, "x", 400, "unexpected body");
      bad(p, "GET", p, null, 400, "invalid header", session);
    }
    bad("/status", "PUT", "/status", null, 405, "method not allowed");
    bad("/health", "POST", "/health", null, 405, "method not allowed");
    bad("/metrics", "DELETE", "/metrics", null, 405, "method not allowed");

    // POST /members
    String m = "/members";
    bad(m, "POST", m, "", 400, "invalid body");
    bad(m, "POST", m, "{}", 400, "invalid body");
    bad(m, "POST", m, "{\"id\":\"n9\"}", 400, "invalid body");
    bad(m, "POST", m, member("n9", "127.0.0.1:1", "127.0.0.1:2", "\"boss\""), 400, "invalid body");
    bad(m, "POST", m, member("bad id", "127.0.0.1:1", "127.0.0.1:2", null), 400, "invalid body");
    bad(m, "POST", m, member("n9", "nohost", "127.0.0.1:2", null), 400, "invalid body");
    bad(m, "POST", m, member("n9", "127.0.0.1:70000", "127.0.0.1:2", null), 400, "invalid body");
    bad(m, "POST", m, member("n9", "127.0.0.1:1", "127.0.0.1:2", "1"), 400, "invalid body");
    bad(
        m,
        "POST",
        m,
        "{\"id\":\"n9\",\"raftAddress\":\"127.0.0.1:1\",\"httpAddress\":\"127.0.0.1:2\",\"x\":1}",
        400,
        "invalid body");
    bad(
        m,
        "POST",
        m,
        "{\"id\":9,\"raftAddress\":\"127.0.0.1:1\",\"httpAddress\":\"127.0.0.1:2\"}",
        400,
        "invalid body");
    bad(
        m,
        "POST",
        m + "?role=learner",
        member("n9", "127.0.0.1:1", "127.0.0.1:2", null),
        400,
        "unknown parameter");
    bad(m, "POST", m, member("n1", "127.0.0.1:1", "127.0.0.1:2", null), 409, "already a member");
    bad(
        m,
        "POST",
        m,
        member("l1", "127.0.0.1:1", "127.0.0.1:2", "\"learner\""),
        409,
        "already a member");
    bad(m, "PUT", m, member("n9", "127.0.0.1:1", "127.0.0.1:2", null), 405, "method not allowed");

    // DELETE /members/{id}
    String id = "/members/{id}";
    bad(id, "DELETE", "/members/bad%20id", null, 400, "invalid parameter");
    bad(id, "DELETE", "/members/%FF", null, 400, "invalid parameter");
    bad(id, "DELETE", "/members/", null, 400, "invalid parameter");
    bad(id, "DELETE", "/members/ghost", null, 404, "unknown member");
    bad(id, "DELETE", "/members/n1", null, 409, "last voter");
    bad(id, "DELETE", "/members/l1?force", null, 400, "unknown parameter");
    bad(id, "DELETE", "/members/l1", "x", 400, "unexpected body");
    bad(id, "GET", "/members/n1", null, 405, "method not allowed");

    // POST /leader/transfer
    String t = "/leader/transfer";
    bad(t, "POST", t, null, 400, "missing parameter");
    bad(t, "POST", t + "?to=", null, 400, "invalid parameter");
    bad(t, "POST", t + "?to=bad%20id", null, 400, "invalid parameter");
    bad(t, "POST", t + "?to=%FF", null, 400, "invalid parameter");
    bad(t, "POST", t + "?to=n1&to=l1", null, 400, "conflicting parameters");
    bad(t, "POST", t + "?to=n1&now=1", null, 400, "unknown parameter");
    bad(t, "POST", t + "?to=ghost", null, 404, "unknown member");
    bad(t, "POST", t + "?to=l1", null, 409, "not a voter");
    bad(t, "POST", t + "?to=n1", "x", 400, "unexpected body");
    bad(t, "GET", t + "?to=n1", null, 405, "method not allowed");

    // POST /snapshot
    bad("/snapshot", "POST", "/snapshot?index=3", null, 400, "unknown parameter");
    bad("/snapshot", "POST", "/snapshot", "x", 400, "unexpected body");
    bad("/snapshot", "GET", "/snapshot", null, 405, "method not allowed");

    // GET /ui
    bad("/ui", "GET", "/ui?refresh=1", null, 400, "unknown parameter");
    bad("/ui", "GET", "/ui", "x", 400, "unexpected body");
    bad("/ui", "POST", "/ui", null, 405, "method not allowed");
  }

  private static String member(String id, String raft, String http, String role) {
    return "{\"id\":\""
        + id
        + "\",\"raftAddress\":\""
        + raft
        + "\",\"httpAddress\":\""
        + http
        + "\""
        + (role == null ? "" : ",\"role\":" + role)
        + "}";
  }

  @BeforeAll
  static void startServerWithALearnerAndASession() throws Exception {
    List<Integer> ports = HttpTestClient.freePorts(4);
    port = ports.get(1);
    String members = "n1=127.0.0.1:" + ports.get(0) + "@127.0.0.1:" + port;
    server =
        KvServer.start(
            ServerConfig.parse(
                new String[] {
                  "--id", "n1",
                  "--data-dir", dir.resolve("n1").toString(),
                  "--members", members,
                  "--election-timeout-ms", "300",
                  "--heartbeat-ms", "30",
                  "--max-body-bytes", "1024",
                  "--request-timeout-ms", "5000"
                }));
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (send("GET", "/health", null).status() != 200) {
      assertThat(System.nanoTime()).as("n1 leads within 30 s").isLessThan(deadline);
      Thread.sleep(20);
    }
    // A learner (that never runs: only the voters make a quorum), for "not a voter".
    String learner =
        member("l1", "127.0.0.1:" + ports.get(2), "127.0.0.1:" + ports.get(3), "\"learner\"");
    assertThat(send("POST", "/members", learner).status()).isEqualTo(200);
    // The session "writer" has applied 1 and 2, so 1 is stale.
    for (String seq : List.of("1", "2")) {
      RawHttp.Reply r = send("PUT", "/kv/seed", "v0", "Client-Id", "writer", "Request-Seq", seq);
      assertThat(r.status()).as(r.body()).isEqualTo(200);
    }
  }

  @AfterAll
  static void stop() {
    if (server != null) {
      server.close();
    }
  }

  private static RawHttp.Reply send(String method, String target, String body, String... headers)
      throws IOException {
    return RawHttp.send(
        port, method, target, body == null ? null : body.getBytes(StandardCharsets.UTF_8), headers);
  }

  private static final Pattern CLASS_NAME =
      Pattern.compile("\\b(java|javax|io\\.netty|com\\.fasterxml|org\\.flotilla)\\.[a-z]");

  private static final Pattern PROPOSALS =
      Pattern.compile("(?m)^flotilla_proposals_total\\{[^}]*\\} (\\S+)$");

  /**
   * The commands the node has accepted into its log, from /metrics: counted when they are proposed,
   * so a refusal's answer comes after any proposal it made. (NodeStatus.lastIndex is published
   * every few ticks, so it may lag behind.)
   */
  private static double proposals() throws IOException {
    Matcher m = PROPOSALS.matcher(send("GET", "/metrics", null).body());
    assertThat(m.find()).as("flotilla_proposals_total in /metrics").isTrue();
    return Double.parseDouble(m.group(1));
  }

  @TestFactory
  Stream<DynamicTest> everyBadRequestIsRefusedWithItsCodeAndWritesNothing() {
    return CASES.stream().map(c -> DynamicTest.dynamicTest(c.toString(), () -> check(c)));
  }

  private static void check(Case c) throws Exception {
    double proposals = proposals();
    Configuration config = server.node().status().configuration();
    String seed = send("GET", "/kv/seed", null).body();

    RawHttp.Reply r = RawHttp.send(port, c.method(), c.target(), c.body(), c.headers());

    assertThat(r.status()).as(r.body()).isEqualTo(c.status());
    assertThat(r.header("Content-Type")).isEqualTo("application/json");
    Map<String, Object> body =
        KvApi.JSON.readValue(r.body(), new TypeReference<Map<String, Object>>() {});
    assertThat(body).containsEntry("error", c.code());
    assertThat(body.get("message")).as("a message").isInstanceOf(String.class);
    assertThat((String) body.get("message")).isNotBlank();
    if (!c.code().equals("not found")) {
      assertThat(body).containsEntry("outcome", "not-applied");
    }
    assertThat(r.body()).as("no class names").doesNotContainPattern(CLASS_NAME);
    assertThat(r.body()).doesNotContain("Exception");
    assertThat(r.header("Retry-After")).as("a 4xx is not retried").isNull();
    if (c.status() == 405) {
      assertThat(r.header("Allow")).as("405 lists the methods").isNotBlank();
      assertThat(r.header("Allow").split(", ", -1))
          .doesNotContain(c.method())
          .allSatisfy(a -> assertThat(KvApi.ENDPOINTS).anyMatch(e -> e.method().equals(a)));
    }

    if (!c.appends()) {
      assertThat(proposals()).as("nothing proposed").isEqualTo(proposals);
    }
    assertThat(server.node().status().configuration()).isEqualTo(config);
    assertThat(send("GET", "/kv/seed", null).body()).as("the key is unchanged").isEqualTo(seed);
  }

  /** The cases above reach every endpoint the API has. */
  @Test
  void theCasesCoverEveryEndpoint() {
    Set<String> covered = new LinkedHashSet<>();
    for (Case c : CASES) {
      covered.add(c.method() + " " + c.endpoint());
    }
    for (KvApi.Endpoint e : KvApi.ENDPOINTS) {
      assertThat(covered).contains(e.method() + " " + e.path());
    }
  }

  /** Invalid UTF-8 no longer collapses into U+FFFD: %EF%BF%BD is a key of its own. */
  @Test
  void theReplacementCharacterIsAKeyOfItsOwnAndInvalidBytesAreNotIt() throws Exception {
    assertThat(send("PUT", "/kv/%EF%BF%BD", "replacement").status()).isEqualTo(200);
    assertThat(send("PUT", "/kv/%FF", "ff").status()).isEqualTo(400);
    assertThat(send("PUT", "/kv/%FE", "fe").status()).isEqualTo(400);
    assertThat(send("GET", "/kv/%EF%BF%BD", null).body()).isEqualTo("replacement");
    assertThat(send("GET", "/kv/\u00ef\u00bf\u00bd", null).body())
        .as("raw UTF-8 bytes in the target are the same key")
        .isEqualTo("replacement");
    assertThat(send("DELETE", "/kv/%EF%BF%BD", null).status()).isEqualTo(200);
  }

  /** A broken request line, a target that is not a path, an unknown path. */
  @Test
  void malformedRequestsAndUnknownPathsAreRefused() throws Exception {
    RawHttp.Reply garbage =
        RawHttp.exchange(port, "GARBAGE\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1));
    assertThat(garbage.status()).isEqualTo(400);
    assertThat(garbage.body()).contains("\"error\":\"malformed request\"");
    RawHttp.Reply notPath = send("GET", "kv/seed", null);
    assertThat(notPath.status()).isEqualTo(400);
    assertThat(notPath.body()).contains("\"error\":\"malformed request\"");
    for (String p : List.of("/nothing", "/kv", "/status/", "/leader", "/KV/seed")) {
      RawHttp.Reply r = send("GET", p, null);
      assertThat(r.status()).as(p).isEqualTo(404);
      assertThat(r.body()).as(p).contains("\"error\":\"no such resource\"");
      assertThat(r.header("Retry-After")).isNull();
    }
  }
}
