package org.flotilla.raft.sim;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.function.Consumer;
import org.flotilla.raft.Member;
import org.flotilla.raft.NodeStatus;
import org.flotilla.raft.RaftNode;
import org.flotilla.raft.RaftOptions;
import org.flotilla.raft.ReadConsistency;
import org.flotilla.raft.Result;
import org.flotilla.raft.Role;
import org.flotilla.raft.StateMachine;
import org.flotilla.raft.memory.MemoryLogStore;
import org.flotilla.raft.memory.MemoryMetaStore;
import org.flotilla.raft.memory.MemorySnapshotStore;
import org.flotilla.raft.message.LogEntry;
import org.flotilla.raft.message.RaftMessage;
import org.flotilla.raft.spi.MetaStore;
import org.flotilla.raft.spi.SnapshotMeta;
import org.flotilla.raft.spi.SnapshotStore;
import org.flotilla.raft.spi.Transport;

/**
 * Runs real {@link RaftNode}s (the whole runtime, not only the protocol core) in virtual time on
 * one thread, over a simulated network and simulated disks, with faults from a seed: message loss
 * and delay, partitions, and crashes that lose every appended entry not yet synced (a crash between
 * "appended" and "fsynced"). Clients submit puts, compare-and-sets and linearizable reads through
 * the public API; at the end the faults heal and the history is checked for linearizability, every
 * member's applied log is compared index by index, and the cluster must serve again. On even seeds
 * the members forward commands to the leader ({@link RaftOptions#forwardToLeader()}); on odd seeds
 * a follower refuses them. When bit 1 of the seed is clear, the state machine allows {@linkplain
 * StateMachine#concurrentQueries() concurrent queries}, so reads whose index is applied are
 * answered on the event loop; otherwise every read goes through the apply thread.
 *
 * <p>The same seed gives the same run: the faults, the clients and the nodes' election timeouts all
 * draw from it ({@link VirtualScheduler#random()}), and time is virtual. The run keeps a trace of
 * everything that happens (messages sent, lost and delivered; every call to the log, metadata and
 * snapshot stores and every durability report; every command applied and snapshot restored;
 * clients' invocations and results; crashes, restarts and partitions), one line per event with its
 * virtual time, and a digest of it ({@link #traceDigest()}): two runs of a seed must give the same
 * digest. {@link #traceTo(Consumer)} prints the lines, to find where two runs part.
 *
 * <p>Not thread-safe; a run executes on the caller's thread.
 */
public final class RuntimeSimulation {

  private static final long MS = 1_000_000;

  private final long seed;
  private final int voters;
  private final Duration faultPhase;
  private final SplittableRandom random;
  private final VirtualScheduler scheduler;
  private final Trace trace;
  private final Map<String, SimProcess> processes = new HashMap<>();
  private final List<Member> members = new ArrayList<>();
  private final List<Operation> history = new ArrayList<>();
  private final List<String> violations = new ArrayList<>();
  private final Map<Long, Integer> appliedHashes = new HashMap<>();
  private final boolean[][] blocked;
  private boolean healing;
  private long nextValue = 1;
  private int crashes;
  private int partitions;

  private RuntimeSimulation(long seed, int voters, Duration faultPhase) {
    this.seed = seed;
    this.voters = voters;
    this.faultPhase = faultPhase;
    this.random = new SplittableRandom(seed);
    this.scheduler = new VirtualScheduler(random.nextLong());
    this.trace = new Trace(scheduler::nanoTime);
    this.blocked = new boolean[voters][voters];
  }

  /**
   * Creates a run.
   *
   * @param seed the seed everything follows from
   * @param voters the number of members, 1 to 7
   * @param faultPhase how long (virtual time) faults are injected
   * @return the run, not started
   */
  public static RuntimeSimulation of(long seed, int voters, Duration faultPhase) {
    if (voters < 1 || voters > 7) {
      throw new IllegalArgumentException("voters must be in [1, 7]: " + voters);
    }
    return new RuntimeSimulation(seed, voters, faultPhase);
  }

  /** One simulated server: its durable state survives crashes, its node does not. */
  private final class SimProcess {
    final String id;
    final int index;
    final MemoryLogStore log = new MemoryLogStore(MemoryLogStore.Durability.MANUAL);
    final MemoryMetaStore meta = new MemoryMetaStore();
    final MemorySnapshotStore snapshots = new MemorySnapshotStore();
    final MetaStore tracedMeta;
    final SnapshotStore tracedSnapshots;
    VirtualScheduler.SimulatedProcess process;
    RaftNode node;
    SimInbox inbox;
    boolean syncPending;

    SimProcess(String id, int index) {
      this.id = id;
      this.index = index;
      this.tracedMeta = tracedMeta(id, meta);
      this.tracedSnapshots = new TracedSnapshots(id, snapshots);
    }

    void start() {
      trace.event("start", id);
      log.crash();
      meta.crash();
      snapshots.crash();
      process = scheduler.process();
      inbox = new SimInbox(this);
      node =
          RaftNode.builder()
              .id(id)
              .members(members)
              .stateMachine(new Registers(this))
              .transport(inbox)
              .logStore(new SyncingLog(this))
              .metaStore(tracedMeta)
              .snapshotStore(tracedSnapshots)
              .options(
                  RaftOptions.builder()
                      .tickInterval(Duration.ofMillis(10))
                      .electionTimeout(Duration.ofMillis(300))
                      .heartbeatInterval(Duration.ofMillis(30))
                      .leaseDriftMargin(Duration.ofMillis(60))
                      .snapshotThresholdEntries(50)
                      .snapshotTrailingEntries(5)
                      .snapshotChunkBytes(4096)
                      .forwardToLeader((seed & 1) == 0)
                      .build())
              .callbackExecutor(scheduler.executor())
              .scheduler(process)
              .build();
      node.start();
    }

    void crash() {
      trace.event("crash", id);
      process.crash();
      inbox.down = true;
      node = null;
      syncPending = false;
      log.crash();
      meta.crash();
      snapshots.crash();
    }

    boolean up() {
      return node != null;
    }
  }

  /** The log store with a disk that syncs a little after each append. */
  private final class SyncingLog extends ForwardingLogStore {
    private final SimProcess p;

    SyncingLog(SimProcess p) {
      super(p.log);
      this.p = p;
    }

    @Override
    public void setListener(DurabilityListener listener) {
      super.setListener(
          new DurabilityListener() {
            @Override
            public void durable(long index, long term) {
              trace.event("durable", p.id, index, term);
              listener.durable(index, term);
            }

            @Override
            public void synced(long entries, long bytes, long nanos) {
              listener.synced(entries, bytes, nanos);
            }

            @Override
            public void failed(Throwable cause) {
              trace.event("log-failed", p.id, cause.getClass().getName());
              listener.failed(cause);
            }
          });
    }

    @Override
    public void compact(long index) {
      trace.event("compact", p.id, index);
      super.compact(index);
    }

    @Override
    public void reset(long index, long term) {
      trace.event("reset", p.id, index, term);
      super.reset(index, term);
    }

    @Override
    public void append(List<LogEntry> entries) {
      trace.event("append", p.id, entries);
      super.append(entries);
      if (!p.syncPending) {
        p.syncPending = true;
        SimProcess owner = p;
        VirtualScheduler.SimulatedProcess incarnation = p.process;
        scheduler.schedule(
            (50 + random.nextLong(400)) * 1_000,
            () -> {
              if (owner.process == incarnation && owner.up()) {
                owner.syncPending = false;
                trace.event("sync", owner.id, owner.log.lastIndex());
                owner.log.syncAll();
              }
            });
      }
    }
  }

  /** The simulated network end of one process. */
  private final class SimInbox implements Transport {
    private final SimProcess p;
    private Inbox inbox;
    boolean down;

    SimInbox(SimProcess p) {
      this.p = p;
    }

    @Override
    public void start(String localId, Inbox in) {
      this.inbox = in;
    }

    @Override
    public void updateMembers(Collection<Member> all) {}

    @Override
    public void send(RaftMessage m) {
      trace.event("send", m);
      SimProcess to = processes.get(m.to());
      if (down || to == null || (!healing && random.nextInt(100) < 2)) {
        trace.event("drop", m.from(), m.to());
        return;
      }
      long delay = (100 + random.nextLong(healing ? 500 : 3_000)) * 1_000;
      scheduler.schedule(
          delay,
          () -> {
            if (to.up() && !to.inbox.down && !blocked[p.index][to.index]) {
              trace.event("deliver", m);
              to.inbox.inbox.receive(m);
            } else {
              trace.event("lost", m);
            }
          });
    }

    @Override
    public void close() {
      down = true;
    }
  }

  /** A register map as the user's state machine; records what it applies for the safety check. */
  private final class Registers implements StateMachine {
    private final SimProcess p;
    private RegisterMap map = new RegisterMap();

    Registers(SimProcess p) {
      this.p = p;
    }

    @Override
    public ByteBuffer apply(long index, ByteBuffer command) {
      Integer hash = command.hashCode();
      Integer known = appliedHashes.putIfAbsent(index, hash);
      if (known != null && !known.equals(hash)) {
        violations.add(
            "seed "
                + seed
                + ": state machine safety: "
                + p.id
                + " applied another command at "
                + index);
      }
      long result = map.apply(command);
      trace.event("apply", p.id, index, command, result);
      return ByteBuffer.allocate(8).putLong(0, result);
    }

    @Override
    public ByteBuffer query(ByteBuffer query) {
      long result = map.apply(query);
      trace.event("query", p.id, query, result);
      return ByteBuffer.allocate(8).putLong(0, result);
    }

    @Override
    public boolean concurrentQueries() {
      return (seed & 2) == 0;
    }

    @Override
    public Snapshot snapshot() {
      byte[] bytes = map.snapshot();
      return out -> {
        out.write(ByteBuffer.allocate(4).putInt(bytes.length).array());
        out.write(bytes);
      };
    }

    @Override
    public void restore(InputStream in) throws IOException {
      int len = ByteBuffer.wrap(in.readNBytes(4)).getInt();
      byte[] bytes = in.readNBytes(len);
      trace.event("restore", p.id, ByteBuffer.wrap(bytes));
      map = RegisterMap.restore(bytes);
    }
  }

  // ------------------------------------------------------------------ the run

  /**
   * Runs the simulation.
   *
   * @return the violations found; empty on success
   */
  public List<String> run() {
    for (int i = 1; i <= voters; i++) {
      members.add(Member.of("n" + i));
    }
    for (int i = 0; i < voters; i++) {
      SimProcess p = new SimProcess("n" + (i + 1), i);
      processes.put(p.id, p);
    }
    processes.values().forEach(SimProcess::start);
    for (int c = 0; c < 3; c++) {
      int client = c;
      scheduler.schedule(random.nextLong(50) * MS, () -> invoke(client));
    }
    long end = faultPhase.toNanos();
    scheduler.schedule(0, this::injectFaults);
    scheduler.runUntil(end);
    heal();
    scheduler.runUntil(end + 30_000 * MS);
    checkServesAgain();
    LinearizabilityChecker.Result lin =
        LinearizabilityChecker.check(history, new CasRegisterModel(), Duration.ofSeconds(20));
    if (!lin.isLinearizable()) {
      violations.add("seed " + seed + ": " + lin.message());
    }
    for (SimProcess p : processes.values()) {
      if (p.up()) {
        p.node.close();
      }
    }
    return violations;
  }

  /**
   * Returns the operations recorded.
   *
   * @return the history
   */
  public List<Operation> history() {
    return history;
  }

  /**
   * Returns a one-line summary of the run.
   *
   * @return the summary
   */
  public String summary() {
    long ok = history.stream().filter(o -> o.outcome() == Operation.Outcome.OK).count();
    return "seed "
        + seed
        + ": "
        + history.size()
        + " operations ("
        + ok
        + " ok), "
        + crashes
        + " crashes, "
        + partitions
        + " partitions";
  }

  /**
   * Returns the digest of the run's trace so far: SHA-256 over every event in order, in hex. Two
   * runs of the same seed give the same digest; if they do not, something in the runtime or the
   * simulation depends on more than the seed.
   *
   * @return the digest, 64 hex digits
   */
  public String traceDigest() {
    return trace.digest();
  }

  /**
   * Returns how many events the trace holds so far.
   *
   * @return the count
   */
  public long traceEvents() {
    return trace.events();
  }

  /**
   * Sends each event of the trace, one line of text with its virtual time in nanoseconds first, to
   * {@code sink} as it happens, for debugging a seed (or comparing two runs line by line). Call it
   * before {@link #run()}; the digest is computed either way.
   *
   * @param sink receives the lines on the simulator's thread; null for none
   * @return this run
   */
  public RuntimeSimulation traceTo(Consumer<String> sink) {
    trace.sink(sink);
    return this;
  }

  private void record(Operation op) {
    trace.event("result", op);
    history.add(op);
  }

  /**
   * Returns the meta store seen through a proxy that traces every call and forwards it: a proxy, so
   * that a method the interface gains (as a {@code default} method) still reaches the memory store.
   */
  private MetaStore tracedMeta(String id, MetaStore store) {
    return (MetaStore)
        Proxy.newProxyInstance(
            MetaStore.class.getClassLoader(),
            new Class<?>[] {MetaStore.class},
            (proxy, method, args) -> {
              Object[] values = args == null ? new Object[0] : args;
              if (method.getDeclaringClass() == Object.class) {
                // hashCode, equals and toString: the proxy's own, untraced
                return switch (method.getName()) {
                  case "equals" -> proxy == values[0];
                  case "hashCode" -> System.identityHashCode(proxy);
                  default -> "traced " + store;
                };
              }
              Object[] event = new Object[values.length + 1];
              event[0] = id;
              System.arraycopy(values, 0, event, 1, values.length);
              trace.event("meta." + method.getName(), event);
              try {
                return method.invoke(store, args);
              } catch (InvocationTargetException e) {
                throw e.getCause();
              }
            });
  }

  /** The snapshot store, traced: every snapshot looked up, started, committed and abandoned. */
  private final class TracedSnapshots implements SnapshotStore {
    private final String id;
    private final SnapshotStore store;

    TracedSnapshots(String id, SnapshotStore store) {
      this.id = id;
      this.store = store;
    }

    @Override
    public Optional<Stored> latest() throws IOException {
      Optional<Stored> latest = store.latest();
      trace.event("snapshot.latest", id, latest.map(Stored::meta));
      return latest;
    }

    @Override
    public Sink create(SnapshotMeta meta) throws IOException {
      trace.event("snapshot.create", id, meta);
      Sink sink = store.create(meta);
      return new Sink() {
        @Override
        public SnapshotMeta meta() {
          return sink.meta();
        }

        @Override
        public OutputStream output() {
          return sink.output();
        }

        @Override
        public long size() {
          return sink.size();
        }

        @Override
        public int checksum() {
          return sink.checksum();
        }

        @Override
        public Stored commit() throws IOException {
          trace.event("snapshot.commit", id, meta, sink.size(), sink.checksum());
          return sink.commit();
        }

        @Override
        public void close() {
          trace.event("snapshot.close", id, meta);
          sink.close();
        }
      };
    }

    @Override
    public void close() {
      store.close();
    }
  }

  private void injectFaults() {
    if (healing) {
      return;
    }
    List<SimProcess> all = new ArrayList<>(processes.values());
    all.sort((a, b) -> a.id.compareTo(b.id));
    SimProcess p = all.get(random.nextInt(all.size()));
    int fault = random.nextInt(10);
    if (fault < 3) {
      if (p.up()) {
        crashes++;
        p.crash();
      } else {
        p.start();
      }
    } else if (fault < 5) {
      partitions++;
      for (boolean[] row : blocked) {
        java.util.Arrays.fill(row, false);
      }
      for (int j = 0; j < voters; j++) {
        if (j != p.index && random.nextBoolean()) {
          blocked[p.index][j] = true;
          blocked[j][p.index] = true;
        }
      }
      trace.event("partition", p.id, java.util.Arrays.deepToString(blocked));
    } else if (fault < 6) {
      for (boolean[] row : blocked) {
        java.util.Arrays.fill(row, false);
      }
      trace.event("partition-healed");
    }
    scheduler.schedule((200 + random.nextLong(1_500)) * MS, this::injectFaults);
  }

  private void heal() {
    trace.event("heal");
    healing = true;
    for (boolean[] row : blocked) {
      java.util.Arrays.fill(row, false);
    }
    for (SimProcess p : processes.values()) {
      if (!p.up()) {
        p.start();
      }
    }
  }

  private void checkServesAgain() {
    SimProcess leader = null;
    for (SimProcess p : processes.values()) {
      NodeStatus s = p.node.status();
      if (s != null && s.role() == Role.LEADER) {
        leader = p;
      }
    }
    if (leader == null) {
      violations.add("seed " + seed + ": liveness: no leader 30 s after the faults healed");
      return;
    }
    long commit = leader.node.status().commitIndex();
    for (SimProcess p : processes.values()) {
      if (p.node.status().appliedIndex() < commit) {
        violations.add(
            "seed "
                + seed
                + ": liveness: "
                + p.id
                + " applied "
                + p.node.status().appliedIndex()
                + " of "
                + commit
                + " 30 s after the heal");
      }
    }
  }

  private void invoke(int client) {
    if (healing) {
      return;
    }
    List<SimProcess> up = new ArrayList<>();
    for (SimProcess p : processes.values()) {
      if (p.up()) {
        up.add(p);
      }
    }
    up.sort((a, b) -> a.id.compareTo(b.id));
    if (up.isEmpty()) {
      scheduler.schedule(10 * MS, () -> invoke(client));
      return;
    }
    SimProcess p = up.get(random.nextInt(up.size()));
    String key = "k" + random.nextInt(2);
    long invoked = scheduler.nanoTime();
    int choice = random.nextInt(10);
    trace.event("invoke", client, p.id, key, choice);
    String kind;
    Object input;
    CompletableFuture<Result> f;
    if (choice < 4) {
      long v = nextValue++;
      kind = CasRegisterModel.PUT;
      input = v;
      f = p.node.submit(RegisterMap.put(key, v));
    } else if (choice < 6) {
      long expect = random.nextInt(3) == 0 ? RegisterMap.ABSENT : random.nextLong(nextValue);
      long v = nextValue++;
      kind = CasRegisterModel.CAS;
      input = new CasRegisterModel.Cas(expect == RegisterMap.ABSENT ? null : expect, v);
      f = p.node.submit(RegisterMap.cas(key, expect, v));
    } else {
      kind = CasRegisterModel.GET;
      input = null;
      f = p.node.read(RegisterMap.get(key), ReadConsistency.LINEARIZABLE);
    }
    boolean[] done = new boolean[1];
    scheduler.schedule(
        2_000 * MS,
        () -> {
          if (!done[0]) {
            done[0] = true;
            record(Operation.unknown(client, key, kind, input, invoked));
            invoke(client);
          }
        });
    CompletableFuture<Result> unused =
        f.whenComplete(
            (r, e) -> {
              if (done[0]) {
                return;
              }
              done[0] = true;
              long now = scheduler.nanoTime();
              if (e == null) {
                long value = r.value().getLong(0);
                Object output =
                    switch (kind) {
                      case CasRegisterModel.CAS -> value == 1;
                      case CasRegisterModel.GET -> value == RegisterMap.ABSENT ? null : value;
                      default -> null;
                    };
                record(Operation.ok(client, key, kind, input, output, invoked, now));
              } else if (definitelyNotApplied(e)) {
                record(Operation.failed(client, key, kind, input, invoked, now));
              } else {
                record(Operation.unknown(client, key, kind, input, invoked));
              }
              scheduler.schedule(random.nextLong(20) * MS, () -> invoke(client));
            });
  }

  private static boolean definitelyNotApplied(Throwable e) {
    Throwable t = e instanceof java.util.concurrent.CompletionException ? e.getCause() : e;
    return t instanceof org.flotilla.raft.NotLeaderException
        || t instanceof org.flotilla.raft.OverloadedException
        || t instanceof org.flotilla.raft.CommandRejectedException;
  }
}
