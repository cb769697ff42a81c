package org.flotilla.raft.sim;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.nio.ByteBuffer;
import java.util.Collection;
import java.util.List;
import java.util.Optional;
import java.util.TreeSet;
import org.flotilla.raft.RaftNode;
import org.flotilla.raft.RaftOptions;
import org.flotilla.raft.StateMachine;
import org.flotilla.raft.cluster.Member;
import org.flotilla.raft.memory.MemoryLogStore;
import org.flotilla.raft.memory.MemoryMetaStore;
import org.flotilla.raft.memory.MemorySnapshotStore;
import org.flotilla.raft.message.EntryType;
import org.flotilla.raft.message.LogEntry;
import org.flotilla.raft.message.RaftMessage;
import org.flotilla.raft.spi.MetaStore;
import org.flotilla.raft.spi.SnapshotMeta;
import org.flotilla.raft.spi.SnapshotStore;
import org.flotilla.raft.spi.Transport;

/**
 * One simulated server of a {@link RuntimeSimulation}: a real {@link RaftNode} over memory stores
 * whose durable state survives its crashes (what was not synced is lost), the simulated network's
 * end, and the traced wrappers through which every storage call, durability report, apply and
 * restore reaches the run's trace and its checks.
 *
 * <p>Not thread-safe: confined to the simulation's thread, like everything of a run.
 */
final class SimServer {

  final String id;
  final int index;
  final boolean spare;
  final MemoryLogStore log = new MemoryLogStore(MemoryLogStore.Durability.MANUAL);
  final MemoryMetaStore meta = new MemoryMetaStore();
  final MemorySnapshotStore snapshots = new MemorySnapshotStore();

  /** Indexes of the configuration entries in the log, kept as the log is appended and reset. */
  final TreeSet<Long> configIndexes = new TreeSet<>();

  private final RuntimeSimulation sim;
  private final Trace trace;
  private final MetaStore tracedMeta;
  private final SnapshotStore tracedSnapshots;
  private VirtualScheduler.SimulatedProcess process;
  RaftNode node;
  private Endpoint endpoint;
  private boolean syncPending;
  boolean slowDisk;
  double clockRate = 1.0;

  SimServer(RuntimeSimulation sim, String id, int index, boolean spare) {
    this.sim = sim;
    this.trace = sim.trace;
    this.id = id;
    this.index = index;
    this.spare = spare;
    this.tracedMeta = tracedMeta(id, meta);
    this.tracedSnapshots = new TracedSnapshots(snapshots);
  }

  boolean up() {
    return node != null;
  }

  /** Starts (or restarts) the node on what its stores hold durably. */
  void start(List<Member> members, RaftOptions options) {
    trace.event("start", id);
    log.crash();
    meta.crash();
    snapshots.crash();
    configIndexes.clear();
    long base = log.baseIndex();
    if (log.lastIndex() > base) {
      for (LogEntry e : log.entries(base + 1, log.lastIndex() + 1, Long.MAX_VALUE)) {
        if (e.type() == EntryType.CONFIGURATION) {
          configIndexes.add(e.index());
        }
      }
    }
    process = sim.scheduler.process(clockRate);
    endpoint = new Endpoint();
    RaftNode.Builder b =
        RaftNode.builder()
            .id(id)
            .stateMachine(new CheckedStateMachine(sim.newStateMachine()))
            .transport(endpoint)
            .logStore(new SyncingLog())
            .metaStore(tracedMeta)
            .snapshotStore(tracedSnapshots)
            .options(options)
            .callbackExecutor(sim.scheduler.executor())
            .scheduler(process);
    node = (spare ? b.join() : b.members(members)).build();
    node.start();
  }

  /** Stops every thread of the node at once and loses what its disks had not synced. */
  void crash() {
    trace.event("crash", id);
    process.crash();
    endpoint.down = true;
    node = null;
    syncPending = false;
    log.crash();
    meta.crash();
    snapshots.crash();
  }

  /** Closes a running node at the end of a run. */
  void close() {
    if (node != null) {
      node.close();
    }
  }

  /** Delivers a message that the network carried here. */
  void deliver(RaftMessage m) {
    if (up() && !endpoint.down) {
      trace.event("deliver", m);
      endpoint.inbox.receive(m);
    } else {
      trace.event("lost", m);
    }
  }

  /** The log store with a disk that syncs a little after each append (much later when slow). */
  private final class SyncingLog extends ForwardingLogStore {

    SyncingLog() {
      super(log);
    }

    @Override
    public void setListener(DurabilityListener listener) {
      super.setListener(
          new DurabilityListener() {
            @Override
            public void durable(long index, long term) {
              trace.event("durable", id, index, term);
              listener.durable(index, term);
            }

            @Override
            public void synced(long entries, long bytes, long nanos) {
              listener.synced(entries, bytes, nanos);
            }

            @Override
            public void failed(Throwable cause) {
              trace.event("log-failed", id, cause.getClass().getName());
              listener.failed(cause);
            }
          });
    }

    @Override
    public void compact(long index) {
      trace.event("compact", id, index);
      super.compact(index);
    }

    @Override
    public void reset(long index, long term) {
      trace.event("reset", id, index, term);
      configIndexes.clear();
      super.reset(index, term);
    }

    @Override
    public void append(List<LogEntry> entries) {
      trace.event("append", id, entries);
      if (!entries.isEmpty()) {
        configIndexes.tailSet(entries.get(0).index(), true).clear();
        for (LogEntry e : entries) {
          if (e.type() == EntryType.CONFIGURATION) {
            configIndexes.add(e.index());
          }
        }
      }
      super.append(entries);
      if (!syncPending) {
        syncPending = true;
        VirtualScheduler.SimulatedProcess incarnation = process;
        long micros =
            slowDisk ? 20_000 + sim.random.nextLong(60_000) : 50 + sim.random.nextLong(400);
        sim.scheduler.schedule(
            micros * 1_000,
            () -> {
              if (process == incarnation && up()) {
                syncPending = false;
                trace.event("sync", id, log.lastIndex());
                log.syncAll();
              }
            });
      }
    }
  }

  /** This server's end of the simulated network. */
  private final class Endpoint implements Transport {
    private Inbox inbox;
    boolean down;

    @Override
    public void start(String localId, Inbox in) {
      this.inbox = in;
    }

    @Override
    public void updateMembers(Collection<Member> all) {}

    @Override
    public void send(RaftMessage m) {
      trace.event("send", m);
      if (down) {
        trace.event("drop", m.from(), m.to());
        return;
      }
      sim.checks.sent(SimServer.this, m);
      sim.network.send(SimServer.this, m);
    }

    @Override
    public void close() {
      down = true;
    }
  }

  /**
   * The user's state machine, with every apply and restore traced and every applied command handed
   * to the checks (state machine safety, exactly-once).
   */
  private final class CheckedStateMachine implements StateMachine {
    private final StateMachine user;

    CheckedStateMachine(StateMachine user) {
      this.user = user;
    }

    @Override
    public ByteBuffer apply(long index, ByteBuffer command) {
      sim.checks.applied(SimServer.this, index, command);
      ByteBuffer result = user.apply(index, command);
      trace.event("apply", id, index, command, result);
      return result;
    }

    @Override
    public ByteBuffer query(ByteBuffer query) {
      ByteBuffer result = user.query(query);
      trace.event("query", id, query, result);
      return result;
    }

    @Override
    public boolean concurrentQueries() {
      return user.concurrentQueries();
    }

    @Override
    public Snapshot snapshot() {
      trace.event("snapshot", id);
      return user.snapshot();
    }

    @Override
    public void restore(long index, long term, InputStream in) throws IOException {
      trace.event("restore", id);
      user.restore(index, term, in);
    }
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
    private final SnapshotStore store;

    TracedSnapshots(SnapshotStore store) {
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
}
