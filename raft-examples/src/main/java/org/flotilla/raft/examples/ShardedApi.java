package org.flotilla.raft.examples;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.function.Function;
import java.util.zip.CRC32;
import org.flotilla.raft.NodeStatus;
import org.flotilla.raft.cluster.Role;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The HTTP API of a sharded cluster's server ({@link ShardedKvServer}): the key-value endpoints of
 * a single-group server, each key served by its group ({@link #shardOf}); each group's own
 * endpoints under {@code /shards/{group}} (status, members, leadership, snapshot, as {@link KvApi}
 * serves them for one group); moving a replica, rebalancing the leaders, and the server's status.
 * docs/http-api.md, "Sharded cluster", describes them ({@link #ENDPOINTS}).
 *
 * <p>Routing: a request for a group held here goes to that group's {@link KvApi}, which serves it
 * or forwards it once to the group's leader. A request for a group not held here is passed on,
 * marked {@link KvApi#ROUTED}, to a server that holds it (its leader first, as the {@link
 * ShardDirectory} knows it), trying the next one if one cannot be reached; a server that gets a
 * passed-on request for a group it does not hold answers 503 {@code not hosted} instead of passing
 * it on again. So a request crosses at most three servers, and nothing is done twice: only the
 * group's leader proposes.
 *
 * <p>Thread-safe: {@link #handle} may be called from any thread.
 */
final class ShardedApi {

  private static final Logger LOG = LoggerFactory.getLogger(ShardedApi.class);

  /** Every endpoint of a sharded server, in the order of docs/http-api.md. */
  static final List<KvApi.Endpoint> ENDPOINTS =
      List.of(
          new KvApi.Endpoint("GET", "/kv/{key}", List.of("consistency"), false, false),
          new KvApi.Endpoint("PUT", "/kv/{key}", List.of(), true, true),
          new KvApi.Endpoint("POST", "/kv/{key}", List.of("cas"), true, true),
          new KvApi.Endpoint("DELETE", "/kv/{key}", List.of(), false, true),
          new KvApi.Endpoint("GET", "/status", List.of(), false, false),
          new KvApi.Endpoint("GET", "/health", List.of(), false, false),
          new KvApi.Endpoint("GET", "/metrics", List.of(), false, false),
          new KvApi.Endpoint("GET", "/shards", List.of(), false, false),
          new KvApi.Endpoint("POST", "/rebalance", List.of(), false, false),
          new KvApi.Endpoint("GET", "/shards/{group}/status", List.of(), false, false),
          new KvApi.Endpoint("GET", "/shards/{group}/health", List.of(), false, false),
          new KvApi.Endpoint("GET", "/shards/{group}/members", List.of(), false, false),
          new KvApi.Endpoint("POST", "/shards/{group}/members", List.of(), true, false),
          new KvApi.Endpoint("DELETE", "/shards/{group}/members/{id}", List.of(), false, false),
          new KvApi.Endpoint(
              "POST", "/shards/{group}/leader/transfer", List.of("to"), false, false),
          new KvApi.Endpoint("POST", "/shards/{group}/snapshot", List.of(), false, false),
          new KvApi.Endpoint("POST", "/shards/{group}/move", List.of("from", "to"), false, false),
          new KvApi.Endpoint("PUT", "/shards/{group}/replica", List.of(), false, false),
          new KvApi.Endpoint("DELETE", "/shards/{group}/replica", List.of(), false, false));

  private static final String SHARDS = "/shards/";

  private final ShardedKvServer server;
  private final HttpForwarder forwarder;

  ShardedApi(ShardedKvServer server, HttpForwarder forwarder) {
    this.server = server;
    this.forwarder = forwarder;
  }

  /**
   * Returns the group a key belongs to: the CRC-32 of its UTF-8 bytes, modulo the number of groups.
   * Fixed for the life of a cluster (the number of groups cannot change).
   *
   * @param key the key
   * @param shards the number of groups
   * @return the group's number, 0 to {@code shards - 1}
   */
  static int shardOf(String key, int shards) {
    CRC32 crc = new CRC32();
    crc.update(key.getBytes(StandardCharsets.UTF_8));
    return (int) (crc.getValue() % shards);
  }

  /**
   * Handles a request.
   *
   * @param r the request
   * @return the response; never fails exceptionally
   */
  CompletableFuture<KvApi.Response> handle(KvApi.Request r) {
    try {
      return route(r).exceptionally(e -> failure(KvApi.unwrap(e)));
    } catch (RuntimeException e) {
      return done(failure(e));
    }
  }

  private KvApi.Response failure(Throwable e) {
    if (e instanceof KvApi.ApiException a) {
      return KvApi.Response.error(a.code, a.getMessage());
    }
    LOG.warn("sharded request failed", e);
    return KvApi.Response.error(
        500, ErrorCode.INTERNAL_ERROR, "an unexpected error; the server's log has it", "unknown");
  }

  private static CompletableFuture<KvApi.Response> done(KvApi.Response r) {
    return CompletableFuture.completedFuture(r);
  }

  private CompletableFuture<KvApi.Response> route(KvApi.Request r) {
    RequestTarget target = RequestTarget.parse(r.uri());
    String raw = target.rawPath();
    if (raw.startsWith("/kv/")) {
      // The group's KvApi checks the rest (method, parameters, headers, body).
      int g = shardOf(KvApi.key(raw.substring("/kv/".length())), server.config().shards());
      return toGroup(g, r, r);
    }
    int group = -1;
    String sub = "";
    String template;
    if (raw.startsWith(SHARDS)) {
      String rest = raw.substring(SHARDS.length());
      int slash = rest.indexOf('/');
      group = group(slash < 0 ? rest : rest.substring(0, slash));
      sub = slash < 0 ? "" : rest.substring(slash);
      template = "/shards/{group}" + (sub.startsWith("/members/") ? "/members/{id}" : sub);
    } else {
      template = RequestTarget.decode(raw, false, ErrorCode.MALFORMED_REQUEST, "the path");
    }
    KvApi.Endpoint e = endpoint(r, template);
    if (e == null) {
      String allow =
          String.join(
              ", ",
              ENDPOINTS.stream()
                  .filter(x -> x.path().equals(template))
                  .map(KvApi.Endpoint::method)
                  .toList());
      return done(
          KvApi.Response.error(
                  ErrorCode.METHOD_NOT_ALLOWED,
                  r.method() + " is not allowed on " + template + "; allowed: " + allow)
              .withHeader("Allow", allow));
    }
    Map<String, String> query = KvApi.query(e, target.params());
    if (!e.body() && r.body().length > 0) {
      throw new KvApi.ApiException(
          ErrorCode.UNEXPECTED_BODY,
          e.method() + " " + e.path() + " takes no body, got " + r.body().length + " bytes");
    }
    int g = group;
    return switch (e.method() + " " + template) {
      case "GET /status" -> done(server.status());
      case "GET /health" -> done(server.health());
      case "GET /metrics" ->
          done(
              new KvApi.Response(
                  200,
                  KvApi.PROMETHEUS_TEXT,
                  server.registry().scrape().getBytes(StandardCharsets.UTF_8),
                  Map.of()));
      case "GET /shards" -> done(server.directoryView());
      case "POST /rebalance" -> server.rebalance();
      case "PUT /shards/{group}/replica" -> server.createReplica(g);
      case "DELETE /shards/{group}/replica" -> server.deleteReplica(g);
      case "POST /shards/{group}/move" -> {
        String from = serverParam(query, "from");
        String to = serverParam(query, "to");
        if (from.equals(to)) {
          throw new KvApi.ApiException(
              ErrorCode.INVALID_PARAMETER, "?from and ?to are the same server, " + from);
        }
        yield atLeader(g, r, s -> server.move(s, from, to, r));
      }
      default -> {
        // One of the group's own endpoints: its KvApi serves it, under the path without the
        // /shards/{group} prefix.
        int q = r.uri().indexOf('?');
        KvApi.Request inner =
            new KvApi.Request(
                r.method(),
                sub + (q < 0 ? "" : r.uri().substring(q)),
                r.clientId(),
                r.requestSeq(),
                r.forwarded(),
                r.routed(),
                r.body());
        yield toGroup(g, r, inner);
      }
    };
  }

  /** The endpoint of the path and method; null if the path has others; 404 if it has none. */
  private static KvApi.Endpoint endpoint(KvApi.Request r, String template) {
    List<KvApi.Endpoint> onPath =
        ENDPOINTS.stream().filter(x -> x.path().equals(template)).toList();
    if (onPath.isEmpty() || template.startsWith("/kv/")) {
      throw new KvApi.ApiException(
          ErrorCode.NO_SUCH_RESOURCE,
          "no endpoint has the path " + template + " (see docs/http-api.md, \"Sharded cluster\")");
    }
    return onPath.stream().filter(x -> x.method().equals(r.method())).findFirst().orElse(null);
  }

  private int group(String text) {
    int shards = server.config().shards();
    int g;
    try {
      g = Integer.parseInt(text);
    } catch (NumberFormatException e) {
      g = -1;
    }
    if (g < 0 || g >= shards || !text.equals(Integer.toString(g))) {
      throw new KvApi.ApiException(
          ErrorCode.NO_SUCH_GROUP,
          "no group '" + text + "': the groups are numbered 0 to " + (shards - 1));
    }
    return g;
  }

  private String serverParam(Map<String, String> query, String name) {
    String id = query.get(name);
    if (id == null) {
      throw new KvApi.ApiException(
          ErrorCode.MISSING_PARAMETER, "POST /shards/{group}/move needs ?from=ID&to=ID");
    }
    if (!server.servers().contains(id)) {
      throw new KvApi.ApiException(
          ErrorCode.UNKNOWN_MEMBER,
          "?" + name + "=" + id + " is not a server of the cluster " + server.servers());
    }
    return id;
  }

  /**
   * Serves a request for group {@code g}: by its {@link KvApi} here ({@code inner}, the path the
   * group's API takes), or passes {@code original} on to a server that holds it.
   */
  private CompletableFuture<KvApi.Response> toGroup(
      int g, KvApi.Request original, KvApi.Request inner) {
    ShardedKvServer.Shard s = server.shard(g);
    if (s != null) {
      return s.api().handle(inner);
    }
    return passOn(g, original);
  }

  /** Runs {@code action} on the group's leader: here if it leads, else forwarded or passed on. */
  private CompletableFuture<KvApi.Response> atLeader(
      int g,
      KvApi.Request r,
      Function<ShardedKvServer.Shard, CompletableFuture<KvApi.Response>> action) {
    ShardedKvServer.Shard s = server.shard(g);
    if (s == null) {
      return passOn(g, r);
    }
    NodeStatus st = s.node().status();
    if (st.role() == Role.LEADER) {
      return action.apply(s);
    }
    if (r.forwarded()) {
      return done(
          KvApi.Response.error(
              503,
              ErrorCode.NOT_LEADER,
              server.config().id() + " does not lead group " + g + " (already forwarded once)",
              "not-applied"));
    }
    String leader = st.leader().orElse(null);
    if (leader == null || server.httpAddress(leader) == null) {
      return done(
          KvApi.Response.error(
              503, ErrorCode.NO_LEADER, "group " + g + " knows no leader; retry", "not-applied"));
    }
    return forwarder.forward(server.httpAddress(leader), r);
  }

  /**
   * Passes a request on to a server holding the group, trying the next if one cannot be reached.
   */
  private CompletableFuture<KvApi.Response> passOn(int g, KvApi.Request r) {
    if (r.routed()) {
      return done(
          KvApi.Response.error(
              503,
              ErrorCode.NOT_HOSTED,
              server.config().id() + " holds no replica of group " + g + " (it moved); retry",
              "not-applied"));
    }
    return passOn(g, r, server.directory().route(g, System.nanoTime()), 0);
  }

  private CompletableFuture<KvApi.Response> passOn(
      int g, KvApi.Request r, List<String> candidates, int i) {
    if (i >= candidates.size()) {
      return done(
          KvApi.Response.error(
              503,
              ErrorCode.LEADER_UNREACHABLE,
              "no server holding group " + g + " could be reached " + new ArrayList<>(candidates),
              "not-applied"));
    }
    return forwarder
        .route(server.httpAddress(candidates.get(i)), r)
        .thenCompose(
            resp ->
                resp.status() == 503 && notSent(resp)
                    ? passOn(g, r, candidates, i + 1)
                    : done(resp));
  }

  /** Whether a 503 says the request was not taken in (unreachable or not hosted there). */
  private static boolean notSent(KvApi.Response resp) {
    String body = resp.bodyText();
    return body.contains("\"error\":\"" + ErrorCode.LEADER_UNREACHABLE.text + "\"")
        || body.contains("\"error\":\"" + ErrorCode.NOT_HOSTED.text + "\"");
  }
}
