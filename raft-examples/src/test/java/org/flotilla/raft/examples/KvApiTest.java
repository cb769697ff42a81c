package org.flotilla.raft.examples;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.type.TypeReference;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BooleanSupplier;
import org.flotilla.raft.NodeStatus;
import org.flotilla.raft.RaftNode;
import org.flotilla.raft.RaftOptions;
import org.flotilla.raft.cluster.Member;
import org.flotilla.raft.cluster.Role;
import org.flotilla.raft.memory.MemoryLogStore;
import org.flotilla.raft.memory.MemoryMetaStore;
import org.flotilla.raft.memory.MemoryNetwork;
import org.flotilla.raft.memory.MemorySnapshotStore;
import org.flotilla.raft.message.AppendEntries;
import org.flotilla.raft.message.ReadIndexRequest;
import org.flotilla.raft.sim.VirtualScheduler;
import org.flotilla.raft.testkit.LossyTransport;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Tests the HTTP API's logic against a real single-node group (and one that has no leader). */
@Timeout(60)
class KvApiTest {

  private final MemoryNetwork network = MemoryNetwork.create();
  private RaftNode node;
  private KvApi api;

  private static RaftOptions fast() {
    return RaftOptions.builder()
        .tickInterval(Duration.ofMillis(5))
        .electionTimeout(Duration.ofMillis(100))
        .heartbeatInterval(Duration.ofMillis(20))
        .leaseDriftMargin(Duration.ofMillis(20))
        .build();
  }

  private void start(List<Member> members) {
    KvStateMachine machine = new KvStateMachine(Map.of("n1", "127.0.0.1:1"));
    node =
        RaftNode.builder()
            .id("n1")
            .members(members)
            .stateMachine(machine)
            .transport(network.transport())
            .logStore(new MemoryLogStore())
            .metaStore(new MemoryMetaStore())
            .snapshotStore(new MemorySnapshotStore())
            .options(fast())
            .build();
    node.start();
    KvApi.Forwarder refuse =
        (address, r) -> {
          throw new AssertionError("a single node never forwards, but forwarded to " + address);
        };
    api = new KvApi(node, machine, refuse, Duration.ofSeconds(5));
  }

  private void startLeader() throws InterruptedException {
    start(List.of(Member.of("n1")));
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (node.status().role() != Role.LEADER) {
      assertThat(System.nanoTime()).as("n1 becomes leader within 10 s").isLessThan(deadline);
      Thread.sleep(10);
    }
  }

  @AfterEach
  void close() {
    if (node != null) {
      node.close();
    }
    network.close();
  }

  private KvApi.Response call(String method, String uri, String body) {
    return call(method, uri, body, null, null);
  }

  private KvApi.Response call(String method, String uri, String body, String client, String seq) {
    CompletableFuture<KvApi.Response> f =
        api.handle(
            new KvApi.Request(
                method, uri, client, seq, false, false, body.getBytes(StandardCharsets.UTF_8)));
    return f.orTimeout(10, TimeUnit.SECONDS).join();
  }

  @Test
  void putGetDeleteRoundTrip() throws InterruptedException {
    startLeader();
    assertThat(call("GET", "/kv/k", "").status()).isEqualTo(404);
    KvApi.Response put = call("PUT", "/kv/k", "hello");
    assertThat(put.status()).isEqualTo(200);
    assertThat(put.bodyText()).matches("\\{\"index\":\\d+\\}\\n");
    for (String c :
        new String[] {
          "", "?consistency=linearizable", "?consistency=lease", "?consistency=stale"
        }) {
      KvApi.Response get = call("GET", "/kv/k" + c, "");
      assertThat(get.status()).as(c).isEqualTo(200);
      assertThat(get.bodyText()).isEqualTo("hello");
      assertThat(get.headers()).containsKey("X-Raft-Index");
    }
    assertThat(call("DELETE", "/kv/k", "").status()).isEqualTo(200);
    assertThat(call("DELETE", "/kv/k", "").status()).isEqualTo(404);
    assertThat(call("GET", "/kv/k", "").status()).isEqualTo(404);
    assertThat(call("GET", "/kv/sp%20ace", "").status()).isEqualTo(404);
  }

  @Test
  void casSwapsOrAnswers409WithTheCurrentValue() throws InterruptedException {
    startLeader();
    assertThat(call("POST", "/kv/c?cas", "{\"expect\":null,\"value\":\"1\"}").status())
        .isEqualTo(200);
    KvApi.Response conflict = call("POST", "/kv/c?cas", "{\"expect\":null,\"value\":\"2\"}");
    assertThat(conflict.status()).isEqualTo(409);
    assertThat(conflict.bodyText()).contains("\"current\":\"1\"");
    KvApi.Response swapped = call("POST", "/kv/c?cas", "{\"expect\":\"1\",\"value\":\"2\"}");
    assertThat(swapped.status()).isEqualTo(200);
    assertThat(swapped.bodyText()).contains("\"swapped\":true");
    assertThat(call("GET", "/kv/c", "").bodyText()).isEqualTo("2");
  }

  @Test
  void sessionHeadersMakeARetryApplyOnce() throws InterruptedException {
    startLeader();
    String body = "{\"expect\":null,\"value\":\"once\"}";
    KvApi.Response first = call("POST", "/kv/s?cas", body, "client-7", "1");
    KvApi.Response retry = call("POST", "/kv/s?cas", body, "client-7", "1");
    assertThat(first.status()).isEqualTo(200);
    // Without the session the retry would find the key set and answer 409.
    assertThat(retry.status()).isEqualTo(200);
    // The retry gets the first result (swapped) though its own log entry has a later index.
    assertThat(retry.bodyText()).contains("\"swapped\":true");
    assertThat(call("POST", "/kv/s?cas", body, "client-7", "2").status()).isEqualTo(409);
  }

  @Test
  void badRequestsGet400Or404Or405WithAMessage() throws InterruptedException {
    startLeader();
    assertBad(call("POST", "/kv/c?cas", "{\"expect\":null"), 400, "invalid body", "malformed JSON");
    assertBad(
        call("POST", "/kv/c?cas", "{\"value\":\"v\"}"),
        400,
        "invalid body",
        "a compare-and-set body is");
    assertBad(
        call("POST", "/kv/c?cas", "{\"expect\":\"a\",\"value\":null}"),
        400,
        "invalid body",
        "DELETE it");
    assertBad(call("POST", "/kv/c", "x"), 400, "missing parameter", "needs ?cas");
    assertBad(
        call("GET", "/kv/c?consistency=eventual", ""),
        400,
        "invalid parameter",
        "consistency must be");
    assertBad(call("GET", "/kv/", ""), 400, "invalid key", "the key is empty");
    assertBad(
        call("GET", "/kv/" + "k".repeat(1025), ""),
        400,
        "invalid key",
        "longer than the limit of 1024");
    assertBad(
        call("PUT", "/kv/c", "v", null, "1"),
        400,
        "invalid header",
        "Request-Seq needs a Client-Id");
    assertBad(
        call("PUT", "/kv/c", "v", "c", "one"),
        400,
        "invalid header",
        "Request-Seq must be a number");
    assertBad(call("PATCH", "/kv/c", "v"), 405, "method not allowed", "PATCH is not allowed");
    assertBad(call("GET", "/nothing", ""), 404, "no such resource", "no endpoint has the path");
    assertBad(call("POST", "/members", "{\"id\":\"n2\"}"), 400, "invalid body", "the body is {");
    assertBad(
        call(
            "POST",
            "/members",
            "{\"id\":\"n2\",\"raftAddress\":\"h:1\",\"httpAddress\":\"h:2\",\"role\":\"boss\"}"),
        400,
        "invalid body",
        "must be voter or learner");
    assertBad(
        call("DELETE", "/members/bad%20id", ""), 400, "invalid parameter", "member id must be");
    assertBad(call("POST", "/leader/transfer", ""), 400, "missing parameter", "needs ?to=ID");
    assertBad(
        call("GET", "/kv/c?consistency=a&consistency=b", ""),
        400,
        "conflicting parameters",
        "is given 2 times");
  }

  private static void assertBad(KvApi.Response r, int status, String code, String message) {
    assertThat(r.status()).as(r.bodyText()).isEqualTo(status);
    assertThat(r.contentType()).isEqualTo("application/json");
    assertThat(r.bodyText())
        .contains("\"error\":\"" + code + "\"")
        .contains(message)
        .contains("\"outcome\":\"not-applied\"");
    assertThat(r.headers()).doesNotContainKey("Retry-After");
  }

  @Test
  void statusHealthMembersAndSnapshotDescribeTheNode() throws InterruptedException {
    startLeader();
    call("PUT", "/kv/a", "1");
    KvApi.Response status = call("GET", "/status", "");
    assertThat(status.status()).isEqualTo(200);
    assertThat(status.bodyText())
        .contains("\"id\":\"n1\"", "\"role\":\"LEADER\"", "\"leader\":\"n1\"", "\"appliedIndex\":")
        .contains("\"httpAddress\":\"127.0.0.1:1\"", "\"role\":\"voter\"");
    assertThat(call("GET", "/health", "").status()).isEqualTo(200);
    assertThat(call("GET", "/members", "").bodyText()).contains("\"id\":\"n1\"");
    KvApi.Response snap = call("POST", "/snapshot", "");
    assertThat(snap.status()).as(snap.bodyText()).isEqualTo(200);
    assertThat(snap.bodyText()).matches("\\{\"index\":[1-9]\\d*\\}\\n");
  }

  @Test
  void withoutALeaderWritesAndReadsAre503WithRetryAfterAndNothingProposed() {
    // n1's only peer does not exist, so no election can succeed.
    start(List.of(Member.of("n1"), Member.of("ghost")));
    for (KvApi.Response r :
        new KvApi.Response[] {
          call("PUT", "/kv/k", "v"),
          call("GET", "/kv/k", ""),
          call("POST", "/kv/k?cas", "{\"expect\":null,\"value\":\"v\"}"),
          call("GET", "/health", "")
        }) {
      assertThat(r.status()).as(r.bodyText()).isEqualTo(503);
      assertThat(r.headers()).containsEntry("Retry-After", "1");
      assertThat(r.bodyText()).contains("\"outcome\":\"not-applied\"");
    }
    assertThat(call("GET", "/kv/k?consistency=stale", "").status()).isEqualTo(404);
  }

  /**
   * A node whose state machine threw says so: /status shows FAILED with the index and the cause,
   * /health is 503, and every request is answered 503 at once (nothing proposed) with the cause in
   * {@code {"error": ..., "message": ...}}, not 504 after the request time-out.
   */
  @Test
  void aFailedNodeAnswers503AtOnceWithTheCauseAndShowsFailedInStatus() throws InterruptedException {
    startLeader();
    call("PUT", "/kv/a", "1");
    // An opcode the example's state machine does not know: its apply throws.
    CompletableFuture<?> unused = node.submit(ByteBuffer.wrap(new byte[] {0x7f}));
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (node.status().role() != Role.FAILED) {
      assertThat(System.nanoTime()).as("n1 reports FAILED within 10 s").isLessThan(deadline);
      Thread.sleep(10);
    }
    long index = node.status().failure().orElseThrow().index();

    KvApi.Response status = call("GET", "/status", "");
    assertThat(status.status()).isEqualTo(200);
    assertThat(status.bodyText())
        .contains("\"role\":\"FAILED\"", "\"leader\":null", "\"index\":" + index)
        .contains("\"failure\":{\"error\":\"the state machine threw applying entry " + index)
        .contains("unknown command opcode");
    KvApi.Response health = call("GET", "/health", "");
    assertThat(health.status()).isEqualTo(503);
    assertThat(health.bodyText())
        .contains("\"error\":\"node failed\"", "\"message\":", "entry " + index);

    long start = System.nanoTime();
    for (KvApi.Response r :
        new KvApi.Response[] {
          call("PUT", "/kv/b", "2"),
          call("PUT", "/kv/b", "2", "client-1", "1"),
          call("GET", "/kv/a", ""),
          call("GET", "/kv/a?consistency=stale", ""),
          call("POST", "/kv/a?cas", "{\"expect\":\"1\",\"value\":\"2\"}"),
          call("DELETE", "/kv/a", ""),
          call("POST", "/snapshot", ""),
          call("POST", "/leader/transfer?to=n1", "")
        }) {
      assertThat(r.status()).as(r.bodyText()).isEqualTo(503);
      assertThat(r.bodyText())
          .contains("\"error\":\"node failed\"", "\"outcome\":\"not-applied\"")
          .contains("\"message\":", "unknown command opcode", "entry " + index);
    }
    assertThat(Duration.ofNanos(System.nanoTime() - start))
        .as("answered at once, not after the 5 s request time-out")
        .isLessThan(Duration.ofSeconds(2));
  }

  /**
   * Reads that get no read index, or whose index is not applied in time, are answered 503 or 504
   * with a code, never 500, and logged once per code rather than once per request. Three nodes run
   * in virtual time on the test's thread; a {@link LossyTransport} drops what each case needs lost;
   * the API runs on a follower.
   */
  @Nested
  class ReadFailures {
    private final VirtualScheduler time = new VirtualScheduler();
    private final MemoryNetwork virtualNetwork =
        MemoryNetwork.create(
            time.executor(),
            MemoryNetwork.DEFAULT_LINK_CAPACITY,
            MemoryNetwork.DEFAULT_MAX_MESSAGE_BYTES);
    private final Map<String, LossyTransport> transports = new HashMap<>();
    private final Map<String, RaftNode> nodes = new LinkedHashMap<>();
    private final List<String> logged = new ArrayList<>();
    private final List<Throwable> traces = new ArrayList<>();
    private final AtomicLong logClock = new AtomicLong();
    private RaftNode leader;
    private RaftNode follower;
    private KvApi followerApi;

    @BeforeEach
    void startThreeNodes() {
      List<Member> members = List.of(Member.of("n1"), Member.of("n2"), Member.of("n3"));
      for (Member m : members) {
        LossyTransport t = new LossyTransport(virtualNetwork.transport());
        transports.put(m.id(), t);
        RaftNode n =
            RaftNode.builder()
                .id(m.id())
                .members(members)
                .stateMachine(new KvStateMachine(Map.of()))
                .transport(t)
                .logStore(new MemoryLogStore())
                .metaStore(new MemoryMetaStore())
                .snapshotStore(new MemorySnapshotStore())
                .options(fast())
                .scheduler(time)
                .callbackExecutor(time.executor())
                .build();
        n.start();
        nodes.put(m.id(), n);
      }
      runUntil(
          "a leader that every member knows, with its first entry applied",
          () -> {
            leader = null;
            for (RaftNode n : nodes.values()) {
              NodeStatus st = n.status();
              if (st != null && st.role() == Role.LEADER && st.appliedIndex() >= st.lastIndex()) {
                leader = n;
              }
            }
            return leader != null
                && nodes.values().stream()
                    .allMatch(n -> n.leader().map(Member::id).equals(Optional.of(leader.id())));
          });
      follower = nodes.values().stream().filter(n -> n != leader).findFirst().orElseThrow();
      KvApi.Forwarder refuse =
          (address, r) -> {
            throw new AssertionError(
                "a read on a follower is not forwarded, but went to " + address);
          };
      RateLimitedLog log =
          new RateLimitedLog(
              (line, trace) -> {
                logged.add(line);
                traces.add(trace);
              },
              logClock::get,
              Duration.ofSeconds(5));
      followerApi =
          new KvApi(
              follower, new KvStateMachine(Map.of()), refuse, Duration.ofSeconds(5), null, log);
      CompletableFuture<KvApi.Response> put = handle(leaderApi(), "PUT", "/kv/x", "1");
      runUntil("the first put", put::isDone);
      assertThat(put.join().status()).as(put.join().bodyText()).isEqualTo(200);
    }

    @AfterEach
    void closeNodes() {
      nodes.values().forEach(RaftNode::close);
      virtualNetwork.close();
    }

    private KvApi leaderApi() {
      return new KvApi(
          leader,
          new KvStateMachine(Map.of()),
          (a, r) -> {
            throw new AssertionError("the leader does not forward");
          },
          Duration.ofSeconds(5));
    }

    private CompletableFuture<KvApi.Response> handle(
        KvApi on, String method, String uri, String body) {
      return on.handle(
          new KvApi.Request(
              method, uri, null, null, false, false, body.getBytes(StandardCharsets.UTF_8)));
    }

    /** Moves virtual time in 10 ms steps until the condition holds, at most 30 s of it. */
    private void runUntil(String what, BooleanSupplier condition) {
      long deadline = time.nanoTime() + TimeUnit.SECONDS.toNanos(30);
      while (!condition.getAsBoolean()) {
        assertThat(time.nanoTime()).as("within 30 s of virtual time: " + what).isLessThan(deadline);
        time.runUntil(time.nanoTime() + TimeUnit.MILLISECONDS.toNanos(10));
      }
    }

    /** Sends three reads at once and returns their responses, after checking they are alike. */
    private KvApi.Response threeReads() {
      List<CompletableFuture<KvApi.Response>> reads = new ArrayList<>();
      for (int i = 0; i < 3; i++) {
        reads.add(handle(followerApi, "GET", "/kv/x", ""));
      }
      runUntil("the reads are answered", () -> reads.stream().allMatch(CompletableFuture::isDone));
      KvApi.Response first = reads.get(0).join();
      for (CompletableFuture<KvApi.Response> r : reads) {
        assertThat(r.join().status()).isEqualTo(first.status());
      }
      return first;
    }

    @Test
    void aReadWithNoReadIndexIs503ReadNotConfirmedWithRetryAfter() {
      transports.get(follower.id()).lose(m -> m instanceof ReadIndexRequest);
      KvApi.Response r = threeReads();

      assertThat(r.status()).as(r.bodyText()).isEqualTo(503);
      assertThat(r.headers()).containsEntry("Retry-After", "1");
      assertThat(r.contentType()).isEqualTo("application/json");
      Map<String, Object> body = parse(r.bodyText());
      assertThat(body)
          .containsEntry("error", "read not confirmed")
          .containsEntry("outcome", "not-applied");
      assertThat((String) body.get("message"))
          .contains("no read index within two election timeouts");
      assertOneLineWithoutTrace("503 read not confirmed");

      // The next line for the cause, once the interval passed, counts those held back.
      logClock.addAndGet(TimeUnit.SECONDS.toNanos(5));
      assertThat(threeReads().status()).isEqualTo(503);
      assertThat(logged).hasSize(2);
      assertThat(logged.get(1)).contains("(and 2 more like it since the last line)");

      transports.get(follower.id()).lose(m -> false);
      KvApi.Response retry = threeReads();
      assertThat(retry.status()).as(retry.bodyText()).isEqualTo(200);
      assertThat(retry.bodyText()).isEqualTo("1");
    }

    @Test
    void aReadWhoseIndexIsNotAppliedInTimeIs504ReadTimeout() {
      String f = follower.id();
      // The follower still gets heartbeats and read-index answers, but no entries.
      transports.get(leader.id()).lose(m -> m instanceof AppendEntries && m.to().equals(f));
      CompletableFuture<KvApi.Response> put = handle(leaderApi(), "PUT", "/kv/x", "2");
      runUntil("the second put", put::isDone);
      assertThat(put.join().status()).isEqualTo(200);

      KvApi.Response r = threeReads();
      assertThat(r.status()).as(r.bodyText()).isEqualTo(504);
      assertThat(r.headers()).doesNotContainKey("Retry-After");
      Map<String, Object> body = parse(r.bodyText());
      assertThat(body).containsEntry("error", "read timeout").containsEntry("outcome", "unknown");
      assertThat((String) body.get("message")).contains("not applied in time");
      assertOneLineWithoutTrace("504 read timeout");

      transports.get(leader.id()).lose(m -> false);
      KvApi.Response retry = threeReads();
      assertThat(retry.status()).as(retry.bodyText()).isEqualTo(200);
      assertThat(retry.bodyText()).isEqualTo("2");
    }

    private Map<String, Object> parse(String json) {
      try {
        return KvApi.JSON.readValue(json, new TypeReference<Map<String, Object>>() {});
      } catch (JsonProcessingException e) {
        throw new AssertionError("not JSON: " + json, e);
      }
    }

    private void assertOneLineWithoutTrace(String prefix) {
      assertThat(logged).as("one line for three failed reads").hasSize(1);
      assertThat(logged.get(0)).startsWith(prefix);
      assertThat(traces).as("no stack trace").containsOnlyNulls();
    }
  }
}
