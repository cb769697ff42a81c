package org.flotilla.raft.examples;

import java.io.IOException;
import java.net.ConnectException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.flotilla.raft.sim.CasRegisterModel;
import org.flotilla.raft.sim.History;
import org.flotilla.raft.sim.LinearizabilityChecker;

/**
 * A chaos run on real processes: N key-value servers on loopback, a {@link FaultProxy} in front of
 * each node's Raft port (faults per directed pair of members), a nemesis that partitions, delays,
 * resets, SIGKILLs, SIGSTOPs and changes the membership, and clients that put, get and cas a few
 * keys through different nodes, recording a {@link History}. At the end the faults heal, the
 * cluster must serve again, every key is read through every node, and the history is checked with
 * {@link LinearizabilityChecker} and {@link CasRegisterModel}.
 *
 * <p>Not thread-safe: {@link #run} runs the nemesis on the calling thread and owns the client
 * threads it starts.
 */
final class ChaosRun implements AutoCloseable {

  static final Duration ELECTION_TIMEOUT = Duration.ofMillis(500);

  /**
   * The clients' read consistency: linearizable unless {@code -Dflotilla.chaos.reads} says
   * otherwise ({@code stale} shows that the checker catches stale reads).
   */
  private static final String READS = System.getProperty("flotilla.chaos.reads", "linearizable");

  /**
   * What a run found.
   *
   * @param operations operations recorded
   * @param ok operations with a known outcome
   * @param faults faults injected
   * @param recoveryMillis after each heal, how long until a write succeeded
   * @param finalRecoveryMillis after the final heal, how long until a write succeeded
   * @param check the linearizability verdict
   */
  record Report(
      int operations,
      int ok,
      int faults,
      List<Long> recoveryMillis,
      long finalRecoveryMillis,
      LinearizabilityChecker.Result check) {}

  private final int nodes;
  private final int shards;
  private final Duration duration;
  private final long seed;
  private final int clients;
  private final int keys;
  private final Path dir;
  private final Random random;
  private final List<String> ids = new ArrayList<>();
  private final String spare;
  private final Map<String, Integer> httpPort = new LinkedHashMap<>();
  private final Map<String, Integer> proxyPort = new LinkedHashMap<>();
  private final Map<String, FaultProxy> proxies = new LinkedHashMap<>();
  private final Map<String, ServerProcess> servers = new LinkedHashMap<>();
  private final HttpTestClient http = new HttpTestClient(Duration.ofSeconds(6));
  private final HttpTestClient quick = new HttpTestClient(Duration.ofMillis(500));
  private final History history = new History(2_000_000, System::nanoTime);
  // at most one operation per client every 12 ms: about 330 a second with four clients
  private static final long CLIENT_PACE_NANOS = TimeUnit.MILLISECONDS.toNanos(12);
  private final List<String> schedule = new CopyOnWriteArrayList<>();
  private final long t0 = System.nanoTime();
  private boolean spareIsMember;

  ChaosRun(int nodes, Duration duration, long seed, int clients, int keys, Path dir)
      throws IOException {
    this(nodes, 0, duration, seed, clients, keys, dir);
  }

  /**
   * A run on a sharded cluster if {@code shards > 0}: the servers run {@code --shards}, with three
   * replicas per group; instead of a spare member joining and leaving, the nemesis moves a random
   * group's replica between servers, and its SIGKILL takes the server that leads the most groups.
   */
  ChaosRun(int nodes, int shards, Duration duration, long seed, int clients, int keys, Path dir)
      throws IOException {
    this.nodes = nodes;
    this.shards = shards;
    this.duration = duration;
    this.seed = seed;
    this.clients = clients;
    this.keys = keys;
    this.dir = Files.createDirectories(dir);
    this.random = new Random(seed);
    for (int i = 1; i <= nodes; i++) {
      ids.add("n" + i);
    }
    spare = "n" + (nodes + 1);
    List<String> all = new ArrayList<>(ids);
    if (shards == 0) {
      all.add(spare);
    }
    List<Integer> ports = HttpTestClient.freePorts(3 * all.size());
    Map<String, Integer> bind = new LinkedHashMap<>();
    for (int i = 0; i < all.size(); i++) {
      String id = all.get(i);
      bind.put(id, ports.get(3 * i));
      proxyPort.put(id, ports.get(3 * i + 1));
      httpPort.put(id, ports.get(3 * i + 2));
      proxies.put(id, new FaultProxy(id, all, proxyPort.get(id), bind.get(id)));
    }
    List<String> parts = new ArrayList<>();
    for (String id : ids) {
      parts.add(id + "=" + raftAddress(id) + "@127.0.0.1:" + httpPort.get(id));
    }
    String members = String.join(",", parts);
    for (String id : all) {
      List<String> args =
          new ArrayList<>(
              List.of(
                  "--id",
                  id,
                  "--data-dir",
                  dir.resolve(id).toString(),
                  "--members",
                  members,
                  "--raft-bind",
                  "127.0.0.1:" + bind.get(id),
                  "--cluster-id",
                  "chaos",
                  "--election-timeout-ms",
                  Long.toString(ELECTION_TIMEOUT.toMillis()),
                  "--heartbeat-ms",
                  "50",
                  "--snapshot-threshold",
                  "2000",
                  "--request-timeout-ms",
                  "3000"));
      if (shards > 0) {
        args.addAll(
            List.of(
                "--shards",
                Integer.toString(shards),
                "--replicas",
                "3",
                "--rebalance-interval-ms",
                "2000"));
      }
      if (id.equals(spare)) {
        args.addAll(
            List.of(
                "--join",
                "--raft-address",
                raftAddress(id),
                "--http-address",
                "127.0.0.1:" + httpPort.get(id)));
      }
      servers.put(id, new ServerProcess(id, args, dir.resolve(id + ".log")));
    }
  }

  private String raftAddress(String id) {
    return "127.0.0.1:" + proxyPort.get(id);
  }

  private String url(String id) {
    return "http://127.0.0.1:" + httpPort.get(id);
  }

  private void log(String event) {
    String line = String.format("t=%6.1fs %s", (System.nanoTime() - t0) / 1e9, event);
    schedule.add(line);
    System.out.println("[chaos seed=" + seed + "] " + line);
  }

  List<String> schedule() {
    return schedule;
  }

  Report run() throws Exception {
    log(
        "start "
            + nodes
            + " nodes "
            + ids
            + (shards > 0 ? ", " + shards + " groups" : ", spare " + spare)
            + ", seed "
            + seed);
    for (String id : ids) {
      servers.get(id).start();
    }
    long firstWrite = awaitWrite(Duration.ofSeconds(60));
    log("cluster serves after " + firstWrite + " ms");

    AtomicBoolean stop = new AtomicBoolean();
    List<Thread> threads = new ArrayList<>();
    AtomicInteger errors = new AtomicInteger();
    for (int c = 0; c < clients; c++) {
      int client = c;
      Thread t = new Thread(() -> clientLoop(client, stop, errors), "chaos-client-" + c);
      t.setDaemon(true);
      t.start();
      threads.add(t);
    }

    List<Long> recoveries = new ArrayList<>();
    int faults = 0;
    long end = System.nanoTime() + duration.toNanos();
    while (System.nanoTime() < end) {
      faults += injectOne();
      sleep(1000 + random.nextInt(3000));
      log("before heal: " + roles());
      healAll();
      long r = awaitWrite(Duration.ofSeconds(30));
      recoveries.add(r);
      log("healed; a write succeeded after " + r + " ms");
      sleep(500 + random.nextInt(1500));
    }
    healAll();
    long finalRecovery = awaitWrite(Duration.ofSeconds(30));
    log("final heal; a write succeeded after " + finalRecovery + " ms");
    stop.set(true);
    for (Thread t : threads) {
      t.join(TimeUnit.SECONDS.toMillis(30));
    }
    // Every acknowledged write must be readable: read every key through every node, into the
    // history, so the checker sees these reads after everything else.
    List<String> readers = new ArrayList<>(ids);
    if (spareIsMember) {
      readers.add(spare);
    }
    for (int k = 0; k < keys; k++) {
      for (String id : readers) {
        get(1000, id, "k" + k);
      }
    }
    int total = history.size();
    int ok =
        (int)
            history.operations().stream()
                .filter(o -> o.outcome() == org.flotilla.raft.sim.Operation.Outcome.OK)
                .count();
    log(
        "ops "
            + total
            + " ("
            + ok
            + " ok), client errors "
            + errors.get()
            + ", faults "
            + faults
            + "; checking");
    LinearizabilityChecker.Result check =
        LinearizabilityChecker.check(history, new CasRegisterModel(), Duration.ofMinutes(2));
    log("verdict " + check.verdict());
    return new Report(total, ok, faults, recoveries, finalRecovery, check);
  }

  // ------------------------------------------------------------------ nemesis

  private List<String> pickDistinct(int n) {
    List<String> copy = new ArrayList<>(ids);
    Collections.shuffle(copy, random);
    return copy.subList(0, n);
  }

  /** Injects one fault; returns how many faults it counted. */
  private int injectOne() throws Exception {
    int kind = random.nextInt(9);
    switch (kind) {
      case 0 -> {
        List<String> p = pickDistinct(2);
        cutLink(p.get(0), p.get(1));
        cutLink(p.get(1), p.get(0));
        log("partition " + p.get(0) + " <-> " + p.get(1));
      }
      case 1 -> {
        List<String> p = pickDistinct(2);
        cutLink(p.get(0), p.get(1));
        log("one-way partition " + p.get(0) + " -> " + p.get(1));
      }
      case 2 -> {
        String x = pickDistinct(1).get(0);
        for (String o : allMembers()) {
          if (!o.equals(x)) {
            cutLink(x, o);
            cutLink(o, x);
          }
        }
        log("isolate " + x);
      }
      case 3 -> {
        // Bridge: two halves that cannot talk, and one node that talks to both.
        List<String> p = new ArrayList<>(ids);
        Collections.shuffle(p, random);
        String bridge = p.get(0);
        List<String> rest = p.subList(1, p.size());
        List<String> a = rest.subList(0, rest.size() / 2);
        List<String> b = rest.subList(rest.size() / 2, rest.size());
        for (String x : a) {
          for (String y : b) {
            cutLink(x, y);
            cutLink(y, x);
          }
        }
        log("bridge " + a + " | " + bridge + " | " + b);
      }
      case 4 -> {
        String x = pickDistinct(1).get(0);
        long ms = 20L + random.nextInt(200);
        for (String o : allMembers()) {
          if (!o.equals(x)) {
            proxies.get(x).delay(o, ms);
            proxies.get(o).delay(x, ms);
          }
        }
        log("delay links of " + x + " by " + ms + " ms");
      }
      case 5 -> {
        double p = 0.01 + random.nextDouble() * 0.05;
        for (String x : ids) {
          for (String y : ids) {
            if (!x.equals(y) && random.nextBoolean()) {
              proxies.get(y).lossy(x, p);
            }
          }
        }
        log(String.format("lossy links (connection resets, p=%.3f per chunk)", p));
      }
      case 6 -> {
        String x = shards > 0 ? busiest() : pickDistinct(1).get(0);
        servers.get(x).kill();
        log("SIGKILL " + x + (shards > 0 ? " (it led the most groups)" : ""));
      }
      case 7 -> {
        String x = pickDistinct(1).get(0);
        servers.get(x).pause();
        log("SIGSTOP " + x);
      }
      default -> {
        // A membership change while the network is faulty.
        List<String> p = pickDistinct(2);
        cutLink(p.get(0), p.get(1));
        log("one-way partition " + p.get(0) + " -> " + p.get(1) + " during a membership change");
        if (shards > 0) {
          moveReplica();
        } else {
          changeMembership();
        }
        return 2;
      }
    }
    return 1;
  }

  private List<String> allMembers() {
    List<String> all = new ArrayList<>(ids);
    if (spareIsMember) {
      all.add(spare);
    }
    return all;
  }

  private void cutLink(String from, String to) {
    proxies.get(to).cut(from);
  }

  private void changeMembership() throws Exception {
    String via = pickDistinct(1).get(0);
    if (!spareIsMember) {
      Path data = dir.resolve(spare);
      deleteTree(data);
      servers.get(spare).start();
      HttpTestClient.Reply r =
          tryHttp(
              "POST",
              url(via) + "/members",
              "{\"id\":\""
                  + spare
                  + "\",\"raftAddress\":\""
                  + raftAddress(spare)
                  + "\",\"httpAddress\":\"127.0.0.1:"
                  + httpPort.get(spare)
                  + "\",\"role\":\"voter\"}");
      log("add " + spare + " as voter via " + via + ": " + describe(r));
      // Counted as a member whatever the answer: an unknown outcome may still take effect.
      spareIsMember = true;
    } else {
      HttpTestClient.Reply r = tryHttp("DELETE", url(via) + "/members/" + spare, null);
      log("remove " + spare + " via " + via + ": " + describe(r));
      if (r != null && (r.status() == 200 || r.body().contains("is not a member"))) {
        servers.get(spare).kill();
        spareIsMember = false;
      }
    }
  }

  /** Sharded: the server that reports leading the most groups (the first one if none answers). */
  private String busiest() throws InterruptedException {
    String best = ids.get(0);
    int most = -1;
    for (String id : ids) {
      try {
        HttpTestClient.Reply r = quick.send("GET", url(id) + "/status", null);
        int leading =
            r.status() == 200 ? KvApi.JSON.readTree(r.body()).path("leading").asInt() : -1;
        if (leading > most) {
          most = leading;
          best = id;
        }
      } catch (IOException e) {
        // down or paused: not the busiest
      }
    }
    return best;
  }

  /**
   * Sharded: moves a random group's replica from one of its voters to a server that holds none,
   * through a random server; logs the answer, whatever it is (a move that times out may finish
   * later, or be left half done: the group then has four voters, which is safe).
   */
  private void moveReplica() throws InterruptedException {
    String via = pickDistinct(1).get(0);
    int g = random.nextInt(shards);
    HttpTestClient.Reply st = tryHttp("GET", url(via) + "/shards", null);
    if (st == null || st.status() != 200) {
      log("move: no directory from " + via + ": " + describe(st));
      return;
    }
    List<String> voters = new ArrayList<>();
    try {
      KvApi.JSON
          .readTree(st.body())
          .path("groups")
          .path(g)
          .path("voters")
          .forEach(v -> voters.add(v.textValue()));
    } catch (IOException e) {
      throw new AssertionError("GET /shards answered malformed JSON: " + st.body(), e);
    }
    List<String> others = new ArrayList<>(ids);
    others.removeAll(voters);
    if (voters.isEmpty() || others.isEmpty()) {
      log("move: group " + g + " has voters " + voters + "; nothing to move");
      return;
    }
    String from = voters.get(random.nextInt(voters.size()));
    String to = others.get(random.nextInt(others.size()));
    HttpTestClient.Reply r =
        tryHttp("POST", url(via) + "/shards/" + g + "/move?from=" + from + "&to=" + to, null);
    log("move group " + g + " from " + from + " to " + to + " via " + via + ": " + describe(r));
  }

  /** Each member's role, term and leader as it reports them, for the schedule. */
  private String roles() throws InterruptedException {
    StringBuilder b = new StringBuilder();
    for (String id : allMembers()) {
      String role;
      try {
        String st = quick.send("GET", url(id) + "/status", null).body();
        role =
            shards > 0
                ? "leads " + field(st, "leading")
                : field(st, "role") + "/t" + field(st, "term") + "/leader=" + field(st, "leader");
      } catch (IOException e) {
        role = servers.get(id).paused() ? "paused" : "down";
      }
      b.append(id).append('=').append(role).append(' ');
    }
    return b.toString().trim();
  }

  private static String field(String json, String name) {
    int i = json.indexOf("\"" + name + "\":");
    if (i < 0) {
      return "?";
    }
    int start = i + name.length() + 3;
    int end = start;
    while (end < json.length() && ",}".indexOf(json.charAt(end)) < 0) {
      end++;
    }
    return json.substring(start, end).replace("\"", "");
  }

  private static String describe(HttpTestClient.Reply r) {
    return r == null ? "no answer" : r.status() + " " + r.body().trim();
  }

  private HttpTestClient.Reply tryHttp(String method, String url, String body)
      throws InterruptedException {
    try {
      return http.send(method, url, body);
    } catch (IOException e) {
      return null;
    }
  }

  private void healAll() throws IOException, InterruptedException {
    for (FaultProxy p : proxies.values()) {
      p.heal();
    }
    for (String id : ids) {
      ServerProcess s = servers.get(id);
      if (s.paused()) {
        s.resume();
        log("SIGCONT " + id);
      } else if (!s.isAlive()) {
        s.start();
        log("restart " + id);
      }
    }
    if (spareIsMember && !servers.get(spare).isAlive()) {
      servers.get(spare).start();
      log("restart " + spare);
    }
  }

  /** Waits until a write through some node succeeds; returns how long it took. */
  private long awaitWrite(Duration limit) throws InterruptedException {
    long start = System.nanoTime();
    long deadline = start + limit.toNanos();
    int i = 0;
    while (System.nanoTime() < deadline) {
      String id = ids.get(i++ % ids.size());
      try {
        HttpTestClient.Reply r = http.send("PUT", url(id) + "/kv/probe", "p");
        if (r.status() == 200) {
          return TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
        }
      } catch (IOException e) {
        // not serving yet
      }
      sleep(50);
    }
    throw new AssertionError("no write succeeded within " + limit + " (seed " + seed + ")");
  }

  private static void sleep(long ms) throws InterruptedException {
    Thread.sleep(ms);
  }

  // ------------------------------------------------------------------ clients

  private void clientLoop(int client, AtomicBoolean stop, AtomicInteger errors) {
    Random r = new Random(seed * 31 + client);
    Map<String, String> lastSeen = new LinkedHashMap<>();
    int counter = 0;
    long next = System.nanoTime();
    while (!stop.get()) {
      // Paced, so that the history the checker must search stays bounded however fast the
      // machine is: a 10-minute run on a quiet machine once recorded 580,000 operations, whose
      // check ran out of a 2 GiB heap.
      long ahead = next - System.nanoTime();
      if (ahead > 0) {
        try {
          TimeUnit.NANOSECONDS.sleep(ahead);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          return;
        }
      }
      next = Math.max(next, System.nanoTime() - CLIENT_PACE_NANOS) + CLIENT_PACE_NANOS;
      String key = "k" + r.nextInt(keys);
      String node = ids.get(r.nextInt(ids.size()));
      int op = r.nextInt(10);
      try {
        if (op < 4) {
          String v = get(client, node, key);
          if (v != null) {
            lastSeen.put(key, v);
          }
        } else if (op < 7) {
          String v = "c" + client + "-" + ++counter;
          put(client, node, key, v);
          lastSeen.put(key, v);
        } else {
          String v = "c" + client + "-" + ++counter;
          String expect = r.nextInt(5) == 0 ? null : lastSeen.get(key);
          cas(client, node, key, expect, v);
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      } catch (RuntimeException e) {
        errors.incrementAndGet();
        System.out.println("[chaos] client " + client + " error: " + e);
      }
    }
  }

  private String get(int client, String node, String key) throws InterruptedException {
    History.Handle h = history.invoke(client, key, CasRegisterModel.GET, null);
    try {
      HttpTestClient.Reply r =
          http.send("GET", url(node) + "/kv/" + key + "?consistency=" + READS, null);
      switch (r.status()) {
        case 200 -> {
          history.ok(h, r.body());
          return r.body();
        }
        case 404 -> history.ok(h, null);
        default -> history.fail(h); // a read that failed changed nothing
      }
    } catch (IOException e) {
      history.fail(h);
    }
    return null;
  }

  private void put(int client, String node, String key, String value) throws InterruptedException {
    History.Handle h = history.invoke(client, key, CasRegisterModel.PUT, value);
    try {
      HttpTestClient.Reply r = http.send("PUT", url(node) + "/kv/" + key, value);
      outcome(h, r, r.status() == 200, null);
    } catch (IOException e) {
      ioOutcome(h, e);
    }
  }

  private void cas(int client, String node, String key, String expect, String value)
      throws InterruptedException {
    History.Handle h =
        history.invoke(client, key, CasRegisterModel.CAS, new CasRegisterModel.Cas(expect, value));
    try {
      HttpTestClient.Reply r =
          http.send(
              "POST",
              url(node) + "/kv/" + key + "?cas",
              KvApi.object().put("expect", expect).put("value", value).toString());
      if (r.status() == 409) {
        history.ok(h, false);
      } else {
        outcome(h, r, r.status() == 200, true);
      }
    } catch (IOException e) {
      ioOutcome(h, e);
    }
  }

  private void outcome(History.Handle h, HttpTestClient.Reply r, boolean ok, Object output) {
    if (ok) {
      history.ok(h, output);
    } else if (r.status() == 503) {
      history.fail(h); // nothing was proposed
    } else {
      history.unknown(h); // 504, or anything unexpected
    }
  }

  private void ioOutcome(History.Handle h, IOException e) {
    if (e instanceof ConnectException) {
      history.fail(h); // the request never left
    } else {
      history.unknown(h); // a timeout or a lost connection: it may have taken effect
    }
  }

  // ------------------------------------------------------------------ cleanup

  private static void deleteTree(Path p) throws IOException {
    if (!Files.exists(p)) {
      return;
    }
    try (Stream<Path> s = Files.walk(p)) {
      for (Path x : s.sorted(Collections.reverseOrder()).toList()) {
        Files.delete(x);
      }
    }
  }

  @Override
  public void close() {
    for (ServerProcess s : servers.values()) {
      try {
        s.kill();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      } catch (RuntimeException e) {
        System.out.println("[chaos] cannot kill " + s.id() + ": " + e);
      }
    }
    proxies.values().forEach(FaultProxy::close);
  }
}
