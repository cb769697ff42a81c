package org.flotilla.raft.sim;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import org.flotilla.raft.cluster.Configuration;
import org.flotilla.raft.cluster.Role;
import org.flotilla.raft.internal.core.CoreOptions;
import org.flotilla.raft.internal.core.RaftCore;
import org.flotilla.raft.internal.core.ReadState;
import org.flotilla.raft.internal.core.Ready;
import org.flotilla.raft.memory.MemoryLogStore;
import org.flotilla.raft.memory.MemoryMetaStore;
import org.flotilla.raft.message.EntryType;
import org.flotilla.raft.message.InstallSnapshot;
import org.flotilla.raft.message.LogEntry;
import org.flotilla.raft.message.RaftMessage;
import org.flotilla.raft.spi.LogReader;
import org.flotilla.raft.spi.LogStore;
import org.flotilla.raft.spi.SnapshotMeta;

/**
 * One simulated member: a protocol core with a simulated disk (a {@link MemoryLogStore} whose
 * appends become durable only when the simulated sync completes), a register-map state machine,
 * snapshots, and the pending client operations it serves. It plays the runtime's part for the core:
 * it executes each {@link Ready} as that record prescribes.
 *
 * <p>Not thread-safe; confined to the simulation's thread.
 */
final class SimNode {

  /** Applied entries between snapshots. */
  static final int SNAPSHOT_EVERY = 40;

  /** Entries kept in the log behind a snapshot, for slightly slow followers. */
  static final int TRAILING_ENTRIES = 8;

  final String id;
  private final Simulation sim;
  private final CoreOptions options;
  private final Configuration bootstrap;

  // Durable state: survives crashes (the log store loses what it had not synced).
  final MemoryLogStore log = new MemoryLogStore(MemoryLogStore.Durability.MANUAL);
  final MemoryMetaStore meta = new MemoryMetaStore();
  SnapshotMeta snapshotMeta;
  byte[] snapshotData;

  // Volatile state of the current incarnation.
  RaftCore core;
  boolean up;
  boolean slowDisk;
  int incarnation;
  private RegisterMap state;
  private long applied;
  private Configuration appliedConfig;
  private boolean syncScheduled;
  long lastCommit;
  Role lastRole;
  final Map<Long, Simulation.PendingOp> writes = new HashMap<>();
  final Map<Long, Simulation.PendingOp> reads = new HashMap<>();
  private final List<Simulation.PendingOp> readsAwaitingApply = new ArrayList<>();

  SimNode(String id, Simulation sim, CoreOptions options, Configuration bootstrap) {
    this.id = id;
    this.sim = sim;
    this.options = options;
    this.bootstrap = bootstrap;
    log.setListener(
        new LogStore.DurabilityListener() {
          @Override
          public void durable(long index, long term) {
            core.persisted(index, term);
          }

          @Override
          public void failed(Throwable cause) {
            throw new IllegalStateException("simulated disk failed", cause);
          }
        });
  }

  /** Starts (or restarts) the member from its durable state. */
  void start() {
    if (snapshotMeta != null
        && (log.lastIndex() < snapshotMeta.index()
            || log.term(snapshotMeta.index()) != snapshotMeta.term())) {
      // The log does not reach the snapshot or disagrees with it: the snapshot wins.
      log.reset(snapshotMeta.index(), snapshotMeta.term());
    }
    LogReader view = sim.repairLostTails ? log : withoutDurableMark(log);
    core =
        new RaftCore(id, options, bootstrap, view, meta.load(), snapshotMeta, sim.random().split());
    state = RegisterMap.restore(snapshotData);
    applied = snapshotMeta == null ? 0 : snapshotMeta.index();
    appliedConfig = snapshotMeta == null ? bootstrap : snapshotMeta.configuration();
    lastCommit = core.commitIndex();
    lastRole = core.role();
    up = true;
    incarnation++;
    syncScheduled = false;
    drain();
  }

  /** Crashes the member: everything not synced is lost, every pending operation is unknown. */
  void crash() {
    up = false;
    log.crash();
    meta.crash();
    List<Simulation.PendingOp> pending = new ArrayList<>(writes.values());
    pending.addAll(reads.values());
    pending.addAll(readsAwaitingApply);
    for (Simulation.PendingOp op : pending) {
      sim.completeUnknown(op);
    }
    writes.clear();
    reads.clear();
    readsAwaitingApply.clear();
  }

  void tick() {
    core.tick();
    drain();
  }

  void deliver(RaftMessage m) {
    if (m instanceof InstallSnapshot is && is.done() && m.term() >= core.term()) {
      // The runtime stores a received snapshot durably before the core decides on it.
      byte[] data = new byte[is.data().remaining()];
      is.data().duplicate().get(data);
      if (snapshotMeta == null || snapshotMeta.index() < is.snapshotIndex()) {
        snapshotMeta = new SnapshotMeta(is.snapshotIndex(), is.snapshotTerm(), is.configuration());
        snapshotData = data;
      }
    }
    core.step(m);
    drain();
  }

  /** The simulated sync completed: everything appended so far is durable. */
  void syncDone(boolean lossy) {
    syncScheduled = false;
    if (log.lastIndex() <= log.durableIndex()) {
      return;
    }
    if (lossy) {
      // Out of the fault model: acknowledge the sync without making anything durable.
      core.persisted(log.lastIndex(), log.term(log.lastIndex()));
    } else {
      log.syncAll();
    }
    drain();
  }

  /** Executes the core's ready batches until it has none. */
  void drain() {
    while (up && core.hasReady()) {
      Ready rd = core.ready();
      if (rd.snapshot() != null) {
        installSnapshot(rd.snapshot());
      }
      if (!rd.entries().isEmpty()) {
        log.append(rd.entries());
        if (!syncScheduled) {
          syncScheduled = true;
          sim.scheduleSync(this);
        }
      }
      if (rd.hardState() != null) {
        meta.save(rd.hardState());
      }
      for (RaftMessage m : rd.messages()) {
        sim.send(this, m);
      }
      for (InstallSnapshot notice : rd.snapshotsToSend()) {
        // The runtime streams the stored snapshot; here it travels as one message.
        InstallSnapshot full = snapshotFor(notice);
        if (full != null) {
          sim.send(this, full);
        }
      }
      for (LogEntry e : rd.committedEntries()) {
        apply(e);
      }
      for (ReadState rs : rd.readStates()) {
        onReadState(rs);
      }
      serveReads();
      maybeSnapshot();
    }
    if (up) {
      // The core's contract: hasReady() predicts ready(), so a driver that waits for it loses no
      // work. A batch here would have been left behind.
      Ready missed = core.ready();
      if (!missed.isEmpty()) {
        sim.violation(id + ": hasReady() was false but ready() returned " + missed);
      }
    }
    sim.observe(this);
  }

  private void installSnapshot(SnapshotMeta s) {
    if (snapshotMeta == null || snapshotMeta.index() != s.index()) {
      throw new IllegalStateException(id + ": core installs snapshot " + s + " not stored");
    }
    log.reset(s.index(), s.term());
    state = RegisterMap.restore(snapshotData);
    applied = s.index();
    appliedConfig = s.configuration();
  }

  private void apply(LogEntry e) {
    if (e.index() != applied + 1) {
      sim.violation(id + " applied " + e.index() + " after " + applied);
      return;
    }
    sim.checkApplied(this, e);
    applied = e.index();
    long result = 0;
    if (e.type() == EntryType.COMMAND) {
      result = state.apply(e.payload());
    } else if (e.type() == EntryType.CONFIGURATION) {
      appliedConfig = Configuration.decode(e.payload());
    }
    Simulation.PendingOp op = writes.remove(e.index());
    if (op != null) {
      if (op.term == e.term()) {
        sim.completeOk(op, result);
      } else {
        // Another entry won this index: ours can never commit.
        sim.completeFailed(op);
      }
    }
  }

  private void onReadState(ReadState rs) {
    Simulation.PendingOp op = reads.remove(rs.context());
    if (op == null) {
      return;
    }
    if (rs.failed()) {
      sim.completeFailed(op);
    } else {
      op.readIndex = rs.index();
      readsAwaitingApply.add(op);
    }
  }

  private void serveReads() {
    for (Iterator<Simulation.PendingOp> it = readsAwaitingApply.iterator(); it.hasNext(); ) {
      Simulation.PendingOp op = it.next();
      if (op.readIndex <= applied) {
        it.remove();
        sim.completeOk(op, state.read(op.key));
      }
    }
  }

  private void maybeSnapshot() {
    long last = snapshotMeta == null ? 0 : snapshotMeta.index();
    if (applied - last < SNAPSHOT_EVERY) {
      return;
    }
    long term = core.termAt(applied);
    if (term < 0) {
      return;
    }
    snapshotMeta = new SnapshotMeta(applied, term, appliedConfig);
    snapshotData = state.snapshot();
    core.snapshotTaken(snapshotMeta);
    long compactTo = applied - TRAILING_ENTRIES;
    if (compactTo > log.baseIndex()) {
      log.compact(compactTo);
    }
  }

  /** Builds the full snapshot message the runtime would stream for a core's snapshot notice. */
  InstallSnapshot snapshotFor(InstallSnapshot notice) {
    if (snapshotMeta == null) {
      return null;
    }
    return new InstallSnapshot(
        id,
        notice.to(),
        notice.term(),
        snapshotMeta.index(),
        snapshotMeta.term(),
        snapshotMeta.configuration(),
        snapshotData.length,
        0,
        0,
        ByteBuffer.wrap(snapshotData),
        true);
  }

  long applied() {
    return applied;
  }

  boolean isVoterLeader() {
    return up && core.role() == Role.LEADER;
  }

  void removeRead(long context) {
    reads.remove(context);
    readsAwaitingApply.removeIf(op -> op.context == context);
  }

  @Override
  public String toString() {
    return up ? core.toString() : id + "{down}";
  }

  /** The log as a store that keeps no durable mark sees it. */
  private static LogReader withoutDurableMark(LogReader log) {
    return new LogReader() {
      @Override
      public long baseIndex() {
        return log.baseIndex();
      }

      @Override
      public long baseTerm() {
        return log.baseTerm();
      }

      @Override
      public long lastIndex() {
        return log.lastIndex();
      }

      @Override
      public long term(long index) {
        return log.term(index);
      }

      @Override
      public List<LogEntry> entries(long fromIndex, long toIndexExclusive, long maxBytes) {
        return log.entries(fromIndex, toIndexExclusive, maxBytes);
      }
    };
  }
}
