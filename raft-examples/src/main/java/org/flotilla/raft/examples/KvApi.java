package org.flotilla.raft.examples;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.netty.handler.codec.http.QueryStringDecoder;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Function;
import java.util.function.Supplier;
import org.flotilla.raft.CommandRejectedException;
import org.flotilla.raft.CommandTooLargeException;
import org.flotilla.raft.NodeStatus;
import org.flotilla.raft.NodeStoppedException;
import org.flotilla.raft.NotLeaderException;
import org.flotilla.raft.OverloadedException;
import org.flotilla.raft.RaftException;
import org.flotilla.raft.RaftNode;
import org.flotilla.raft.ReadConsistency;
import org.flotilla.raft.ReadNotConfirmedException;
import org.flotilla.raft.ReadTimeoutException;
import org.flotilla.raft.Result;
import org.flotilla.raft.cluster.Configuration;
import org.flotilla.raft.cluster.Member;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The key-value HTTP API, independent of Netty's channel machinery: a {@link Request} goes in, a
 * future {@link Response} comes out. Writes go to the local {@link RaftNode}; when it is not the
 * leader, the request is forwarded once to the leader's HTTP address.
 *
 * <p>Status codes tell definite from unknown outcomes: 503 (with {@code Retry-After}) means nothing
 * was proposed, 504 means the request timed out after it was proposed and may still take effect. A
 * node stopped by a fatal error answers every request at once: 503 with {@code {"error":"node
 * failed","message":...}} naming the failure, or 504 with the same body for a write that was
 * pending when it failed (it may still be committed through the other members); its {@code /status}
 * says FAILED and {@code /health} is 503.
 *
 * <p>A failed operation is answered with {@code {"error": CODE, "message": ..., "outcome":
 * "not-applied"|"unknown"}}: 503 for a refusal ({@code not leader}, {@code no leader}, {@code
 * overloaded}, {@code rejected}, {@code read not confirmed}), 504 for a time-out or an unknown
 * outcome ({@code read timeout}, {@code timeout}, {@code outcome unknown}; a read that timed out
 * changed nothing and may be retried), and 500 only for an exception of a type not expected here, a
 * bug ({@code internal error}). A write whose command is larger than the node's largest log entry
 * ({@code RaftOptions.maxEntryBytes()}, below {@code --max-body-bytes} if that is large) gets 413
 * ({@code command too large}, not applied; retrying cannot help). Failures are logged at most one
 * line per code every five seconds, with a stack trace only for a bug.
 *
 * <p>Thread-safe: {@link #handle} may be called from any thread; responses complete on the node's
 * callback executor or the forwarder's event loop.
 */
final class KvApi {

  private static final Logger LOG = LoggerFactory.getLogger(KvApi.class);

  /**
   * Reads and writes the API's JSON. Strict: a duplicate field or text after the value is an error.
   * Thread-safe once built.
   */
  static final JsonMapper JSON =
      JsonMapper.builder()
          .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
          .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
          .build();

  /** The content type of the Prometheus text exposition format that {@code /metrics} serves. */
  static final String PROMETHEUS_TEXT = "text/plain; version=0.0.4; charset=utf-8";

  /** The header a forwarding node adds, so that a forwarded request is never forwarded again. */
  static final String FORWARDED = "X-Flotilla-Forwarded";

  /**
   * One HTTP request, already read in full.
   *
   * @param method the method, upper case
   * @param uri the request target (path and query)
   * @param clientId the {@code Client-Id} header, or null
   * @param requestSeq the {@code Request-Seq} header, or null
   * @param forwarded whether another node forwarded it
   * @param body the body bytes
   */
  @SuppressWarnings("ArrayRecordComponent") // the body is never modified after construction
  record Request(
      String method,
      String uri,
      String clientId,
      String requestSeq,
      boolean forwarded,
      byte[] body) {}

  /**
   * One HTTP response.
   *
   * @param status the status code
   * @param contentType the content type
   * @param body the body bytes
   * @param headers extra headers
   */
  @SuppressWarnings("ArrayRecordComponent") // the body is never modified after construction
  record Response(int status, String contentType, byte[] body, Map<String, String> headers) {

    /** A JSON response whose body is the given text (one JSON value) and a newline. */
    static Response json(int status, String json) {
      return new Response(
          status, "application/json", (json + "\n").getBytes(StandardCharsets.UTF_8), Map.of());
    }

    /** A JSON response: the object, compact, and a newline. */
    static Response json(int status, JsonNode json) {
      try {
        return json(status, JSON.writeValueAsString(json));
      } catch (JsonProcessingException e) {
        // A tree of strings, numbers and booleans always serializes.
        throw new IllegalStateException("cannot write JSON", e);
      }
    }

    static Response error(int status, String message, String outcome) {
      return retryAfter(json(status, object().put("error", message).put("outcome", outcome)));
    }

    /** An error with a short {@code error} and a longer {@code message}, such as the cause. */
    static Response error(int status, String error, String message, String outcome) {
      return retryAfter(
          json(
              status,
              object().put("error", error).put("message", message).put("outcome", outcome)));
    }

    private static Response retryAfter(Response r) {
      if (r.status == 503) {
        return new Response(r.status, r.contentType, r.body, Map.of("Retry-After", "1"));
      }
      return r;
    }

    String bodyText() {
      return new String(body, StandardCharsets.UTF_8);
    }
  }

  /** Sends a request to another node's HTTP API. */
  interface Forwarder {
    /**
     * Forwards a request.
     *
     * @param httpAddress the target "host:port"
     * @param request the request
     * @return the target's response, or 503 if it could not be reached (nothing sent) or 504 if the
     *     connection failed after the request was sent
     */
    CompletableFuture<Response> forward(String httpAddress, Request request);
  }

  private final RaftNode node;
  private final KvStateMachine machine;
  private final Forwarder forwarder;
  private final Duration timeout;
  private final PrometheusMeterRegistry metrics;
  private final RateLimitedLog failures;

  KvApi(RaftNode node, KvStateMachine machine, Forwarder forwarder, Duration timeout) {
    this(node, machine, forwarder, timeout, null);
  }

  /**
   * Creates the API.
   *
   * @param metrics the node's metrics, served at {@code GET /metrics}; null to answer 404 there
   */
  KvApi(
      RaftNode node,
      KvStateMachine machine,
      Forwarder forwarder,
      Duration timeout,
      PrometheusMeterRegistry metrics) {
    this(node, machine, forwarder, timeout, metrics, RateLimitedLog.warnings(LOG));
  }

  /**
   * Creates the API.
   *
   * @param metrics the node's metrics, served at {@code GET /metrics}; null to answer 404 there
   * @param failures where failed operations are logged
   */
  KvApi(
      RaftNode node,
      KvStateMachine machine,
      Forwarder forwarder,
      Duration timeout,
      PrometheusMeterRegistry metrics,
      RateLimitedLog failures) {
    this.node = node;
    this.machine = machine;
    this.forwarder = forwarder;
    this.timeout = timeout;
    this.metrics = metrics;
    this.failures = failures;
  }

  /**
   * Handles a request.
   *
   * @param r the request
   * @return the response; never fails exceptionally
   */
  CompletableFuture<Response> handle(Request r) {
    try {
      return route(r).exceptionally(e -> failure(unwrap(e)));
    } catch (IllegalArgumentException e) {
      return CompletableFuture.completedFuture(Response.error(400, e.getMessage(), "not-applied"));
    }
  }

  private CompletableFuture<Response> route(Request r) {
    QueryStringDecoder qs = new QueryStringDecoder(r.uri());
    String path = qs.path();
    Map<String, List<String>> params = qs.parameters();
    String m = r.method();
    if (path.startsWith("/kv/")) {
      String key = path.substring(4);
      if (key.isEmpty()) {
        throw new IllegalArgumentException("empty key: use /kv/{key}");
      }
      if (key.getBytes(StandardCharsets.UTF_8).length > KvStateMachine.MAX_KEY_BYTES) {
        throw new IllegalArgumentException(
            "key longer than " + KvStateMachine.MAX_KEY_BYTES + " bytes");
      }
      return switch (m) {
        case "PUT" -> write(r, KvStateMachine.encodePut(key, r.body()), KvApi::indexReply);
        case "GET" -> get(r, key, param(params, "consistency"));
        case "DELETE" ->
            write(
                r,
                KvStateMachine.encodeDelete(key),
                res ->
                    KvStateMachine.decodeFlag(res.value())
                        ? indexReply(res)
                        : Response.json(
                            404, "{\"error\":\"not found\",\"index\":" + res.index() + "}"));
        case "POST" -> {
          if (!params.containsKey("cas")) {
            throw new IllegalArgumentException("POST /kv/{key} needs ?cas");
          }
          yield cas(r, key);
        }
        default -> methodNotAllowed(m, path);
      };
    }
    return switch (path) {
      case "/status" -> get(m, path, this::status);
      case "/health" -> get(m, path, this::health);
      case "/metrics" -> get(m, path, this::metrics);
      case "/members" ->
          switch (m) {
            case "GET" -> done(members());
            case "POST" -> addMember(r);
            default -> methodNotAllowed(m, path);
          };
      case "/leader/transfer" -> {
        if (!m.equals("POST")) {
          yield methodNotAllowed(m, path);
        }
        String to = param(params, "to");
        if (to == null) {
          throw new IllegalArgumentException("POST /leader/transfer needs ?to=ID");
        }
        yield leaderOnly(
            r,
            () -> node.transferLeadership(to),
            v -> Response.json(200, object().put("leader", to)));
      }
      case "/snapshot" ->
          m.equals("POST")
              ? local(node.takeSnapshot(), i -> Response.json(200, "{\"index\":" + i + "}"))
              : methodNotAllowed(m, path);
      default -> {
        if (!path.startsWith("/members/")) {
          yield done(Response.error(404, "no such resource: " + path, "not-applied"));
        }
        if (!m.equals("DELETE")) {
          yield methodNotAllowed(m, path);
        }
        String id = path.substring("/members/".length());
        Member.of(id); // checks the id
        yield leaderOnly(r, () -> node.removeMember(id), KvApi::indexReply);
      }
    };
  }

  /** The node's metrics in the Prometheus text format; always this node's, never forwarded. */
  private Response metrics() {
    if (metrics == null) {
      return Response.error(404, "metrics are not enabled", "not-applied");
    }
    return new Response(
        200, PROMETHEUS_TEXT, metrics.scrape().getBytes(StandardCharsets.UTF_8), Map.of());
  }

  private CompletableFuture<Response> get(String method, String path, Supplier<Response> supplier) {
    if (!method.equals("GET")) {
      return methodNotAllowed(method, path);
    }
    return done(supplier.get());
  }

  private static CompletableFuture<Response> methodNotAllowed(String method, String path) {
    return done(Response.error(405, method + " is not allowed on " + path, "not-applied"));
  }

  private static CompletableFuture<Response> done(Response r) {
    return CompletableFuture.completedFuture(r);
  }

  private static String param(Map<String, List<String>> params, String name) {
    List<String> v = params.get(name);
    if (v == null || v.isEmpty()) {
      return null;
    }
    if (v.size() > 1) {
      throw new IllegalArgumentException("query parameter " + name + " given twice");
    }
    return v.get(0);
  }

  private static Response indexReply(Result res) {
    return Response.json(200, "{\"index\":" + res.index() + "}");
  }

  // ------------------------------------------------------------------ key-value

  private CompletableFuture<Response> get(Request r, String key, String consistencyParam) {
    ReadConsistency c;
    if (consistencyParam == null) {
      c = ReadConsistency.LINEARIZABLE;
    } else {
      try {
        c = ReadConsistency.valueOf(consistencyParam.toUpperCase(Locale.ROOT));
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException(
            "consistency must be linearizable, lease or stale, got '" + consistencyParam + "'", e);
      }
    }
    ByteBuffer query = KvStateMachine.encodeGet(key);
    return leaderOnly(
        r,
        () -> node.read(query, c),
        res -> {
          if (!KvStateMachine.decodeFound(res.value())) {
            return Response.json(404, "{\"error\":\"not found\",\"index\":" + res.index() + "}");
          }
          return new Response(
              200,
              "application/octet-stream",
              KvStateMachine.decodeValue(res.value()),
              Map.of("X-Raft-Index", Long.toString(res.index())));
        });
  }

  private CompletableFuture<Response> cas(Request r, String key) {
    ObjectNode json = parseObject(r.body());
    if (!json.has("expect") || !json.has("value")) {
      throw new IllegalArgumentException("cas body must be {\"expect\": V or null, \"value\": V}");
    }
    if (json.get("value").isNull()) {
      throw new IllegalArgumentException("cas \"value\" must not be null (use DELETE)");
    }
    if (json.size() != 2) {
      throw new IllegalArgumentException("cas body has fields other than expect and value");
    }
    String expect = string(json, "expect", true);
    String value = string(json, "value", false);
    ByteBuffer cmd =
        KvStateMachine.encodeCas(
            key,
            expect == null ? null : expect.getBytes(StandardCharsets.UTF_8),
            value.getBytes(StandardCharsets.UTF_8));
    return write(
        r,
        cmd,
        res -> {
          if (KvStateMachine.decodeFlag(res.value())) {
            return Response.json(200, object().put("swapped", true).put("index", res.index()));
          }
          byte[] current = KvStateMachine.decodeValue(res.value());
          return Response.json(
              409,
              object()
                  .put("swapped", false)
                  .put(
                      "current",
                      current == null ? null : new String(current, StandardCharsets.UTF_8))
                  .put("index", res.index()));
        });
  }

  private CompletableFuture<Response> write(
      Request r, ByteBuffer command, Function<Result, Response> ok) {
    if (r.clientId() == null) {
      if (r.requestSeq() != null) {
        throw new IllegalArgumentException("Request-Seq needs a Client-Id header");
      }
      return leaderOnly(r, () -> node.submit(command), ok);
    }
    if (r.requestSeq() == null) {
      throw new IllegalArgumentException("Client-Id needs a Request-Seq header");
    }
    long seq;
    try {
      seq = Long.parseLong(r.requestSeq().trim());
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("Request-Seq must be a number: " + r.requestSeq(), e);
    }
    if (seq < 1) {
      throw new IllegalArgumentException("Request-Seq must be positive: " + seq);
    }
    int idBytes = r.clientId().getBytes(StandardCharsets.UTF_8).length;
    if (idBytes < 1 || idBytes > 256) {
      throw new IllegalArgumentException("Client-Id must be 1 to 256 bytes of UTF-8");
    }
    return leaderOnly(r, () -> node.submit(r.clientId(), seq, command), ok);
  }

  /**
   * Runs an operation that needs the leader: locally, or, if this node is not the leader, at the
   * leader over HTTP (once).
   */
  @SuppressWarnings("FutureReturnValueIgnored") // the nested future is composed, not ignored
  private <T> CompletableFuture<Response> leaderOnly(
      Request r, Supplier<CompletableFuture<T>> op, Function<T, Response> ok) {
    CompletableFuture<T> f;
    try {
      f = op.get();
    } catch (NotLeaderException e) {
      return forwardOrRefuse(r, e);
    }
    return f.orTimeout(timeout.toMillis(), TimeUnit.MILLISECONDS)
        .handle(
            (v, err) -> {
              if (err == null) {
                return done(ok.apply(v));
              }
              Throwable cause = unwrap(err);
              if (cause instanceof NotLeaderException nle) {
                return forwardOrRefuse(r, nle);
              }
              return done(failure(cause));
            })
        .thenCompose(x -> x);
  }

  private <T> CompletableFuture<Response> local(CompletableFuture<T> f, Function<T, Response> ok) {
    return f.orTimeout(timeout.toMillis(), TimeUnit.MILLISECONDS)
        .handle((v, err) -> err == null ? ok.apply(v) : failure(unwrap(err)));
  }

  private CompletableFuture<Response> forwardOrRefuse(Request r, NotLeaderException e) {
    if (r.forwarded()) {
      return done(refused("not leader", e.getMessage() + " (request was already forwarded)"));
    }
    Member leader = e.leader().orElse(null);
    if (leader == null || leader.id().equals(node.id())) {
      return done(refused("no leader", "no leader is known; retry later"));
    }
    String http = machine.httpAddresses().get(leader.id());
    if (http == null) {
      return done(
          refused("not leader", "the leader " + leader.id() + " has no known HTTP address"));
    }
    return forwarder.forward(http, r);
  }

  private static Throwable unwrap(Throwable t) {
    while ((t instanceof CompletionException || t instanceof ExecutionException)
        && t.getCause() != null) {
      t = t.getCause();
    }
    return t;
  }

  /**
   * Answers a failed operation: 503 for a refusal (nothing was done), 504 for a time-out or an
   * unknown outcome, 400 for a bad argument, 500 for an exception of a type not expected here (a
   * bug). Logs at most one line per code every few seconds, with a stack trace only for a bug.
   */
  private Response failure(Throwable cause) {
    if (cause instanceof CommandTooLargeException) {
      // Nothing was proposed, and a retry of the same request is refused again.
      return Response.error(413, "command too large", cause.getMessage(), "not-applied");
    }
    if (cause instanceof OverloadedException) {
      return refused("overloaded", "overloaded: " + cause.getMessage());
    }
    if (cause instanceof CommandRejectedException) {
      return refused("rejected", "rejected: " + cause.getMessage());
    }
    if (cause instanceof NotLeaderException) {
      return refused("not leader", cause.getMessage());
    }
    if (cause instanceof ReadNotConfirmedException) {
      return refused("read not confirmed", cause.getMessage());
    }
    if (cause instanceof ReadTimeoutException) {
      return unknown(
          "read timeout", cause.getMessage() + "; the read changed nothing and may be retried");
    }
    if (cause instanceof TimeoutException) {
      return unknown("timeout", "timed out; the operation may still take effect");
    }
    if (cause instanceof NodeStoppedException stopped) {
      return stopped(stopped);
    }
    if (cause instanceof RaftException) {
      // OutcomeUnknownException, or a RaftException of a kind not known here: outcome unknown.
      return unknown("outcome unknown", cause.getMessage());
    }
    if (cause instanceof IllegalArgumentException) {
      return Response.error(400, cause.getMessage(), "not-applied");
    }
    failures.log(
        "internal error " + cause.getClass().getName(), "500 internal error: " + cause, cause);
    return Response.error(500, "internal error", String.valueOf(cause), "unknown");
  }

  /** A 503: refused, nothing was proposed. */
  private Response refused(String code, String message) {
    failures.log(code, "503 " + code + ": " + message, null);
    return Response.error(503, code, message, "not-applied");
  }

  /** A 504: timed out, or the outcome is unknown. */
  private Response unknown(String code, String message) {
    failures.log(code, "504 " + code + ": " + message, null);
    return Response.error(504, code, message, "unknown");
  }

  /**
   * A node that is stopped (closed, or failed) answers at once: 503 for an operation it refused
   * without proposing anything, 504 for one that was pending when it stopped.
   */
  private Response stopped(NodeStoppedException e) {
    String code = e.getCause() == null ? "node stopped" : "node failed";
    String message =
        e.getCause() == null ? e.getMessage() : e.getMessage() + " (cause: " + e.getCause() + ")";
    if (!e.outcomeUnknown()) {
      return refused(code, message);
    }
    return unknown(code, message + "; the operation may still take effect");
  }

  // ------------------------------------------------------------------ cluster

  private Response status() {
    NodeStatus s = node.status();
    ObjectNode b = object();
    b.put("id", s.id());
    b.put("role", s.role().name());
    b.put("term", s.term());
    b.put("leader", s.leader().orElse(null));
    b.put("commitIndex", s.commitIndex());
    b.put("appliedIndex", s.appliedIndex());
    b.put("lastIndex", s.lastIndex());
    b.put("snapshotIndex", s.snapshotIndex());
    b.put("joint", s.configuration().isJoint());
    b.set("members", members(s));
    NodeStatus.Failure f = s.failure().orElse(null);
    if (f != null) {
      b.putObject("failure")
          .put("error", f.reason())
          .put("message", String.valueOf(f.cause()))
          .put("index", f.index());
    }
    return Response.json(200, b);
  }

  private ArrayNode members(NodeStatus s) {
    Configuration c = s.configuration();
    Map<String, String> http = machine.httpAddresses();
    ArrayNode out = JSON.createArrayNode();
    for (Member m : c.all()) {
      ObjectNode o = out.addObject();
      o.put("id", m.id());
      o.put("role", c.isVoter(m.id()) ? "voter" : "learner");
      o.put("raftAddress", m.address());
      o.put("httpAddress", http.get(m.id()));
      for (NodeStatus.PeerStatus p : s.peers()) {
        if (p.id().equals(m.id())) {
          o.put("matchIndex", p.matchIndex());
          o.put("nextIndex", p.nextIndex());
          o.put("replication", p.state());
          o.put("recentlyActive", p.recentlyActive());
        }
      }
    }
    return out;
  }

  private Response health() {
    NodeStatus s = node.status();
    if (s.failure().isPresent()) {
      NodeStatus.Failure f = s.failure().get();
      return Response.error(
          503, "node failed", f.reason() + " (cause: " + f.cause() + ")", "not-applied");
    }
    if (!node.isRunning()) {
      return Response.error(503, "not running", "not-applied");
    }
    if (s.leader().isEmpty()) {
      return Response.error(503, "no leader known", "not-applied");
    }
    return Response.json(
        200,
        object().put("status", "ok").put("role", s.role().name()).put("leader", s.leader().get()));
  }

  private Response members() {
    ObjectNode b = object();
    b.set("members", members(node.status()));
    return Response.json(200, b);
  }

  private CompletableFuture<Response> addMember(Request r) {
    ObjectNode json = parseObject(r.body());
    String id = string(json, "id", true);
    String raft = string(json, "raftAddress", true);
    String http = string(json, "httpAddress", true);
    String role = json.has("role") ? string(json, "role", false) : "voter";
    if (id == null || raft == null || http == null) {
      throw new IllegalArgumentException(
          "body must be {\"id\":..., \"raftAddress\":\"HOST:PORT\", \"httpAddress\":\"HOST:PORT\","
              + " \"role\":\"voter\"|\"learner\"}");
    }
    if (!role.equals("voter") && !role.equals("learner")) {
      throw new IllegalArgumentException("role must be voter or learner, got '" + role + "'");
    }
    Member member = Member.of(id, ServerConfig.hostPort("raftAddress", raft));
    String httpAddress = ServerConfig.hostPort("httpAddress", http);
    return leaderOnly(
        r,
        () ->
            node.submit(KvStateMachine.encodeSetHttp(id, httpAddress))
                .thenCompose(
                    x -> role.equals("voter") ? node.addMember(member) : node.addLearner(member)),
        res -> Response.json(200, object().put("id", id).put("index", res.index())));
  }

  // ------------------------------------------------------------------ JSON

  /** Returns a new, empty JSON object whose fields keep the order they are put in. */
  static ObjectNode object() {
    return JSON.createObjectNode();
  }

  /**
   * Parses a request body that must be one JSON object.
   *
   * @throws IllegalArgumentException saying where and why it is malformed
   */
  static ObjectNode parseObject(byte[] body) {
    JsonNode n;
    try {
      n = JSON.readTree(body);
    } catch (JsonProcessingException e) {
      JsonLocation at = e.getLocation();
      String where =
          at == null ? "" : " at line " + at.getLineNr() + ", column " + at.getColumnNr();
      throw new IllegalArgumentException("malformed JSON" + where + ": " + reason(e), e);
    } catch (IOException e) {
      // Reading from a byte array does no I/O.
      throw new UncheckedIOException(e);
    }
    if (n == null || n.isMissingNode()) {
      throw new IllegalArgumentException("malformed JSON: the body is empty, expected an object");
    }
    if (!n.isObject()) {
      throw new IllegalArgumentException(
          "malformed JSON: expected an object, got "
              + n.getNodeType().name().toLowerCase(Locale.ROOT));
    }
    return (ObjectNode) n;
  }

  /** Jackson's description of a parse error, without the location it appends. */
  private static String reason(JsonProcessingException e) {
    String m = e.getOriginalMessage();
    if (m == null) {
      return "unreadable";
    }
    int cut = m.indexOf(" (start marker at");
    if (cut >= 0) {
      m = m.substring(0, cut);
    }
    int nl = m.indexOf('\n');
    return nl >= 0 ? m.substring(0, nl) : m;
  }

  /**
   * Returns a field that must be a JSON string.
   *
   * @param nullable whether the field may be absent or JSON null (then null is returned)
   * @throws IllegalArgumentException if it has another type, or is missing or null when not allowed
   */
  static String string(ObjectNode json, String field, boolean nullable) {
    JsonNode v = json.get(field);
    if (v == null || v.isNull()) {
      if (nullable) {
        return null;
      }
      throw new IllegalArgumentException("\"" + field + "\" must be a string, got null");
    }
    if (!v.isTextual()) {
      throw new IllegalArgumentException(
          "\""
              + field
              + "\" must be a JSON string, got "
              + v.getNodeType().name().toLowerCase(Locale.ROOT)
              + " "
              + v);
    }
    return v.textValue();
  }
}
