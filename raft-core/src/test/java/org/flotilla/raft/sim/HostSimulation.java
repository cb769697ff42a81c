package org.flotilla.raft.sim;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import org.flotilla.raft.CommandRejectedException;
import org.flotilla.raft.NotLeaderException;
import org.flotilla.raft.OverloadedException;
import org.flotilla.raft.RaftHost;
import org.flotilla.raft.RaftListener;
import org.flotilla.raft.RaftNode;
import org.flotilla.raft.RaftOptions;
import org.flotilla.raft.ReadConsistency;
import org.flotilla.raft.Result;
import org.flotilla.raft.cluster.Member;
import org.flotilla.raft.cluster.Role;
import org.flotilla.raft.memory.MemoryLogStore;
import org.flotilla.raft.memory.MemoryMetaStore;
import org.flotilla.raft.memory.MemorySnapshotStore;
import org.flotilla.raft.message.RaftMessage;
import org.flotilla.raft.spi.HostStorage;
import org.flotilla.raft.spi.HostTransport;
import org.flotilla.raft.spi.LogStore;
import org.flotilla.raft.spi.MetaStore;
import org.flotilla.raft.spi.SnapshotStore;
import org.flotilla.raft.spi.Transport;
import org.flotilla.raft.testkit.TestCluster;
import org.flotilla.raft.testkit.TestCluster.KvStateMachine;

/**
 * Many {@link RaftHost}s, each with many groups, in virtual time on one thread: the real runtime
 * (host liveness, quiescence, shared scheduler) over a simulated network between hosts and
 * simulated disks that lose what they had not synced when their host crashes.
 *
 * <p>A run places {@code groups} groups of three replicas round robin over {@code hosts} hosts.
 * Clients put and read (linearizable and lease reads) keys hashed to groups, so a few groups are
 * busy and the rest idle (they quiesce, and wake when a client or a fault reaches them). Faults
 * drawn from the seed for {@link #CHAOS}: host crashes (unsynced writes lost) and restarts, a host
 * partitioned from the others, message loss, duplication and delay. Then every fault heals and the
 * run checks:
 *
 * <ul>
 *   <li>election safety: at most one leader per group and term, as the nodes report;
 *   <li>state machine safety: every replica of a group applies the same command at each index;
 *   <li>linearizability of every key's history ({@link LinearizabilityChecker}, {@link
 *       CasRegisterModel});
 *   <li>liveness: after the heal, a write to every group is applied by all its replicas within
 *       {@link #SERVE_BOUND}, and then every group quiesces on every host;
 *   <li>quiescence was exercised: groups quiesced and woke during the run.
 * </ul>
 *
 * <p>Not thread-safe: a run executes on the caller's thread.
 */
final class HostSimulation {

  static final Duration CHAOS = Duration.ofSeconds(20);
  static final Duration SERVE_BOUND = Duration.ofSeconds(15);
  private static final long MS = 1_000_000;
  private static final int KEYS = 40;
  private static final int CLIENTS = 6;

  private final long seed;
  private final int hostCount;
  private final int groupCount;
  private final SplittableRandom random;
  private final VirtualScheduler vs;
  private final Net net = new Net();
  private final RaftOptions options;
  private final List<String> hostIds = new ArrayList<>();
  private final List<Member> hostMembers = new ArrayList<>();
  private final Map<String, Disk> disks = new HashMap<>();
  private final Map<String, RaftHost> hosts = new LinkedHashMap<>();
  private final Map<String, VirtualScheduler.SimulatedProcess> processes = new HashMap<>();
  private final Map<String, Integer> incarnation = new HashMap<>();
  private final Map<String, List<Member>> placement = new TreeMap<>();
  // group -> term -> hosts that reported leading it
  private final Map<String, Map<Long, Set<String>>> leaders = new HashMap<>();
  // group -> index -> command applied there (by the first replica to apply it)
  private final Map<String, Map<Long, String>> applied = new HashMap<>();
  private final History history = new History(200_000, this::now);
  private final List<String> violations = new ArrayList<>();
  private int quiescedSamples;
  private int wakeSamples;
  private int crashes;
  private int partitions;

  HostSimulation(long seed, int hostCount, int groupCount) {
    this.seed = seed;
    this.hostCount = hostCount;
    this.groupCount = groupCount;
    this.random = new SplittableRandom(seed);
    this.vs = new VirtualScheduler(random.nextLong());
    this.options =
        TestCluster.fastOptions().snapshotThresholdEntries(40).snapshotTrailingEntries(10).build();
  }

  private long now() {
    return vs.nanoTime();
  }

  /** Runs the seed and returns the violations found, empty if none. */
  List<String> run() {
    for (int h = 0; h < hostCount; h++) {
      String id = "h" + h;
      hostIds.add(id);
      hostMembers.add(Member.of(id, id + ":7000"));
      disks.put(id, new Disk(id));
    }
    for (int g = 0; g < groupCount; g++) {
      List<Member> replicas = new ArrayList<>();
      for (int r = 0; r < 3; r++) {
        replicas.add(hostMembers.get((g + r) % hostCount));
      }
      placement.put(group(g), replicas);
    }
    for (String id : hostIds) {
      startHost(id);
    }
    for (int c = 0; c < CLIENTS; c++) {
      int client = c;
      vs.schedule(MS * (500 + random.nextInt(500)), () -> clientStep(client));
    }
    scheduleFault(2_000 * MS);
    vs.schedule(5_000 * MS, this::sampleQuiescence);
    vs.runUntil(CHAOS.toNanos());

    // Heal: every host up and reachable, no loss; the clients stop.
    healing = true;
    net.heal();
    for (String id : hostIds) {
      if (!hosts.containsKey(id)) {
        startHost(id);
      }
    }
    vs.runUntil(CHAOS.toNanos() + 5_000 * MS);
    checkEveryGroupServes();
    long quietBy = now() + 10_000 * MS;
    while (now() < quietBy && !allQuiesced()) {
      vs.runUntil(now() + 100 * MS);
    }
    if (!allQuiesced()) {
      violations.add("not every group quiesced within 10 s of serving: " + quiescedCounts());
    }
    if (quiescedSamples == 0 || wakeSamples == 0) {
      violations.add(
          "quiescence not exercised: "
              + quiescedSamples
              + " samples with quiesced groups, "
              + wakeSamples
              + " with woken ones");
    }
    checkElectionSafety();
    LinearizabilityChecker.Result lin =
        LinearizabilityChecker.check(history, new CasRegisterModel(), Duration.ofSeconds(60));
    if (!lin.isLinearizable()) {
      violations.add("not linearizable: " + lin);
    }
    return violations;
  }

  String summary() {
    return "seed "
        + seed
        + ": "
        + hostCount
        + " hosts, "
        + groupCount
        + " groups, "
        + history.size()
        + " operations, "
        + crashes
        + " crashes, "
        + partitions
        + " partitions, quiesced in "
        + quiescedSamples
        + " samples, woken in "
        + wakeSamples;
  }

  private static String group(int g) {
    return "g" + g;
  }

  private boolean healing;

  // ---------------------------------------------------------------- hosts

  private void startHost(String id) {
    incarnation.merge(id, 1, Integer::sum);
    VirtualScheduler.SimulatedProcess process = vs.process();
    processes.put(id, process);
    disks.get(id).startSyncing(process);
    RaftHost host =
        RaftHost.builder()
            .id(id)
            .transport(net.host(id))
            .storage(disks.get(id))
            .options(options)
            .scheduler(process)
            .callbackExecutor(vs.executor())
            .build();
    hosts.put(id, host);
    for (Map.Entry<String, List<Member>> e : placement.entrySet()) {
      if (e.getValue().stream().anyMatch(m -> m.id().equals(id))) {
        String g = e.getKey();
        RaftNode node =
            host.newGroup(g)
                .stateMachine(new Recording(g))
                .bootstrap(e.getValue())
                .listener(
                    new RaftListener() {
                      @Override
                      public void onRoleChange(Role role, long term) {
                        if (role == Role.LEADER) {
                          leaders
                              .computeIfAbsent(g, k -> new HashMap<>())
                              .computeIfAbsent(term, k -> new TreeSet<>())
                              .add(id);
                        }
                      }
                    })
                .build();
        node.start();
      }
    }
  }

  /** Stops every thread of a host at once; its disks lose what they had not synced. */
  private void crashHost(String id) {
    crashes++;
    processes.remove(id).crash();
    hosts.remove(id);
    net.down(id);
    disks.get(id).crash();
  }

  private void scheduleFault(long at) {
    vs.schedule(at, this::fault);
  }

  private void fault() {
    if (healing) {
      return;
    }
    int kind = random.nextInt(5);
    String victim = hostIds.get(random.nextInt(hostCount));
    long length = MS * (500 + random.nextInt(2_500));
    switch (kind) {
      case 0, 1 -> {
        if (hosts.containsKey(victim)) {
          crashHost(victim);
          vs.schedule(
              length,
              () -> {
                if (!hosts.containsKey(victim) && !healing) {
                  startHost(victim);
                }
              });
        }
      }
      case 2 -> {
        partitions++;
        net.isolate(victim);
        vs.schedule(length, () -> net.rejoin(victim));
      }
      case 3 -> {
        net.loss = 0.05 + random.nextDouble() * 0.15;
        vs.schedule(length, () -> net.loss = 0);
      }
      default -> {
        // a quiet spell
      }
    }
    scheduleFault(length + MS * (200 + random.nextInt(1_000)));
  }

  // ---------------------------------------------------------------- clients

  private void clientStep(int client) {
    if (healing) {
      return;
    }
    String key = "k" + random.nextInt(KEYS);
    String g = group(Math.floorMod(key.hashCode() * 31 + 7, groupCount));
    Optional<RaftNode> node = pick(g);
    if (node.isEmpty()) {
      vs.schedule(50 * MS, () -> clientStep(client));
      return;
    }
    boolean put = random.nextBoolean();
    String value = "c" + client + "-" + history.size();
    History.Handle h =
        history.invoke(
            client, key, put ? CasRegisterModel.PUT : CasRegisterModel.GET, put ? value : null);
    CompletableFuture<Result> f =
        put
            ? node.get().submit(TestCluster.put(key, value))
            : node.get()
                .read(
                    TestCluster.get(key),
                    random.nextBoolean() ? ReadConsistency.LEASE : ReadConsistency.LINEARIZABLE);
    boolean[] done = new boolean[1];
    long timeout = 1_500 * MS;
    vs.schedule(
        timeout,
        () -> {
          if (!done[0]) {
            done[0] = true;
            if (put) {
              history.unknown(h);
            } else {
              history.fail(h);
            }
            vs.schedule(MS * random.nextInt(100), () -> clientStep(client));
          }
        });
    CompletableFuture<Result> unused =
        f.whenCompleteAsync(
            (r, e) -> {
              if (done[0]) {
                return;
              }
              done[0] = true;
              if (e == null) {
                history.ok(h, put ? null : TestCluster.string(r.value()));
              } else if (!put || definitelyNotApplied(e)) {
                history.fail(h);
              } else {
                history.unknown(h);
              }
              vs.schedule(MS * random.nextInt(100), () -> clientStep(client));
            },
            vs.executor());
  }

  private static boolean definitelyNotApplied(Throwable e) {
    Throwable c = e instanceof CompletionException && e.getCause() != null ? e.getCause() : e;
    return c instanceof NotLeaderException
        || c instanceof OverloadedException
        || c instanceof CommandRejectedException;
  }

  /** A running replica of the group on a reachable host, its leader if one says it leads. */
  private Optional<RaftNode> pick(String g) {
    List<RaftNode> up = new ArrayList<>();
    for (Member m : placement.get(g)) {
      RaftHost h = hosts.get(m.id());
      if (h != null) {
        h.group(g).filter(RaftNode::isRunning).ifPresent(up::add);
      }
    }
    for (RaftNode n : up) {
      if (n.status().role() == Role.LEADER && random.nextInt(4) != 0) {
        return Optional.of(n);
      }
    }
    return up.isEmpty() ? Optional.empty() : Optional.of(up.get(random.nextInt(up.size())));
  }

  // ---------------------------------------------------------------- checks

  private void sampleQuiescence() {
    int quiesced = 0;
    int total = 0;
    for (RaftHost h : hosts.values()) {
      quiesced += h.quiescedGroups();
      total += h.groupIds().size();
    }
    if (quiesced > 0) {
      quiescedSamples++;
    }
    if (quiesced < total) {
      wakeSamples++;
    }
    if (!healing) {
      vs.schedule(500 * MS, this::sampleQuiescence);
    }
  }

  private boolean allQuiesced() {
    return hosts.values().stream().allMatch(h -> h.quiescedGroups() == h.groupIds().size());
  }

  private String quiescedCounts() {
    StringBuilder b = new StringBuilder();
    for (RaftHost h : hosts.values()) {
      b.append(h.id())
          .append(' ')
          .append(h.quiescedGroups())
          .append('/')
          .append(h.groupIds().size())
          .append(' ');
    }
    return b.toString().trim();
  }

  /** A write to every group, through its leader, applied by all its replicas in time. */
  private void checkEveryGroupServes() {
    long deadline = now() + SERVE_BOUND.toNanos();
    Map<String, Long> written = new TreeMap<>();
    Map<String, CompletableFuture<Result>> pending = new TreeMap<>();
    while (now() < deadline && written.size() < groupCount) {
      for (String g : placement.keySet()) {
        if (written.containsKey(g)) {
          continue;
        }
        CompletableFuture<Result> f = pending.get(g);
        if (f != null && f.isDone()) {
          pending.remove(g);
          if (!f.isCompletedExceptionally()) {
            written.put(g, f.join().index());
          }
        } else if (f == null) {
          pick(g)
              .filter(n -> n.status().role() == Role.LEADER)
              .ifPresent(n -> pending.put(g, n.submit(TestCluster.put("final", g))));
        }
      }
      vs.runUntil(now() + 50 * MS);
    }
    for (String g : placement.keySet()) {
      Long index = written.get(g);
      if (index == null) {
        violations.add(g + ": no write committed within " + SERVE_BOUND + " of the heal");
        continue;
      }
      while (now() < deadline && !appliedEverywhere(g, index)) {
        vs.runUntil(now() + 50 * MS);
      }
      if (!appliedEverywhere(g, index)) {
        violations.add(g + ": write " + index + " not applied by every replica in time");
      }
    }
  }

  private boolean appliedEverywhere(String g, long index) {
    for (Member m : placement.get(g)) {
      RaftHost h = hosts.get(m.id());
      Optional<RaftNode> n = h == null ? Optional.empty() : h.group(g);
      if (n.isEmpty() || n.get().status().appliedIndex() < index) {
        return false;
      }
    }
    return true;
  }

  private void checkElectionSafety() {
    for (Map.Entry<String, Map<Long, Set<String>>> g : leaders.entrySet()) {
      for (Map.Entry<Long, Set<String>> t : g.getValue().entrySet()) {
        if (t.getValue().size() > 1) {
          violations.add(g.getKey() + ": two leaders in term " + t.getKey() + ": " + t.getValue());
        }
      }
    }
  }

  /** A replica's key-value machine that checks every applied command against the others'. */
  private final class Recording extends KvStateMachine {
    private final String group;

    Recording(String group) {
      super(false);
      this.group = group;
    }

    @Override
    public ByteBuffer apply(long index, ByteBuffer command) {
      String c = StandardCharsets.UTF_8.decode(command.duplicate()).toString();
      String first = applied.computeIfAbsent(group, k -> new HashMap<>()).putIfAbsent(index, c);
      if (first != null && !first.equals(c)) {
        violations.add(group + ": index " + index + " applied as " + first + " and as " + c);
      }
      return super.apply(index, command);
    }
  }

  // ---------------------------------------------------------------- network

  /** Links between hosts with loss, duplication, delay and partitions, in virtual time. */
  private final class Net {
    private final Map<String, End> ends = new HashMap<>();
    private final Set<String> isolated = new TreeSet<>();
    double loss;

    HostTransport host(String id) {
      End e = new End(id);
      ends.put(id, e);
      return e;
    }

    void down(String id) {
      End e = ends.remove(id);
      if (e != null) {
        e.down = true;
      }
    }

    void isolate(String id) {
      isolated.add(id);
    }

    void rejoin(String id) {
      isolated.remove(id);
    }

    void heal() {
      isolated.clear();
      loss = 0;
    }

    private boolean cut(String a, String b) {
      return isolated.contains(a) != isolated.contains(b);
    }

    void send(End from, String group, RaftMessage m) {
      if (from.down || cut(from.id, m.to()) || random.nextDouble() < loss) {
        return;
      }
      int copies = random.nextInt(100) == 0 ? 2 : 1;
      for (int i = 0; i < copies; i++) {
        long delay = 100_000 + random.nextLong(random.nextInt(20) == 0 ? 50 * MS : 2 * MS);
        vs.schedule(delay, () -> deliver(from.id, group, m));
      }
    }

    private void deliver(String from, String group, RaftMessage m) {
      End to = ends.get(m.to());
      if (to == null || to.down || cut(from, m.to())) {
        return;
      }
      Transport.Inbox inbox = to.inboxes.get(group);
      if (inbox != null) {
        inbox.receive(m);
      }
    }

    /** One host's end of the network. */
    private final class End implements HostTransport {
      final String id;
      final Map<String, Transport.Inbox> inboxes = new HashMap<>();
      boolean down;

      End(String id) {
        this.id = id;
      }

      @Override
      public Transport group(String groupId) {
        return new Transport() {
          @Override
          public void start(String localId, Inbox inbox) {
            inboxes.put(groupId, inbox);
          }

          @Override
          public void updateMembers(java.util.Collection<Member> members) {}

          @Override
          public void send(RaftMessage message) {
            Net.this.send(End.this, groupId, message);
          }

          @Override
          public void close() {
            inboxes.remove(groupId);
          }
        };
      }

      @Override
      public void close() {
        down = true;
      }
    }
  }

  // ---------------------------------------------------------------- disks

  /** A host's disk: each group's stores; the logs sync every millisecond or so. */
  private final class Disk implements HostStorage {
    private final String id;
    private final Map<String, MemoryLogStore> logs = new HashMap<>();
    private final Map<String, MemoryMetaStore> metas = new HashMap<>();
    private final Map<String, MemorySnapshotStore> snapshots = new HashMap<>();
    private VirtualScheduler.SimulatedProcess syncing;

    Disk(String id) {
      this.id = id;
    }

    void startSyncing(VirtualScheduler.SimulatedProcess process) {
      syncing = process;
      scheduleSync(process);
    }

    private void scheduleSync(VirtualScheduler.SimulatedProcess process) {
      vs.schedule(
          500_000 + random.nextLong(1_500_000),
          () -> {
            if (syncing == process) {
              for (MemoryLogStore l : List.copyOf(logs.values())) {
                l.syncAll();
              }
              scheduleSync(process);
            }
          });
    }

    void crash() {
      syncing = null;
      logs.values().forEach(MemoryLogStore::crash);
      metas.values().forEach(MemoryMetaStore::crash);
      snapshots.values().forEach(MemorySnapshotStore::crash);
    }

    @Override
    public LogStore logStore(String groupId) {
      MemoryLogStore l =
          logs.computeIfAbsent(groupId, g -> new MemoryLogStore(MemoryLogStore.Durability.MANUAL));
      l.crash();
      return l;
    }

    @Override
    public MetaStore metaStore(String groupId) {
      MemoryMetaStore m = metas.computeIfAbsent(groupId, g -> new MemoryMetaStore());
      m.crash();
      return m;
    }

    @Override
    public SnapshotStore snapshotStore(String groupId) {
      MemorySnapshotStore s = snapshots.computeIfAbsent(groupId, g -> new MemorySnapshotStore());
      s.crash();
      return s;
    }

    @Override
    public void removeGroup(String groupId) {
      logs.remove(groupId);
      metas.remove(groupId);
      snapshots.remove(groupId);
    }

    @Override
    public void close() {}

    @Override
    public String toString() {
      return "Disk[" + id + "]";
    }
  }
}
