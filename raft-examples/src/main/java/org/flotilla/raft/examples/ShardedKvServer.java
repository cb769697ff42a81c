package org.flotilla.raft.examples;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.netty.channel.Channel;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.util.concurrent.DefaultEventExecutor;
import io.netty.util.concurrent.DefaultThreadFactory;
import io.netty.util.concurrent.EventExecutor;
import io.netty.util.concurrent.RejectedExecutionHandlers;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import org.flotilla.raft.NodeStatus;
import org.flotilla.raft.RaftHost;
import org.flotilla.raft.RaftListener;
import org.flotilla.raft.RaftNode;
import org.flotilla.raft.cluster.Configuration;
import org.flotilla.raft.cluster.Member;
import org.flotilla.raft.cluster.Role;
import org.flotilla.raft.storage.FileHostStorage;
import org.flotilla.raft.transport.netty.NettyHostTransport;
import org.flotilla.raft.transport.netty.NettyTransport;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A server of a sharded key-value cluster ({@code flotilla-kv --shards K}): the keys are spread
 * over K Raft groups by a hash ({@link ShardedApi#shardOf}), each group replicated on {@code
 * --replicas} of the {@code --members} servers, placed round-robin ({@link
 * ShardDirectory#placement}). Every server is one {@link RaftHost}: all the groups it holds share
 * its threads, one connection per other server ({@link NettyHostTransport}, heartbeats coalesced),
 * one write-ahead log with one {@code fsync} for all groups ({@link FileHostStorage}), and idle
 * groups quiesce.
 *
 * <p>Any server answers any request ({@link ShardedApi}): a key's group is served here if this
 * server holds it, else passed to a server that does, which forwards it to the group's leader if it
 * is not the leader itself. Leadership is spread over the servers: every few seconds each server
 * hands the groups it leads to the leader the plan names ({@link ShardDirectory#plan}: each group's
 * first live voter that has less than its share). {@code POST /shards/{group}/move} moves one
 * replica of a group to another server (the new server's replica is created, added as a learner,
 * promoted once it has caught up, then the old one is removed and deleted), and {@code POST
 * /rebalance} hands every group to its planned leader now.
 *
 * <p>What this server holds is in {@code DATA_DIR/shards.json} ({@link ShardCatalog}); the groups'
 * data in {@code DATA_DIR/raft} (the shared log, metadata and snapshots).
 *
 * <p>Threads: the host's (event loops, appliers), the HTTP event loops, and one admin thread that
 * owns the catalog, the directory's updates, the balancer's state and every change to which groups
 * are held here ({@link #shards} is written only there, read anywhere). Thread-safe: {@link
 * #close()} may be called from any thread.
 */
final class ShardedKvServer implements AutoCloseable {

  private static final Logger LOG = LoggerFactory.getLogger(ShardedKvServer.class);

  /** The most groups a cluster may have ({@code --shards}). */
  static final int MAX_SHARDS = 4096;

  /** A group's id is this and its number: shard-0, shard-1, ... */
  static final String GROUP_PREFIX = "shard-";

  /** How often each server asks every other one for its groups' state. */
  static final Duration POLL_INTERVAL = Duration.ofSeconds(1);

  /**
   * A server that has not answered for this long is not live: no request is routed to it and the
   * plan gives it no group to lead.
   */
  static final Duration LIVE_WINDOW = POLL_INTERVAL.multipliedBy(3);

  /** The admin thread's queue bound: polls, balancer passes and replica changes. */
  private static final int ADMIN_QUEUE = 4096;

  /**
   * A group held here.
   *
   * @param index the group's number
   * @param node this server's replica
   * @param api the group's key-value API, as a single-group server has it
   */
  record Shard(int index, RaftNode node, KvApi api) {}

  private final ServerConfig config;
  private final List<String> servers;
  private final RaftHost host;
  private final PrometheusMeterRegistry registry;
  private final EventLoopGroup httpGroup;
  private final HttpForwarder forwarder;
  private final HttpForwarder poller;
  private final EventExecutor admin;
  private final ShardCatalog catalog;
  private final ShardDirectory directory;
  private final Map<Integer, Shard> shards = new ConcurrentHashMap<>();

  /** Admin thread: when the balancer last handed each group away. */
  private final Map<Integer, Long> lastHandOff = new HashMap<>();

  /** Admin thread: since when (as the balancer saw it) this server leads each group it leads. */
  private final Map<Integer, Long> ledSince = new HashMap<>();

  /** Admin thread: the polls under way, by server; each completes once its answer is taken in. */
  private final Map<String, CompletableFuture<Void>> polling = new HashMap<>();

  private final ShardedApi api;
  private volatile Runnable onFailure = () -> {};
  private volatile Channel httpChannel;
  private final AtomicBoolean closed = new AtomicBoolean();

  private ShardedKvServer(
      ServerConfig config, RaftHost host, ShardCatalog catalog, EventLoopGroup httpGroup) {
    this.config = config;
    this.servers = config.members().stream().map(Member::id).toList();
    this.host = host;
    this.catalog = catalog;
    this.httpGroup = httpGroup;
    this.registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    this.forwarder =
        new HttpForwarder(
            httpGroup, config.requestTimeout().plusSeconds(1), config.maxBodyBytes() + 65536);
    this.poller = new HttpForwarder(httpGroup, Duration.ofSeconds(2), 16 << 20);
    this.admin =
        new DefaultEventExecutor(
            null,
            new DefaultThreadFactory("flotilla-kv-shards", true),
            ADMIN_QUEUE,
            RejectedExecutionHandlers.reject());
    this.directory =
        new ShardDirectory(
            config.id(), servers, config.shards(), config.replicas(), LIVE_WINDOW.toNanos());
    this.api = new ShardedApi(this, forwarder);
  }

  /**
   * Starts a server: opens the shared storage and the catalog, starts the groups held here, the
   * HTTP API, the polls and the balancer.
   *
   * @param c the settings, with {@code shards() > 0}
   * @return the running server
   * @throws IOException if the data directory cannot be created
   * @throws org.flotilla.raft.spi.StorageException if the data directory is in use or damaged, or
   *     was made for another shape of cluster
   */
  static ShardedKvServer start(ServerConfig c) throws IOException {
    Files.createDirectories(c.dataDir());
    NettyTransport.Builder tb =
        NettyTransport.builder()
            .clusterId(c.clusterId())
            .bindAddress(ServerConfig.host(c.raftBind()), ServerConfig.port(c.raftBind()))
            // A replica moved here learns its group's leader from the leader's first message.
            .acceptNonMembers(true);
    if (c.tlsCert() != null) {
      tb.tls(c.tlsCert(), c.tlsKey(), c.tlsCa());
    }
    if (c.adminRequests()) {
      LOG.warn(
          "flotilla-kv {}: --admin-requests does not apply to a sharded server (the flotilla tool"
              + " operates one group per port); use the HTTP API: /status, /shards, /shards/{group}/...",
          c.id());
    }
    // The storage first: it locks the data directory, before the catalog in it is touched.
    FileHostStorage storage = FileHostStorage.open(c.dataDir().resolve("raft"));
    RaftHost host;
    try {
      host =
          RaftHost.builder()
              .id(c.id())
              .transport(tb.buildHost())
              .storage(storage)
              .options(KvServer.options(c))
              .build();
    } catch (RuntimeException e) {
      storage.close();
      throw e;
    }
    EventLoopGroup http =
        new MultiThreadIoEventLoopGroup(
            2, new DefaultThreadFactory("flotilla-kv-http", true), NioIoHandler.newFactory());
    ShardedKvServer server = null;
    try {
      List<String> servers = c.members().stream().map(Member::id).toList();
      ShardCatalog catalog =
          ShardCatalog.open(
              c.dataDir(),
              c.shards(),
              c.replicas(),
              servers,
              g -> ShardDirectory.placement(g, servers, c.replicas()).contains(c.id()));
      server = new ShardedKvServer(c, host, catalog, http);
      // Before the admin thread runs anything: the start owns the catalog until it returns.
      for (Map.Entry<Integer, ShardCatalog.State> e : new TreeMap<>(catalog.groups()).entrySet()) {
        server.open(e.getKey(), e.getValue());
      }
      server.httpChannel = KvServer.serveHttp(http, c, server.api::handle);
      server.schedule();
      LOG.info(
          "flotilla-kv {} serving HTTP on {}, Raft on {}: {} of {} groups ({} replicas each over"
              + " {})",
          c.id(),
          c.httpAddress(),
          c.raftBind(),
          server.shards.size(),
          c.shards(),
          c.replicas(),
          servers);
      return server;
    } catch (RuntimeException e) {
      if (server != null) {
        server.close();
      } else {
        host.close();
        var unused = http.shutdownGracefully(0, 1, TimeUnit.SECONDS);
      }
      if (e.getCause() instanceof IOException io) {
        throw new UncheckedIOException("cannot listen on " + c.httpAddress(), io);
      }
      throw e;
    }
  }

  /** Starts the polls and the balancer on the admin thread. */
  private void schedule() {
    var unused =
        admin.scheduleWithFixedDelay(
            () -> {
              var unusedAnswers = poll(); // taken in as they come
            },
            0,
            POLL_INTERVAL.toMillis(),
            TimeUnit.MILLISECONDS);
    long every = config.rebalanceInterval().toMillis();
    if (every > 0) {
      var unused2 =
          admin.scheduleWithFixedDelay(this::handOff, every, every, TimeUnit.MILLISECONDS);
    }
  }

  // ------------------------------------------------------------------ groups held here

  /**
   * Start or admin thread: opens a group's replica as the catalog records it, or finishes deleting
   * one that was being deleted.
   */
  private void open(int g, ShardCatalog.State state) {
    String gid = GROUP_PREFIX + g;
    KvStateMachine machine = new KvStateMachine(config.httpAddresses());
    RaftNode.Builder b =
        host.newGroup(gid)
            .stateMachine(machine)
            .metrics(new MicrometerRaftMetrics(registry))
            .listener(
                new RaftListener() {
                  @Override
                  public void onLeaderChange(String leaderId, long term) {
                    LOG.debug(
                        "{}: group {} sees leader {} in term {}", config.id(), g, leaderId, term);
                  }
                });
    if (state == ShardCatalog.State.BOOTSTRAP) {
      b.bootstrap(members(ShardDirectory.placement(g, servers, config.replicas())));
    } else {
      b.join();
    }
    RaftNode node = b.build();
    if (state == ShardCatalog.State.LEAVING) {
      // A deletion a crash interrupted: finish it.
      host.removeGroup(gid);
      catalog.remove(g);
      LOG.info("{}: group {} was being deleted here; deleted", config.id(), g);
      return;
    }
    node.start();
    KvServer.watchFailure(node, () -> onFailure.run());
    shards.put(g, new Shard(g, node, new KvApi(node, machine, forwarder, config.requestTimeout())));
  }

  private List<Member> members(List<String> ids) {
    List<Member> out = new ArrayList<>();
    for (String id : ids) {
      out.add(member(id));
    }
    return out;
  }

  /** The server's member: its id and Raft address from {@code --members}. */
  Member member(String id) {
    return config.members().stream().filter(m -> m.id().equals(id)).findFirst().orElseThrow();
  }

  /**
   * Creates a replica of a group here that the group's leader adds later ({@code PUT
   * /shards/{group}/replica}); nothing if one is held already.
   *
   * @return 200 with {@code {"group": g, "created": true|false}}
   */
  CompletableFuture<KvApi.Response> createReplica(int g) {
    return onAdmin(
        () -> {
          boolean created = !shards.containsKey(g);
          if (created) {
            catalog.put(g, ShardCatalog.State.JOINED);
            open(g, ShardCatalog.State.JOINED);
            LOG.info("{}: replica of group {} created, to be added by its leader", config.id(), g);
          }
          return KvApi.Response.json(200, KvApi.object().put("group", g).put("created", created));
        });
  }

  /**
   * Deletes this server's replica of a group ({@code DELETE /shards/{group}/replica}), after the
   * group's leader removed it; refused while it leads. Nothing if none is held.
   *
   * @return 200 with {@code {"group": g, "deleted": true|false}}, or 409 if it leads the group
   */
  CompletableFuture<KvApi.Response> deleteReplica(int g) {
    return onAdmin(
        () -> {
          Shard s = shards.get(g);
          if (s == null) {
            return KvApi.Response.json(200, KvApi.object().put("group", g).put("deleted", false));
          }
          if (s.node().status().role() == Role.LEADER) {
            return KvApi.Response.error(
                ErrorCode.IS_LEADER,
                config.id()
                    + " leads group "
                    + g
                    + ": move the replica (POST /shards/"
                    + g
                    + "/move), which hands the lead on first");
          }
          catalog.put(g, ShardCatalog.State.LEAVING);
          shards.remove(g);
          host.removeGroup(GROUP_PREFIX + g);
          catalog.remove(g);
          LOG.info("{}: replica of group {} deleted", config.id(), g);
          return KvApi.Response.json(200, KvApi.object().put("group", g).put("deleted", true));
        });
  }

  /** Runs work on the admin thread; the future fails if it throws or cannot be queued. */
  private <T> CompletableFuture<T> onAdmin(Callable<T> change) {
    CompletableFuture<T> out = new CompletableFuture<>();
    try {
      admin.execute(
          () -> {
            try {
              out.complete(change.call());
            } catch (Exception | Error e) {
              out.completeExceptionally(e);
            }
          });
    } catch (RuntimeException e) {
      out.completeExceptionally(e); // the queue is full, or the server is closing
    }
    return out;
  }

  /**
   * Returns the group held here, or null.
   *
   * @param g the group's number
   * @return the group
   */
  Shard shard(int g) {
    return shards.get(g);
  }

  ServerConfig config() {
    return config;
  }

  List<String> servers() {
    return servers;
  }

  ShardDirectory directory() {
    return directory;
  }

  PrometheusMeterRegistry registry() {
    return registry;
  }

  /** The server's HTTP address from {@code --members}. */
  String httpAddress(String server) {
    return config.httpAddresses().get(server);
  }

  // ------------------------------------------------------------------ moving a replica

  /**
   * Moves a group's replica from one server to another; runs on the group's leader, {@code s}. Each
   * step is skipped if already done, so a retry after a time-out goes on where it stopped: create
   * the replica on {@code to}, add it (as a learner that is promoted once it has caught up), wait
   * until it votes, then remove {@code from} and delete its replica. If {@code from} is this
   * leader, it hands the lead to {@code to} first and passes the request on to it.
   *
   * @param s the group, led here
   * @param from the server losing the replica
   * @param to the server gaining it
   * @param r the request, passed on if the lead moves
   * @return the answer: 200 with the group's voters, or the failure of the step that failed
   */
  CompletableFuture<KvApi.Response> move(Shard s, String from, String to, KvApi.Request r) {
    RaftNode node = s.node();
    Configuration c = node.status().configuration();
    if (!c.contains(from) && c.isVoter(to)) {
      return CompletableFuture.completedFuture(moved(s, from, to, false));
    }
    if (!c.contains(from)) {
      throw new KvApi.ApiException(
          ErrorCode.UNKNOWN_MEMBER, from + " holds no replica of group " + s.index());
    }
    // The whole move answers within the request timeout, before the forwarders that brought the
    // request here give up on it (theirs is a second longer): a 504 then says it may go on, and
    // the same request retried continues it.
    long deadline = System.nanoTime() + config.requestTimeout().toNanos();
    CompletableFuture<?> added =
        c.isVoter(to)
            ? CompletableFuture.completedFuture(null)
            : remote(to, "PUT", "/shards/" + s.index() + "/replica", "create the replica")
                .thenCompose(
                    x ->
                        c.contains(to)
                            ? CompletableFuture.completedFuture(null)
                            : node.addMember(member(to)))
                .thenCompose(x -> awaitVoter(node, to, deadline));
    CompletableFuture<KvApi.Response> out =
        added.thenCompose(
            x -> {
              if (from.equals(config.id())) {
                // The leader cannot remove itself here and go on: the new leader finishes.
                return node.transferLeadership(to)
                    .thenCompose(y -> forwarder.forward(httpAddress(to), r));
              }
              return node.removeMember(from)
                  .thenCompose(
                      y ->
                          remote(
                                  from,
                                  "DELETE",
                                  "/shards/" + s.index() + "/replica",
                                  "delete the replica")
                              .handle(
                                  (v, e) -> {
                                    if (e != null) {
                                      LOG.warn(
                                          "{}: group {}: {} was removed but its replica was not"
                                              + " deleted ({}); DELETE /shards/{}/replica on it",
                                          config.id(),
                                          s.index(),
                                          from,
                                          KvApi.describe(KvApi.unwrap(e)),
                                          s.index());
                                    }
                                    return e == null;
                                  }))
                  .thenApply(deleted -> moved(s, from, to, deleted));
            });
    return out.orTimeout(config.requestTimeout().toMillis(), TimeUnit.MILLISECONDS)
        .exceptionally(e -> s.api().failure(KvApi.unwrap(e)));
  }

  private KvApi.Response moved(Shard s, String from, String to, boolean deleted) {
    ObjectNode b = KvApi.object().put("group", s.index()).put("from", from).put("to", to);
    ArrayNode voters = b.putArray("voters");
    s.node().status().configuration().voters().forEach(m -> voters.add(m.id()));
    b.put("fromReplicaDeleted", deleted);
    return KvApi.Response.json(200, b);
  }

  /** Sends a request to another server's own endpoint; fails unless it answers 200. */
  private CompletableFuture<KvApi.Response> remote(
      String server, String method, String path, String what) {
    return forwarder
        .route(
            httpAddress(server),
            new KvApi.Request(method, path, null, null, false, true, new byte[0]))
        .thenApply(
            resp -> {
              if (resp.status() != 200) {
                throw new KvApi.ApiException(
                    ErrorCode.REJECTED,
                    "cannot "
                        + what
                        + " on "
                        + server
                        + ": "
                        + resp.status()
                        + " "
                        + resp.bodyText().trim());
              }
              return resp;
            });
  }

  /**
   * Completes when {@code id} is a voter of the leader's configuration, not joint; fails at the
   * deadline.
   */
  private CompletableFuture<Void> awaitVoter(RaftNode node, String id, long deadline) {
    CompletableFuture<Void> out = new CompletableFuture<>();
    Runnable check =
        new Runnable() {
          @Override
          public void run() {
            Configuration c = node.status().configuration();
            if (c.isVoter(id) && !c.isJoint()) {
              out.complete(null);
            } else if (System.nanoTime() > deadline) {
              out.completeExceptionally(
                  new TimeoutException(id + " was added but has not become a voter yet"));
            } else {
              var unused = admin.schedule(this, 50, TimeUnit.MILLISECONDS);
            }
          }
        };
    admin.execute(check);
    return out;
  }

  // ------------------------------------------------------------------ directory and balancer

  /**
   * Admin thread: reports the groups held here and asks every other server for its own; the future
   * completes once every server's answer was taken in (or did not come: the poller's time-out is 2
   * s). A server whose previous poll is still under way is not asked again; its answer is waited
   * for.
   */
  private CompletableFuture<Void> poll() {
    long now = System.nanoTime();
    for (Shard s : shards.values()) {
      NodeStatus st = s.node().status();
      directory.report(s.index(), entry(st));
    }
    directory.heard(config.id(), now);
    List<CompletableFuture<Void>> answers = new ArrayList<>();
    for (String server : servers) {
      if (server.equals(config.id())) {
        continue;
      }
      CompletableFuture<Void> underWay = polling.get(server);
      if (underWay != null) {
        answers.add(underWay);
        continue;
      }
      CompletableFuture<Void> taken = new CompletableFuture<>();
      polling.put(server, taken);
      answers.add(taken);
      // The poller's futures never fail: an unreachable server is a 503 answer.
      var unused =
          poller
              .route(
                  httpAddress(server),
                  new KvApi.Request("GET", "/status", null, null, false, true, new byte[0]))
              .whenComplete(
                  (resp, e) -> {
                    try {
                      admin.execute(
                          () -> {
                            polling.remove(server);
                            absorb(server, resp);
                            taken.complete(null);
                          });
                    } catch (RuntimeException rejected) {
                      LOG.debug(
                          "{}: poll answer from {} dropped (closing or queue full): {}",
                          config.id(),
                          server,
                          rejected.toString());
                      taken.complete(null);
                    }
                  });
    }
    return CompletableFuture.allOf(answers.toArray(CompletableFuture[]::new));
  }

  private static ShardDirectory.Entry entry(NodeStatus st) {
    Configuration c = st.configuration();
    return new ShardDirectory.Entry(
        c.voters().stream().map(Member::id).toList(),
        c.learners().stream().map(Member::id).toList(),
        st.leader().orElse(null),
        st.term(),
        st.role() == Role.LEADER);
  }

  /**
   * Admin thread: takes in another server's {@code GET /status} answer (null if none came); a
   * server that did not answer is not live until it does.
   */
  private void absorb(String server, KvApi.Response resp) {
    if (resp == null || resp.status() != 200) {
      directory.lost(server);
      return;
    }
    try {
      JsonNode json = KvApi.JSON.readTree(resp.body());
      for (JsonNode g : json.required("groups")) {
        int index = g.required("group").intValue();
        if (index < 0 || index >= config.shards()) {
          continue;
        }
        List<String> voters = new ArrayList<>();
        g.required("voters").forEach(v -> voters.add(v.textValue()));
        List<String> learners = new ArrayList<>();
        g.required("learners").forEach(v -> learners.add(v.textValue()));
        JsonNode leader = g.get("leader");
        directory.report(
            index,
            new ShardDirectory.Entry(
                voters,
                learners,
                leader == null || leader.isNull() ? null : leader.textValue(),
                g.required("term").longValue(),
                "LEADER".equals(g.required("role").textValue())));
      }
      directory.heard(server, System.nanoTime());
    } catch (IOException | IllegalArgumentException e) {
      LOG.warn("{}: cannot read the status of {}: {}", config.id(), server, e.getMessage());
    }
  }

  /**
   * Admin thread: hands each group led here whose planned leader is another live voter to it. Not a
   * group this server has led for less than three balancer intervals, nor one whose membership is
   * changing (learners, or a joint configuration): a move hands the lead to the new replica and
   * goes on there, and must not have it taken away in between. At most once per three intervals per
   * group, so that a transfer that fails is not retried in a loop and one the plan undoes at once
   * does not flap.
   */
  private void handOff() {
    long now = System.nanoTime();
    Map<Integer, String> plan = directory.plan(now);
    long quiet = config.rebalanceInterval().toNanos() * 3;
    for (Shard s : shards.values()) {
      NodeStatus st = s.node().status();
      if (st.role() != Role.LEADER) {
        ledSince.remove(s.index());
        continue;
      }
      long since = ledSince.computeIfAbsent(s.index(), g -> now);
      String to = plan.get(s.index());
      Configuration c = st.configuration();
      if (to == null
          || to.equals(config.id())
          || !c.isVoter(to)
          || c.isJoint()
          || !c.learners().isEmpty()
          || now - since < quiet) {
        continue;
      }
      Long last = lastHandOff.get(s.index());
      if (last != null && now - last < quiet) {
        continue;
      }
      lastHandOff.put(s.index(), now);
      LOG.info("{}: handing group {} to {}, its planned leader", config.id(), s.index(), to);
      var unused =
          s.node()
              .transferLeadership(to)
              .whenComplete(
                  (v, e) -> {
                    if (e != null) {
                      LOG.info(
                          "{}: group {} stays here: {}",
                          config.id(),
                          s.index(),
                          KvApi.describe(KvApi.unwrap(e)));
                    }
                  });
    }
  }

  /**
   * Hands every group to its planned leader now ({@code POST /rebalance}): polls every server,
   * plans, and sends each group whose leader is not the planned one a transfer, routed to its
   * leader.
   *
   * @return 200 with the plan's leader counts and each transfer's answer
   */
  CompletableFuture<KvApi.Response> rebalance() {
    CompletableFuture<Map<Integer, String>> planned =
        CompletableFuture.completedFuture(null)
            .thenComposeAsync(x -> poll(), admin)
            .thenApplyAsync(x -> directory.plan(System.nanoTime()), admin);
    return planned.thenCompose(
        plan -> {
          List<CompletableFuture<ObjectNode>> transfers = new ArrayList<>();
          Map<String, Integer> counts = new TreeMap<>();
          for (Map.Entry<Integer, String> e : plan.entrySet()) {
            int g = e.getKey();
            String to = e.getValue();
            counts.merge(to, 1, Integer::sum);
            ShardDirectory.Entry known = directory.entry(g);
            if (known.leader() != null && known.leader().equals(to)) {
              continue;
            }
            KvApi.Request t =
                new KvApi.Request(
                    "POST",
                    "/shards/" + g + "/leader/transfer?to=" + to,
                    null,
                    null,
                    false,
                    false,
                    new byte[0]);
            transfers.add(
                api.handle(t)
                    .thenApply(
                        resp ->
                            KvApi.object()
                                .put("group", g)
                                .put("from", known.leader())
                                .put("to", to)
                                .put("status", resp.status())));
          }
          return CompletableFuture.allOf(transfers.toArray(CompletableFuture[]::new))
              .thenApply(
                  x -> {
                    ObjectNode b = KvApi.object();
                    ObjectNode leaders = b.putObject("planned");
                    counts.forEach(leaders::put);
                    ArrayNode done = b.putArray("transfers");
                    transfers.forEach(f -> done.add(f.join()));
                    return KvApi.Response.json(200, b);
                  });
        });
  }

  // ------------------------------------------------------------------ status

  /** {@code GET /status}: this server and each group it holds. */
  KvApi.Response status() {
    ObjectNode b = KvApi.object();
    b.put("id", config.id());
    b.put("shards", config.shards());
    b.put("replicas", config.replicas());
    int leading = 0;
    ArrayNode groups = b.putArray("groups");
    for (Shard s : new TreeMap<>(shards).values()) {
      NodeStatus st = s.node().status();
      if (st.role() == Role.LEADER) {
        leading++;
      }
      ObjectNode g = groups.addObject();
      g.put("group", s.index());
      g.put("role", st.role().name());
      g.put("term", st.term());
      g.put("leader", st.leader().orElse(null));
      g.put("commitIndex", st.commitIndex());
      g.put("appliedIndex", st.appliedIndex());
      ArrayNode voters = g.putArray("voters");
      st.configuration().voters().forEach(m -> voters.add(m.id()));
      ArrayNode learners = g.putArray("learners");
      st.configuration().learners().forEach(m -> learners.add(m.id()));
      st.failure().ifPresent(f -> g.put("failure", f.reason()));
    }
    b.put("leading", leading);
    b.put("quiesced", host.quiescedGroups());
    ArrayNode down = b.putArray("downServers");
    host.downHosts().forEach(down::add);
    return KvApi.Response.json(200, b).withHeader("Access-Control-Allow-Origin", "*");
  }

  /** {@code GET /health}: 200 if every group held here is running and knows a leader. */
  KvApi.Response health() {
    List<Integer> failed = new ArrayList<>();
    List<Integer> leaderless = new ArrayList<>();
    for (Shard s : new TreeMap<>(shards).values()) {
      NodeStatus st = s.node().status();
      if (st.failure().isPresent() || !s.node().isRunning()) {
        failed.add(s.index());
      } else if (st.leader().isEmpty()) {
        leaderless.add(s.index());
      }
    }
    if (!failed.isEmpty()) {
      return KvApi.Response.error(
          503, ErrorCode.NODE_FAILED, "groups " + failed + " are not running", "not-applied");
    }
    if (!leaderless.isEmpty()) {
      return KvApi.Response.error(
          503, ErrorCode.NO_LEADER, "groups " + leaderless + " know no leader", "not-applied");
    }
    return KvApi.Response.json(
        200, KvApi.object().put("status", "ok").put("groups", shards.size()));
  }

  /** {@code GET /shards}: every group as this server knows it, and the leader plan. */
  KvApi.Response directoryView() {
    long now = System.nanoTime();
    Map<Integer, String> plan = directory.plan(now);
    ObjectNode b = KvApi.object();
    b.put("shards", config.shards());
    ArrayNode live = b.putArray("liveServers");
    servers.stream().filter(s -> directory.live(s, now)).forEach(live::add);
    ArrayNode groups = b.putArray("groups");
    for (int g = 0; g < config.shards(); g++) {
      ShardDirectory.Entry e = directory.entry(g);
      ObjectNode o = groups.addObject();
      o.put("group", g);
      ArrayNode voters = o.putArray("voters");
      ArrayNode learners = o.putArray("learners");
      if (e != null) {
        e.voters().forEach(voters::add);
        e.learners().forEach(learners::add);
      }
      o.put("leader", e == null ? null : e.leader());
      o.put("term", e == null ? 0 : e.term());
      o.put("plannedLeader", plan.get(g));
    }
    return KvApi.Response.json(200, b);
  }

  /**
   * Makes the process exit (or stay up, as configured) when a group held here stops on a fatal
   * error; see {@link KvServer#failureHandler}.
   *
   * @param handler the handler
   */
  void exitOnFailure(Runnable handler) {
    onFailure = handler;
    for (Shard s : shards.values()) {
      if (s.node().status().role() == Role.FAILED) {
        handler.run();
      }
    }
  }

  /**
   * Returns the address the HTTP API listens on.
   *
   * @return the address
   */
  InetSocketAddress httpAddress() {
    return (InetSocketAddress) httpChannel.localAddress();
  }

  /** Stops the HTTP API, the admin thread, then every group (their log made durable). */
  @Override
  public void close() {
    if (!closed.compareAndSet(false, true)) {
      return;
    }
    Channel ch = httpChannel;
    if (ch != null) {
      ch.close().syncUninterruptibly();
    }
    admin.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
    host.close();
    httpGroup.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly();
  }
}
