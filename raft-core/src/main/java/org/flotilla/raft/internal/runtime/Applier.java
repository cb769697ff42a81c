package org.flotilla.raft.internal.runtime;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.PriorityQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.flotilla.raft.CommandRejectedException;
import org.flotilla.raft.NodeStoppedException;
import org.flotilla.raft.RaftOptions;
import org.flotilla.raft.ReadTimeoutException;
import org.flotilla.raft.Result;
import org.flotilla.raft.StateMachine;
import org.flotilla.raft.cluster.Configuration;
import org.flotilla.raft.message.CommandEnvelope;
import org.flotilla.raft.message.EntryType;
import org.flotilla.raft.message.LogEntry;
import org.flotilla.raft.spi.Scheduler;
import org.flotilla.raft.spi.SnapshotMeta;
import org.flotilla.raft.spi.SnapshotStore;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The apply thread: applies committed entries to the {@link StateMachine} in log order, serves
 * reads once the applied index reaches their read index, restores snapshots, and captures state for
 * new snapshots (written on the snapshot thread).
 *
 * <p>Threading: the fields below are confined to the apply thread, except {@link #appliedIndex}
 * (written by the apply thread, read by any), {@link #restoresPending} (raised by the thread that
 * queues a restore, lowered by the apply thread once it is done) and the task queue (bounded;
 * filled by the event loop and, for stale reads and snapshot requests, by user threads). {@link
 * #tryQueryNow} runs on the event loop; it touches only the state machine (which allowed it through
 * {@link StateMachine#concurrentQueries()}) and those thread-safe fields.
 */
final class Applier {

  private static final Logger LOG = LoggerFactory.getLogger(Applier.class);

  sealed interface Task permits Entries, Restore, Read, TakeSnapshot, Stop {}

  record Entries(List<LogEntry> entries) implements Task {}

  record Restore(SnapshotStore.Stored snapshot) implements Task {}

  record Read(long index, ByteBuffer query, CompletableFuture<Result> future, long deadline)
      implements Task {}

  record TakeSnapshot(CompletableFuture<Long> future) implements Task {}

  record Stop() implements Task {}

  private final NodeRuntime node;
  private final StateMachine stateMachine;
  private final boolean concurrentQueries;
  // restores queued or running; no query runs outside the apply thread while one is
  private final AtomicInteger restoresPending = new AtomicInteger();
  private final SnapshotStore snapshots;
  private final Executor snapshotExecutor;
  private final long snapshotThreshold;
  private final long snapshotThresholdBytes;
  // payload bytes applied since the last snapshot (apply thread)
  private long bytesSinceSnapshot;
  private final BoundedQueue<Task> tasks;
  private Scheduler.Worker worker;
  private final PriorityQueue<Read> waiting =
      new PriorityQueue<>(1, (a, b) -> Long.compare(a.index(), b.index()));
  private final AtomicBoolean snapshotInProgress = new AtomicBoolean();
  private final Sessions sessions;
  private volatile long appliedIndex;
  // written by the apply thread after each batch, read by the event loop when it becomes leader
  private volatile long logTime;
  private long appliedTerm;
  private Configuration appliedConfig;
  private long lastSnapshotIndex;
  // the entry whose StateMachine.apply threw, if one did (apply thread)
  private LogEntry failedEntry;

  Applier(
      NodeRuntime node,
      StateMachine stateMachine,
      SnapshotStore snapshots,
      Executor snapshotExecutor,
      RaftOptions options,
      int capacity) {
    this.node = node;
    this.stateMachine = stateMachine;
    this.concurrentQueries = stateMachine.concurrentQueries();
    this.snapshots = snapshots;
    this.snapshotExecutor = snapshotExecutor;
    this.snapshotThreshold = options.snapshotThresholdEntries();
    this.snapshotThresholdBytes = options.snapshotThresholdBytes();
    this.sessions = new Sessions(options.sessionTimeout().toMillis(), options.maxSessions());
    this.tasks = new BoundedQueue<>(capacity);
  }

  /**
   * Sets the configuration in force before the first applied configuration entry or snapshot: the
   * member's initial configuration. Called once, before the apply worker starts.
   */
  void startFrom(Configuration initial) {
    this.appliedConfig = initial;
  }

  long appliedIndex() {
    return appliedIndex;
  }

  /** The session table's log time after the last applied batch; callable from any thread. */
  long logTime() {
    return logTime;
  }

  int queued() {
    return tasks.size();
  }

  void attach(Scheduler.Worker applyWorker) {
    this.worker = applyWorker;
  }

  /** Queues a task; false if the queue is full. Callable from any thread. */
  boolean offer(Task task) {
    boolean restore = task instanceof Restore;
    if (restore) {
      // Raised before the restore can start, so the queuing thread sees it from now on.
      restoresPending.incrementAndGet();
    }
    if (!tasks.offer(task)) {
      if (restore) {
        restoresPending.decrementAndGet();
      }
      return false;
    }
    Scheduler.Worker w = worker;
    if (w != null) {
      w.wake();
    }
    return true;
  }

  /** One turn of the apply worker: the queued tasks, then reads and snapshots that are due. */
  long turn() {
    try {
      Task task;
      int handled = 0;
      long appliedBefore = appliedIndex;
      while (handled < 1024 && (task = tasks.poll()) != null) {
        if (task instanceof Stop) {
          failWaiting(
              new NodeStoppedException("node stopped before the read was served", null, false));
          return -1;
        }
        handle(task);
        handled++;
      }
      if (appliedIndex != appliedBefore && node.quiesced()) {
        // A quiesced group's event loop publishes no status every ten ticks: ask it for one, so
        // that status() shows what was applied after the group quiesced.
        // (If the loop's queue is full, the loop is busy and publishes a status anyway.)
        node.post(node::refreshStatus);
      }
      serveReads();
      maybeSnapshot(null);
      if (!tasks.isEmpty()) {
        return 0;
      }
      return expireReads();
    } catch (RuntimeException | IOException | Error e) {
      LogEntry failed = failedEntry;
      if (failed != null) {
        // Nothing after it is applied, and it is not skipped: a restart applies it again.
        node.fatal(
            "the state machine threw applying entry "
                + failed.index()
                + " (term "
                + failed.term()
                + ")",
            failed.index(),
            e,
            "It applied up to entry "
                + appliedIndex
                + " and applies nothing more. Way out: fix the state machine, then restart this"
                + " member on the same data: it applies entry "
                + failed.index()
                + " again, with the fixed code, and catches up (docs/operations.md, \"A member"
                + " that failed\")");
      } else {
        node.fatal("apply thread failed at index " + (appliedIndex + 1), e);
      }
      failWaiting(new NodeStoppedException("node stopped before the read was served", e, false));
      return -1;
    }
  }

  private void handle(Task task) throws IOException {
    if (task instanceof Entries e) {
      long start = node.scheduler.nanoTime();
      for (LogEntry entry : e.entries()) {
        apply(entry);
      }
      logTime = sessions.logTime();
      node.metrics.entriesApplied(e.entries().size(), node.scheduler.nanoTime() - start);
      node.commands.applied(appliedIndex);
    } else if (task instanceof Restore r) {
      restore(r.snapshot());
      // After appliedIndex moved: a query that sees no restore pending sees the restored index. A
      // failed restore stops the node and leaves the count raised, so no query reads its remains.
      restoresPending.decrementAndGet();
      logTime = sessions.logTime();
      node.commands.applied(appliedIndex);
    } else if (task instanceof Read r) {
      if (Mutations.readBeforeApplied) {
        answer(appliedIndex, r.query(), r.future());
        return;
      }
      waiting.add(r);
    } else if (task instanceof TakeSnapshot t) {
      maybeSnapshot(t.future());
    }
  }

  private void apply(LogEntry entry) {
    if (entry.index() <= appliedIndex) {
      return;
    }
    if (entry.index() != appliedIndex + 1) {
      throw new IllegalStateException(
          "apply gap: entry " + entry.index() + " after applied index " + appliedIndex);
    }
    ByteBuffer result = null;
    Sessions.Status status = Sessions.Status.APPLIED;
    if (entry.type() == EntryType.COMMAND) {
      CommandEnvelope envelope = CommandEnvelope.decode(entry.payload());
      Sessions.Outcome outcome;
      try {
        outcome = sessions.apply(envelope, cmd -> stateMachine.apply(entry.index(), cmd));
      } catch (RuntimeException | Error e) {
        failedEntry = entry;
        throw e;
      }
      result = outcome.result();
      status = outcome.status();
    } else if (entry.type() == EntryType.CONFIGURATION) {
      appliedConfig = Configuration.decode(entry.payload());
    }
    bytesSinceSnapshot += entry.payload().remaining();
    // Invariant: appliedIndex (volatile) is published before the command's future completes. A
    // caller whose write completed may at once read at a follower or through a stale read on this
    // member; reads are served once appliedIndex reaches their index, so read-your-writes needs
    // the new index visible by the time the caller learns of the write (completeCommand checks).
    appliedIndex = entry.index();
    appliedTerm = entry.term();
    node.commands.complete(entry, result, status);
  }

  private void restore(SnapshotStore.Stored snapshot) throws IOException {
    SnapshotMeta meta = snapshot.meta();
    try (InputStream raw = snapshot.open();
        DataInputStream in = new DataInputStream(new BufferedInputStream(raw, 1 << 16))) {
      sessions.readFrom(in);
      stateMachine.restore(meta.index(), meta.term(), in);
    }
    appliedIndex = meta.index();
    appliedTerm = meta.term();
    appliedConfig = meta.configuration();
    lastSnapshotIndex = meta.index();
    bytesSinceSnapshot = 0;
    // The event loop logged the install (or the start) at INFO.
    LOG.debug("{}: restored snapshot at index {} term {}", node.who, meta.index(), meta.term());
  }

  private void serveReads() {
    while (!waiting.isEmpty() && waiting.peek().index() <= appliedIndex) {
      Read r = waiting.poll();
      answer(appliedIndex, r.query(), r.future());
    }
  }

  /**
   * Answers a read whose index is confirmed at once, on the calling thread (the event loop), if the
   * state machine allows {@linkplain StateMachine#concurrentQueries() concurrent queries}, no
   * snapshot restore is queued or running, and the applied index has reached {@code index}.
   *
   * @return false if the read must go through the apply thread instead
   */
  boolean tryQueryNow(long index, ByteBuffer query, CompletableFuture<Result> future) {
    if (!concurrentQueries || restoresPending.get() != 0) {
      return false;
    }
    long applied = appliedIndex;
    // Mutations.readBeforeApplied: the bug of answering before the read index is applied
    if (applied < index && !Mutations.readBeforeApplied) {
      return false;
    }
    answer(applied, query, future);
    return true;
  }

  private void answer(long appliedAt, ByteBuffer query, CompletableFuture<Result> future) {
    ByteBuffer answer;
    try {
      answer = stateMachine.query(query.asReadOnlyBuffer());
    } catch (RuntimeException e) {
      node.completeExceptionally(future, e);
      return;
    }
    node.complete(future, new Result(appliedAt, answer));
  }

  /** Fails reads whose deadline passed; returns the wait until the next deadline. */
  private long expireReads() {
    if (waiting.isEmpty()) {
      return Long.MAX_VALUE;
    }
    long now = node.scheduler.nanoTime();
    long next = Long.MAX_VALUE;
    for (java.util.Iterator<Read> it = waiting.iterator(); it.hasNext(); ) {
      Read r = it.next();
      if (r.deadline() - now <= 0) {
        it.remove();
        node.completeExceptionally(
            r.future(),
            new ReadTimeoutException(
                "read index "
                    + r.index()
                    + " not applied in time (applied "
                    + appliedIndex
                    + "); this member may be partitioned"));
      } else {
        next = Math.min(next, r.deadline() - now);
      }
    }
    return next;
  }

  private void failWaiting(RuntimeException e) {
    Read r;
    while ((r = waiting.poll()) != null) {
      node.completeExceptionally(r.future(), e);
    }
    Task t;
    while ((t = tasks.poll()) != null) {
      if (t instanceof Read read) {
        node.completeExceptionally(read.future(), e);
      } else if (t instanceof TakeSnapshot ts) {
        node.completeExceptionally(ts.future(), e);
      }
    }
  }

  /** Takes a snapshot if the threshold is passed, or if {@code forced} asks for one. */
  private void maybeSnapshot(CompletableFuture<Long> forced) {
    boolean due =
        (snapshotThreshold > 0 && appliedIndex - lastSnapshotIndex >= snapshotThreshold)
            || (snapshotThresholdBytes > 0 && bytesSinceSnapshot >= snapshotThresholdBytes);
    if ((forced == null && !due) || appliedIndex == 0) {
      if (forced != null) {
        node.complete(forced, lastSnapshotIndex);
      }
      return;
    }
    if (!snapshotInProgress.compareAndSet(false, true)) {
      if (forced != null) {
        node.completeExceptionally(
            forced, new CommandRejectedException("a snapshot is already being written"));
      }
      return;
    }
    SnapshotMeta meta = new SnapshotMeta(appliedIndex, appliedTerm, appliedConfig);
    StateMachine.Snapshot writer = stateMachine.snapshot();
    Sessions table = sessions.copy();
    lastSnapshotIndex = appliedIndex;
    bytesSinceSnapshot = 0;
    long start = node.scheduler.nanoTime();
    Runnable write =
        () -> {
          try (SnapshotStore.Sink sink = snapshots.create(meta)) {
            DataOutputStream out = new DataOutputStream(new BufferedOutputStream(sink.output()));
            table.writeTo(out);
            writer.writeTo(out);
            out.flush();
            SnapshotStore.Stored stored = sink.commit();
            long nanos = node.scheduler.nanoTime() - start;
            node.metrics.snapshotTaken(meta.index(), stored.size(), nanos);
            LOG.info(
                "{}: snapshot taken at index {} term {}: {} bytes in {} ms",
                node.who,
                meta.index(),
                meta.term(),
                stored.size(),
                nanos / 1_000_000);
            node.snapshotTaken(stored);
            if (forced != null) {
              node.complete(forced, meta.index());
            }
          } catch (IOException | RuntimeException e) {
            LOG.warn(
                "{}: snapshot at index {} failed; will retry later", node.who, meta.index(), e);
            if (forced != null) {
              node.completeExceptionally(forced, e);
            }
          } catch (Error e) {
            node.fatal("snapshot writer failed at index " + meta.index(), e);
            if (forced != null) {
              node.completeExceptionally(forced, e);
            }
          } finally {
            release(writer, meta.index());
            snapshotInProgress.set(false);
            // A snapshot that came due meanwhile is taken on the apply worker's next turn.
            Scheduler.Worker w = worker;
            if (w != null) {
              w.wake();
            }
          }
        };
    try {
      snapshotExecutor.execute(write);
    } catch (java.util.concurrent.RejectedExecutionException e) {
      release(writer, meta.index()); // abandoned: the snapshot thread is stopping or busy
      snapshotInProgress.set(false);
      if (forced != null) {
        node.completeExceptionally(forced, e);
      }
    }
  }

  /**
   * Closes a snapshot the state machine captured, once, on every path (StateMachine.Snapshot's
   * contract): after it was written or failed, or when it was abandoned.
   */
  private void release(StateMachine.Snapshot writer, long index) {
    try {
      writer.close();
    } catch (RuntimeException e) {
      LOG.warn("{}: releasing the snapshot captured at index {} failed", node.who, index, e);
    }
  }
}
