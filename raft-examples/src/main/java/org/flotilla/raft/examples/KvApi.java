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
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
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
import java.util.regex.Pattern;
import org.flotilla.raft.CommandRejectedException;
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
import org.flotilla.raft.cluster.Role;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The key-value HTTP API, independent of Netty's channel machinery: a {@link Request} goes in, a
 * future {@link Response} comes out. Writes go to the local {@link RaftNode}; when it is not the
 * leader, the request is forwarded once to the leader's HTTP address. docs/http-api.md describes
 * every endpoint ({@link #ENDPOINTS}), parameter, header, status code and body.
 *
 * <p>Status codes say what a client may do next. A {@code 4xx} is permanent: the request was
 * refused and nothing was done, and sending it again is refused again ({@code 400} bad input,
 * {@code 404} no such key, resource or member, {@code 405} another method, with {@code Allow},
 * {@code 409} a conflict with the group's state, {@code 413} too large). A {@code 503} (with {@code
 * Retry-After}) means nothing was proposed and a retry may succeed (no leader, overloaded, a change
 * under way, a node that is stopped or failed). A {@code 504} means the outcome is unknown: the
 * request timed out after it was proposed and may still take effect. {@code 500} is a bug. Every
 * error body is {@code {"error": CODE, "message": ..., "outcome": "not-applied"|"unknown"}}, the
 * codes being {@link ErrorCode}'s; messages name no Java or Netty class.
 *
 * <p>Input is checked before anything is proposed: the key (1 to {@link
 * KvStateMachine#MAX_KEY_BYTES} bytes of UTF-8, strictly percent-decoded, see {@link
 * RequestTarget}), the query parameters (each endpoint takes a fixed set, each at most once), the
 * session headers (on writes only), the body (JSON bodies strictly; none where none is taken). The
 * leader checks membership requests against its configuration (adding a member, removing or
 * transferring to a non-member); a change that races another can still be refused with {@code 503}
 * and is then refused with the {@code 4xx} on retry. Failures are logged at most one line per code
 * every five seconds, with a stack trace only for a bug; refusals with {@code 4xx} are not logged.
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
   * The header a server of a sharded cluster adds when it passes a request for a group it does not
   * hold to a server that does ({@link ShardedApi}), so that it is never passed on again: it may
   * still be forwarded once to the group's leader ({@link #FORWARDED}).
   */
  static final String ROUTED = "X-Flotilla-Routed";

  /** The session headers: a client's id and the number of this request in its session. */
  static final String CLIENT_ID = "Client-Id";

  /** The number of a request in its client's session, 1, 2, 3, ... */
  static final String REQUEST_SEQ = "Request-Seq";

  /** The longest {@code Client-Id}, in characters (printable ASCII). */
  static final int MAX_CLIENT_ID = 256;

  /**
   * One endpoint: a method on a path, {@code {key}} or {@code {id}} standing for a path parameter.
   *
   * @param method the method
   * @param path the path template
   * @param params the query parameters it takes
   * @param body whether it takes a body
   * @param session whether it takes the session headers ({@code Client-Id}, {@code Request-Seq})
   */
  record Endpoint(String method, String path, List<String> params, boolean body, boolean session) {}

  /** Every endpoint, in the order of docs/http-api.md. */
  static final List<Endpoint> ENDPOINTS =
      List.of(
          new Endpoint("GET", "/kv/{key}", List.of("consistency"), false, false),
          new Endpoint("PUT", "/kv/{key}", List.of(), true, true),
          new Endpoint("POST", "/kv/{key}", List.of("cas"), true, true),
          new Endpoint("DELETE", "/kv/{key}", List.of(), false, true),
          new Endpoint("GET", "/status", List.of(), false, false),
          new Endpoint("GET", "/health", List.of(), false, false),
          new Endpoint("GET", "/metrics", List.of(), false, false),
          new Endpoint("GET", "/members", List.of(), false, false),
          new Endpoint("POST", "/members", List.of(), true, false),
          new Endpoint("DELETE", "/members/{id}", List.of(), false, false),
          new Endpoint("POST", "/leader/transfer", List.of("to"), false, false),
          new Endpoint("POST", "/snapshot", List.of(), false, false),
          new Endpoint("GET", "/ui", List.of(), false, false));

  /** The live status page (GET /ui), read once from the jar. */
  private static final byte[] UI_PAGE = readUiPage();

  private static byte[] readUiPage() {
    try (java.io.InputStream in = KvApi.class.getResourceAsStream("ui.html")) {
      if (in == null) {
        throw new IllegalStateException("ui.html is missing from the jar");
      }
      return in.readAllBytes();
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException("cannot read ui.html from the jar", e);
    }
  }

  /**
   * A refusal with a status, a code and a message, thrown while a request is checked and turned
   * into an error response by {@link #handle}. Not for bugs.
   */
  static final class ApiException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    /** The status answered. */
    final int status;

    /** The error code. */
    final ErrorCode code;

    ApiException(ErrorCode code, String message) {
      super(message, null, false, false);
      this.status = code.status;
      this.code = code;
    }
  }

  /**
   * One HTTP request, already read in full.
   *
   * @param method the method, upper case
   * @param uri the request target (path and query)
   * @param clientId the {@code Client-Id} header, or null
   * @param requestSeq the {@code Request-Seq} header, or null
   * @param forwarded whether another node forwarded it to this one as the leader ({@link
   *     #FORWARDED})
   * @param routed whether another server of a sharded cluster passed it on to this one as a holder
   *     of its group ({@link #ROUTED})
   * @param body the body bytes
   */
  @SuppressWarnings("ArrayRecordComponent") // the body is never modified after construction
  record Request(
      String method,
      String uri,
      String clientId,
      String requestSeq,
      boolean forwarded,
      boolean routed,
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

    /** A JSON response: the value, compact, and a newline. */
    static Response json(int status, JsonNode json) {
      try {
        return json(status, JSON.writeValueAsString(json));
      } catch (JsonProcessingException e) {
        // A tree of strings, numbers and booleans always serializes.
        throw new IllegalStateException("cannot write JSON", e);
      }
    }

    /**
     * An error: {@code {"error": code, "message": message, "outcome": outcome}}, with {@code
     * Retry-After: 1} if the status is 503.
     */
    static Response error(int status, ErrorCode code, String message, String outcome) {
      Response r =
          json(
              status,
              object().put("error", code.text).put("message", message).put("outcome", outcome));
      return status == 503 ? r.withHeader("Retry-After", "1") : r;
    }

    /** An error answered with its code's status; nothing was done. */
    static Response error(ErrorCode code, String message) {
      return error(code.status, code, message, "not-applied");
    }

    /** This response with one more header. */
    Response withHeader(String name, String value) {
      Map<String, String> h = new LinkedHashMap<>(headers);
      h.put(name, value);
      return new Response(status, contentType, body, Map.copyOf(h));
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
    } catch (ApiException e) {
      return done(Response.error(e.code, e.getMessage()));
    } catch (RuntimeException e) {
      return done(failure(e));
    }
  }

  // ------------------------------------------------------------------ routing and checks

  /** A request matched to its endpoint, its path parameter decoded and its input checked. */
  private record Call(
      Request request, Endpoint endpoint, String param, Map<String, String> query) {}

  private CompletableFuture<Response> route(Request r) {
    RequestTarget target = RequestTarget.parse(r.uri());
    String raw = target.rawPath();
    String template;
    String param = null;
    if (raw.startsWith("/kv/")) {
      template = "/kv/{key}";
      param = key(raw.substring("/kv/".length()));
    } else if (raw.startsWith("/members/")) {
      template = "/members/{id}";
      param =
          RequestTarget.decode(
              raw.substring("/members/".length()),
              false,
              ErrorCode.INVALID_PARAMETER,
              "the member id");
    } else {
      template = RequestTarget.decode(raw, false, ErrorCode.MALFORMED_REQUEST, "the path");
    }
    List<Endpoint> onPath = ENDPOINTS.stream().filter(e -> e.path().equals(template)).toList();
    if (onPath.isEmpty()) {
      throw new ApiException(
          ErrorCode.NO_SUCH_RESOURCE,
          "no endpoint has the path " + template + " (see docs/http-api.md)");
    }
    Endpoint endpoint =
        onPath.stream().filter(e -> e.method().equals(r.method())).findFirst().orElse(null);
    if (endpoint == null) {
      String allow = String.join(", ", onPath.stream().map(Endpoint::method).toList());
      return done(
          Response.error(
                  ErrorCode.METHOD_NOT_ALLOWED,
                  r.method() + " is not allowed on " + template + "; allowed: " + allow)
              .withHeader("Allow", allow));
    }
    Call call = new Call(r, endpoint, param, query(endpoint, target.params()));
    checkHeaders(call);
    if (!endpoint.body() && r.body().length > 0) {
      throw new ApiException(
          ErrorCode.UNEXPECTED_BODY,
          endpoint.method()
              + " "
              + endpoint.path()
              + " takes no body, got "
              + r.body().length
              + " bytes");
    }
    return dispatch(call);
  }

  private CompletableFuture<Response> dispatch(Call c) {
    Request r = c.request();
    String key = c.param();
    return switch (c.endpoint().method() + " " + c.endpoint().path()) {
      case "GET /kv/{key}" -> get(r, key, consistency(c.query().get("consistency")));
      case "PUT /kv/{key}" -> write(r, KvStateMachine.encodePut(key, r.body()), KvApi::indexReply);
      case "POST /kv/{key}" -> cas(c);
      case "DELETE /kv/{key}" ->
          write(
              r,
              KvStateMachine.encodeDelete(key),
              res ->
                  KvStateMachine.decodeFlag(res.value()) ? indexReply(res) : notFound(res.index()));
      case "GET /status" ->
          // Read-only: the status page of another member may read it (GET /ui).
          done(status().withHeader("Access-Control-Allow-Origin", "*"));
      case "GET /ui" -> done(new Response(200, "text/html; charset=utf-8", UI_PAGE, Map.of()));
      case "GET /health" -> done(health());
      case "GET /metrics" -> done(metrics());
      case "GET /members" -> done(members());
      case "POST /members" -> addMember(r);
      case "DELETE /members/{id}" ->
          removeMember(r, memberId(c.param(), "the member id in the path"));
      case "POST /leader/transfer" -> transfer(r, c.query().get("to"));
      case "POST /snapshot" ->
          local(node.takeSnapshot(), i -> Response.json(200, object().put("index", i)));
      default -> throw new IllegalStateException("no handler for " + c.endpoint());
    };
  }

  /** Decodes and checks a key: 1 to MAX_KEY_BYTES bytes of UTF-8. */
  static String key(String raw) {
    String key = RequestTarget.decode(raw, false, ErrorCode.INVALID_KEY, "the key");
    int bytes = key.getBytes(StandardCharsets.UTF_8).length;
    if (bytes == 0) {
      throw new ApiException(ErrorCode.INVALID_KEY, "the key is empty: use /kv/{key}");
    }
    if (bytes > KvStateMachine.MAX_KEY_BYTES) {
      throw new ApiException(
          ErrorCode.INVALID_KEY,
          "the key is "
              + bytes
              + " bytes of UTF-8, longer than the limit of "
              + KvStateMachine.MAX_KEY_BYTES);
    }
    return key;
  }

  /** Checks the query parameters against those the endpoint takes; returns each one's value. */
  static Map<String, String> query(Endpoint e, Map<String, List<String>> params) {
    Map<String, String> out = new LinkedHashMap<>();
    for (Map.Entry<String, List<String>> p : params.entrySet()) {
      String name = p.getKey();
      if (!e.params().contains(name)) {
        throw new ApiException(
            ErrorCode.UNKNOWN_PARAMETER,
            e.method()
                + " "
                + e.path()
                + " takes no query parameter '"
                + name
                + "'"
                + (e.params().isEmpty()
                    ? ""
                    : " (it takes: " + String.join(", ", e.params()) + ")"));
      }
      if (p.getValue().size() > 1) {
        throw new ApiException(
            ErrorCode.CONFLICTING_PARAMETERS,
            "query parameter '" + name + "' is given " + p.getValue().size() + " times");
      }
      out.put(name, p.getValue().get(0));
    }
    return out;
  }

  /** Checks the session headers: both or neither, well formed, and on writes only. */
  private static void checkHeaders(Call c) {
    Request r = c.request();
    if (r.clientId() == null && r.requestSeq() == null) {
      return;
    }
    if (!c.endpoint().session()) {
      throw new ApiException(
          ErrorCode.INVALID_HEADER,
          CLIENT_ID
              + " and "
              + REQUEST_SEQ
              + " apply to writes only (PUT, POST ?cas and DELETE on /kv/{key}), not to "
              + c.endpoint().method()
              + " "
              + c.endpoint().path());
    }
    if (r.clientId() == null) {
      throw new ApiException(
          ErrorCode.INVALID_HEADER, REQUEST_SEQ + " needs a " + CLIENT_ID + " header");
    }
    if (r.requestSeq() == null) {
      throw new ApiException(
          ErrorCode.INVALID_HEADER, CLIENT_ID + " needs a " + REQUEST_SEQ + " header");
    }
    String id = r.clientId();
    if (id.isEmpty()
        || id.length() > MAX_CLIENT_ID
        || !id.chars().allMatch(ch -> ch > 0x20 && ch < 0x7f)) {
      throw new ApiException(
          ErrorCode.INVALID_HEADER,
          CLIENT_ID + " must be 1 to " + MAX_CLIENT_ID + " printable ASCII characters, no spaces");
    }
    sequence(r.requestSeq());
  }

  /** Parses a Request-Seq: a positive decimal number. */
  private static long sequence(String header) {
    String v = header.trim();
    long seq;
    try {
      seq = v.chars().allMatch(Character::isDigit) ? Long.parseLong(v) : -1;
    } catch (NumberFormatException e) {
      seq = -1; // too large
    }
    if (seq < 1) {
      throw new ApiException(
          ErrorCode.INVALID_HEADER,
          REQUEST_SEQ + " must be a number from 1 to " + Long.MAX_VALUE + ", got '" + header + "'");
    }
    return seq;
  }

  private static ReadConsistency consistency(String value) {
    if (value == null) {
      return ReadConsistency.LINEARIZABLE;
    }
    return switch (value) {
      case "linearizable" -> ReadConsistency.LINEARIZABLE;
      case "lease" -> ReadConsistency.LEASE;
      case "stale" -> ReadConsistency.STALE;
      default ->
          throw new ApiException(
              ErrorCode.INVALID_PARAMETER,
              "consistency must be linearizable, lease or stale, got '" + value + "'");
    };
  }

  private static String memberId(String id, String what) {
    try {
      return Member.of(id).id();
    } catch (IllegalArgumentException e) {
      throw new ApiException(ErrorCode.INVALID_PARAMETER, what + ": " + e.getMessage());
    }
  }

  /** The node's metrics in the Prometheus text format; always this node's, never forwarded. */
  private Response metrics() {
    if (metrics == null) {
      return Response.error(ErrorCode.NO_SUCH_RESOURCE, "metrics are not enabled on this server");
    }
    return new Response(
        200, PROMETHEUS_TEXT, metrics.scrape().getBytes(StandardCharsets.UTF_8), Map.of());
  }

  private static CompletableFuture<Response> done(Response r) {
    return CompletableFuture.completedFuture(r);
  }

  private static Response indexReply(Result res) {
    return Response.json(200, object().put("index", res.index()));
  }

  private static Response notFound(long index) {
    return Response.json(
        404,
        object()
            .put("error", ErrorCode.NOT_FOUND.text)
            .put("message", "the key has no value")
            .put("index", index));
  }

  // ------------------------------------------------------------------ key-value

  private CompletableFuture<Response> get(Request r, String key, ReadConsistency c) {
    ByteBuffer query = KvStateMachine.encodeGet(key);
    return leaderOnly(
        r,
        () -> node.read(query, c),
        res -> {
          if (!KvStateMachine.decodeFound(res.value())) {
            return notFound(res.index());
          }
          return new Response(
              200,
              "application/octet-stream",
              KvStateMachine.decodeValue(res.value()),
              Map.of("X-Raft-Index", Long.toString(res.index())));
        });
  }

  private CompletableFuture<Response> cas(Call c) {
    String flag = c.query().get("cas");
    if (flag == null) {
      throw new ApiException(
          ErrorCode.MISSING_PARAMETER, "POST /kv/{key} is a compare-and-set: it needs ?cas");
    }
    if (!flag.isEmpty()) {
      throw new ApiException(
          ErrorCode.INVALID_PARAMETER, "?cas takes no value, got '" + flag + "'");
    }
    ObjectNode json = parseObject(c.request().body());
    if (!json.has("expect") || !json.has("value") || json.size() != 2) {
      throw new ApiException(
          ErrorCode.INVALID_BODY,
          "a compare-and-set body is {\"expect\": STRING or null, \"value\": STRING}, exactly"
              + " these two fields; got "
              + fieldNames(json));
    }
    if (json.get("value").isNull()) {
      throw new ApiException(
          ErrorCode.INVALID_BODY,
          "\"value\" must be a string, not null (to remove a key, DELETE it)");
    }
    String expect = string(json, "expect", true);
    String value = string(json, "value", false);
    ByteBuffer cmd =
        KvStateMachine.encodeCas(
            c.param(),
            expect == null ? null : expect.getBytes(StandardCharsets.UTF_8),
            value.getBytes(StandardCharsets.UTF_8));
    return write(
        c.request(),
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
      return leaderOnly(r, () -> node.submit(command), ok);
    }
    long seq = sequence(r.requestSeq());
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
      return done(
          refused(ErrorCode.NOT_LEADER, e.getMessage() + " (the request was already forwarded)"));
    }
    Member leader = e.leader().orElse(null);
    if (leader == null || leader.id().equals(node.id())) {
      return done(refused(ErrorCode.NO_LEADER, "no leader is known; retry later"));
    }
    String http = machine.httpAddresses().get(leader.id());
    if (http == null) {
      return done(
          refused(
              ErrorCode.NOT_LEADER, "the leader " + leader.id() + " has no known HTTP address"));
    }
    return forwarder.forward(http, r);
  }

  static Throwable unwrap(Throwable t) {
    while ((t instanceof CompletionException || t instanceof ExecutionException)
        && t.getCause() != null) {
      t = t.getCause();
    }
    return t;
  }

  /**
   * Answers a failed operation: its own status for a refusal found while checking the request, 409
   * for a session refusal no retry gets past, 413 for a command too large, 503 for a refusal
   * (nothing was done, a retry may succeed), 504 for a time-out or an unknown outcome, 500 for an
   * exception of a type not expected here (a bug). Logs 5xx at most one line per code every few
   * seconds, with a stack trace only for a bug.
   */
  Response failure(Throwable cause) {
    if (cause instanceof ApiException e) {
      return Response.error(e.code, e.getMessage());
    }
    if (cause instanceof OverloadedException) {
      return refused(ErrorCode.OVERLOADED, "overloaded: " + describe(cause));
    }
    if (cause instanceof CommandRejectedException e) {
      String m = describe(cause);
      return switch (e.reason()) {
        case SESSION_SUPERSEDED ->
            Response.error(
                ErrorCode.STALE_REQUEST,
                m + ": this Request-Seq is older than the newest one the session applied");
        case NO_SESSION -> Response.error(ErrorCode.NO_SESSION, m);
        case TOO_LARGE -> Response.error(ErrorCode.COMMAND_TOO_LARGE, m);
        case INVALID -> Response.error(ErrorCode.INVALID_BODY, m);
        case REFUSED, REPLACED, SESSIONS_FULL -> refused(ErrorCode.REJECTED, "rejected: " + m);
      };
    }
    if (cause instanceof NotLeaderException) {
      return refused(ErrorCode.NOT_LEADER, describe(cause));
    }
    if (cause instanceof ReadNotConfirmedException) {
      return refused(ErrorCode.READ_NOT_CONFIRMED, describe(cause));
    }
    if (cause instanceof ReadTimeoutException) {
      return unknown(
          ErrorCode.READ_TIMEOUT,
          describe(cause) + "; the read changed nothing and may be retried");
    }
    if (cause instanceof TimeoutException) {
      return unknown(ErrorCode.TIMEOUT, "timed out; the operation may still take effect");
    }
    if (cause instanceof NodeStoppedException stopped) {
      return stopped(stopped);
    }
    if (cause instanceof RaftException) {
      // OutcomeUnknownException, or a RaftException of a kind not known here: outcome unknown.
      return unknown(ErrorCode.OUTCOME_UNKNOWN, describe(cause));
    }
    failures.log(
        "internal error " + cause.getClass().getName(), "500 internal error: " + cause, cause);
    return Response.error(
        500, ErrorCode.INTERNAL_ERROR, "an unexpected error; the server's log has it", "unknown");
  }

  /** A 503: refused, nothing was proposed. */
  private Response refused(ErrorCode code, String message) {
    failures.log(code.text, "503 " + code.text + ": " + message, null);
    return Response.error(503, code, message, "not-applied");
  }

  /** A 504: timed out, or the outcome is unknown. */
  private Response unknown(ErrorCode code, String message) {
    failures.log(code.text, "504 " + code.text + ": " + message, null);
    return Response.error(504, code, message, "unknown");
  }

  /**
   * A node that is stopped (closed, or failed) answers at once: 503 for an operation it refused
   * without proposing anything, 504 for one that was pending when it stopped.
   */
  private Response stopped(NodeStoppedException e) {
    ErrorCode code = e.getCause() == null ? ErrorCode.NODE_STOPPED : ErrorCode.NODE_FAILED;
    String message =
        e.getCause() == null
            ? describe(e)
            : e.getMessage() + " (cause: " + describe(e.getCause()) + ")";
    if (!e.outcomeUnknown()) {
      return refused(code, message);
    }
    return unknown(code, message + "; the operation may still take effect");
  }

  /** Fully qualified class names, as {@link Throwable#toString} puts them before a message. */
  private static final Pattern CLASS_NAME =
      Pattern.compile("(?:[a-zA-Z_$][\\w$]*\\.)+[A-Z][\\w$]*(?:Exception|Error)(?::\\s*)?");

  /**
   * Describes an exception for a client: the messages of it and its causes, without class names.
   *
   * @param t the exception
   * @return the description; never empty
   */
  static String describe(Throwable t) {
    StringBuilder b = new StringBuilder();
    int depth = 0;
    for (Throwable c = t; c != null && depth < 8; c = c.getCause(), depth++) {
      String m = c.getMessage();
      if (m == null) {
        continue;
      }
      m = CLASS_NAME.matcher(m).replaceAll("").trim();
      if (!m.isEmpty() && b.indexOf(m) < 0) {
        b.append(b.length() == 0 ? "" : ": ").append(m);
      }
    }
    return b.length() == 0 ? "no detail; the server's log has the error" : b.toString();
  }

  // ------------------------------------------------------------------ cluster

  /** The configuration, if this node is the leader (whose view decides); null otherwise. */
  private Configuration leaderConfiguration() {
    NodeStatus s = node.status();
    return s.role() == Role.LEADER ? s.configuration() : null;
  }

  private CompletableFuture<Response> transfer(Request r, String to) {
    if (to == null) {
      throw new ApiException(
          ErrorCode.MISSING_PARAMETER, "POST /leader/transfer needs ?to=ID, the new leader");
    }
    String id = memberId(to, "?to");
    return leaderOnly(
        r,
        () -> {
          Configuration c = leaderConfiguration();
          if (c != null && !c.contains(id)) {
            throw new ApiException(ErrorCode.UNKNOWN_MEMBER, id + " is not a member");
          }
          if (c != null && !c.isVoter(id)) {
            throw new ApiException(
                ErrorCode.NOT_A_VOTER, id + " is a learner; only a voter can lead");
          }
          return node.transferLeadership(id);
        },
        v -> Response.json(200, object().put("leader", id)));
  }

  private CompletableFuture<Response> removeMember(Request r, String id) {
    return leaderOnly(
        r,
        () -> {
          Configuration c = leaderConfiguration();
          if (c != null && !c.contains(id)) {
            throw new ApiException(ErrorCode.UNKNOWN_MEMBER, id + " is not a member");
          }
          if (c != null && c.isVoter(id) && c.voters().size() == 1) {
            throw new ApiException(
                ErrorCode.LAST_VOTER, id + " is the last voter; a group needs at least one");
          }
          return node.removeMember(id);
        },
        KvApi::indexReply);
  }

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
    ArrayNode transfers = b.putArray("snapshotTransfers");
    for (NodeStatus.SnapshotTransfer t : s.snapshotTransfers()) {
      transfers
          .addObject()
          .put("peer", t.peer())
          .put("sending", t.sending())
          .put("snapshotIndex", t.snapshotIndex())
          .put("bytesDone", t.bytesDone())
          .put("bytesTotal", t.bytesTotal());
    }
    NodeStatus.Failure f = s.failure().orElse(null);
    if (f != null) {
      b.putObject("failure")
          .put("error", f.reason())
          .put("message", describe(f.cause()))
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
          o.put("lastContactMillis", p.lastContactMillis());
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
          503,
          ErrorCode.NODE_FAILED,
          f.reason() + " (cause: " + describe(f.cause()) + ")",
          "not-applied");
    }
    if (!node.isRunning()) {
      return Response.error(503, ErrorCode.NOT_RUNNING, "the node is not running", "not-applied");
    }
    if (s.leader().isEmpty()) {
      return Response.error(503, ErrorCode.NO_LEADER, "this node knows no leader", "not-applied");
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
    List<String> unknown = new ArrayList<>();
    json.fieldNames()
        .forEachRemaining(
            f -> {
              if (!List.of("id", "raftAddress", "httpAddress", "role").contains(f)) {
                unknown.add(f);
              }
            });
    if (!unknown.isEmpty()
        || !json.has("id")
        || !json.has("raftAddress")
        || !json.has("httpAddress")) {
      throw new ApiException(
          ErrorCode.INVALID_BODY,
          "the body is {\"id\": ID, \"raftAddress\": \"HOST:PORT\", \"httpAddress\":"
              + " \"HOST:PORT\", \"role\": \"voter\" (default) or \"learner\"}; got "
              + fieldNames(json));
    }
    String id = memberIdField(string(json, "id", false));
    String role = json.has("role") ? string(json, "role", false) : "voter";
    if (!role.equals("voter") && !role.equals("learner")) {
      throw new ApiException(
          ErrorCode.INVALID_BODY, "\"role\" must be voter or learner, got '" + role + "'");
    }
    Member member = Member.of(id, address("raftAddress", string(json, "raftAddress", false)));
    String httpAddress = address("httpAddress", string(json, "httpAddress", false));
    return leaderOnly(
        r,
        () -> {
          Configuration c = leaderConfiguration();
          if (c != null && c.contains(id)) {
            throw new ApiException(
                ErrorCode.ALREADY_A_MEMBER,
                id
                    + " is already a member (as "
                    + (c.isVoter(id) ? "a voter" : "a learner")
                    + " at "
                    + c.member(id).map(Member::address).orElse("?")
                    + ")");
          }
          return node.submit(KvStateMachine.encodeSetHttp(id, httpAddress))
              .thenCompose(
                  x -> role.equals("voter") ? node.addMember(member) : node.addLearner(member));
        },
        res -> Response.json(200, object().put("id", id).put("index", res.index())));
  }

  private static String memberIdField(String id) {
    try {
      return Member.of(id).id();
    } catch (IllegalArgumentException e) {
      throw new ApiException(ErrorCode.INVALID_BODY, "\"id\": " + e.getMessage());
    }
  }

  private static String address(String field, String value) {
    try {
      return ServerConfig.hostPort("\"" + field + "\"", value);
    } catch (IllegalArgumentException e) {
      throw new ApiException(ErrorCode.INVALID_BODY, e.getMessage());
    }
  }

  // ------------------------------------------------------------------ JSON

  /** Returns a new, empty JSON object whose fields keep the order they are put in. */
  static ObjectNode object() {
    return JSON.createObjectNode();
  }

  /**
   * Parses a request body that must be one JSON object.
   *
   * @throws ApiException 400 saying where and why it is malformed
   */
  static ObjectNode parseObject(byte[] body) {
    JsonNode n;
    try {
      n = JSON.readTree(body);
    } catch (JsonProcessingException e) {
      JsonLocation at = e.getLocation();
      String where =
          at == null ? "" : " at line " + at.getLineNr() + ", column " + at.getColumnNr();
      throw new ApiException(ErrorCode.INVALID_BODY, "malformed JSON" + where + ": " + reason(e));
    } catch (IOException e) {
      // Reading from a byte array does no I/O.
      throw new UncheckedIOException(e);
    }
    if (n == null || n.isMissingNode()) {
      throw new ApiException(
          ErrorCode.INVALID_BODY, "malformed JSON: the body is empty, expected an object");
    }
    if (!n.isObject()) {
      throw new ApiException(
          ErrorCode.INVALID_BODY,
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
   * @throws ApiException 400 if it has another type, or is missing or null when not allowed
   */
  static String string(ObjectNode json, String field, boolean nullable) {
    JsonNode v = json.get(field);
    if (v == null || v.isNull()) {
      if (nullable) {
        return null;
      }
      throw new ApiException(
          ErrorCode.INVALID_BODY, "\"" + field + "\" must be a string, got null");
    }
    if (!v.isTextual()) {
      throw new ApiException(
          ErrorCode.INVALID_BODY,
          "\""
              + field
              + "\" must be a JSON string, got "
              + v.getNodeType().name().toLowerCase(Locale.ROOT)
              + " "
              + v);
    }
    return v.textValue();
  }

  /** The field names of an object, for a message. */
  private static String fieldNames(ObjectNode json) {
    List<String> names = new ArrayList<>();
    json.fieldNames().forEachRemaining(names::add);
    return names.isEmpty() ? "no fields" : "the fields " + String.join(", ", names);
  }
}
