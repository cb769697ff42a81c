package org.flotilla.raft.internal.runtime;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.flotilla.raft.CommandRejectedException;
import org.flotilla.raft.CommandTooLargeException;
import org.flotilla.raft.NodeStatus;
import org.flotilla.raft.NodeStoppedException;
import org.flotilla.raft.NotLeaderException;
import org.flotilla.raft.OutcomeUnknownException;
import org.flotilla.raft.OverloadedException;
import org.flotilla.raft.RaftException;
import org.flotilla.raft.RaftListener;
import org.flotilla.raft.RaftNode;
import org.flotilla.raft.RaftOptions;
import org.flotilla.raft.ReadConsistency;
import org.flotilla.raft.Result;
import org.flotilla.raft.cluster.Configuration;
import org.flotilla.raft.cluster.Member;
import org.flotilla.raft.cluster.Role;
import org.flotilla.raft.internal.core.CoreOptions;
import org.flotilla.raft.internal.core.Progress;
import org.flotilla.raft.internal.core.RaftCore;
import org.flotilla.raft.internal.core.ReadState;
import org.flotilla.raft.internal.core.Ready;
import org.flotilla.raft.message.ForwardRequest;
import org.flotilla.raft.message.ForwardResponse;
import org.flotilla.raft.message.InstallSnapshot;
import org.flotilla.raft.message.InstallSnapshotResponse;
import org.flotilla.raft.message.LogEntry;
import org.flotilla.raft.message.RaftMessage;
import org.flotilla.raft.spi.HardState;
import org.flotilla.raft.spi.LogStore;
import org.flotilla.raft.spi.MetaStore;
import org.flotilla.raft.spi.RaftMetrics;
import org.flotilla.raft.spi.Scheduler;
import org.flotilla.raft.spi.SnapshotMeta;
import org.flotilla.raft.spi.SnapshotStore;
import org.flotilla.raft.spi.StorageException;
import org.flotilla.raft.spi.Transport;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The runtime behind a {@link RaftNode}: the event loop that owns the protocol core and does its
 * I/O, plus the apply and snapshot threads.
 *
 * <p>Threading. The event loop thread owns {@link #core} and every field marked "loop"; every input
 * to the core (inbound messages, proposals, reads, ticks, storage completions) is a task in the
 * loop's bounded queue. The apply thread owns the {@link Applier}. Fields marked "shared" are
 * thread-safe objects: the pending-command map (written by the loop, removed by the apply thread),
 * counters, and the durability mailbox written by the log store's thread.
 */
public final class NodeRuntime {

  private static final Logger LOG = LoggerFactory.getLogger(RaftNode.class);

  /** Committed entries handed to the apply thread and not yet applied, at most. */
  private static final int MAX_UNAPPLIED = 65_536;

  final String id;
  final String groupId;

  /** "group/id": the prefix of every log line. */
  final String who;

  private final RaftMetrics metrics;
  final RaftOptions options;
  private final Transport transport;
  private final LogStore logStore;
  private final MetaStore metaStore;
  private final SnapshotStore snapshotStore;
  private final Executor callbacks;
  private final Bootstrap bootstrap;
  private final List<RaftListener> listeners = new CopyOnWriteArrayList<>();
  private final long tickNanos;

  private final Scheduler scheduler;
  private final ArrayBlockingQueue<Runnable> queue;
  private final TaskWorker snapshotExecutor;
  final Applier applier;
  private Scheduler.Worker loopWorker;
  private Scheduler.Worker applyWorker;

  // shared
  final ConcurrentHashMap<Long, PendingCommand> commands = new ConcurrentHashMap<>();
  private final AtomicInteger pendingCount = new AtomicInteger();
  private final AtomicLong pendingBytes = new AtomicLong();
  private final AtomicReference<long[]> durable = new AtomicReference<>();
  private final AtomicBoolean stopping = new AtomicBoolean();
  // Lifecycle, written under this object's lock by start and close: a node starts at most once,
  // and never after close.
  private boolean startCalled;
  private volatile boolean closed;
  private final AtomicLong droppedInbound = new AtomicLong();
  private volatile boolean running;
  private volatile Throwable fatalError;
  // The fatal error that stopped the node: set once, by the first call of fatal(); null while
  // healthy. Once set, the status and the role gauge say FAILED.
  private final AtomicReference<NodeStatus.Failure> failure = new AtomicReference<>();
  // After a fatal error the metrics stay registered, so that monitoring sees it, until close().
  private final AtomicBoolean metricsUnregistered = new AtomicBoolean();
  // Counted down once the release of the resources is done (by close) or handed to stopWorker (by
  // the event loop after a fatal error), so that close() can wait for it.
  private final CountDownLatch stopHandedOff = new CountDownLatch(1);
  private volatile Scheduler.Worker stopWorker;
  // The status and gauges other threads read (see StatusBoard for who writes them).
  private final StatusBoard board;

  // loop
  RaftCore core;
  private SnapshotTransfers transfers;
  // forwarded commands, both ways (forwardToLeader); event loop only
  private final Forwarding forwarding = new Forwarding(this);
  // reads waiting for a read index; event loop only
  private final Reads reads = new Reads(this);
  // loop tasks waiting for the next tick (membership changes while the leader is new)
  private final List<Runnable> deferred = new ArrayList<>();
  private PendingChange pendingChange;
  private PendingTransfer pendingTransfer;
  // session log time (see LogClock); event loop only
  private final LogClock logClock = new LogClock();
  private Role lastRole;
  // the core's awaitingRepair() as last logged
  private boolean awaitingRepair;
  private long lastTerm = -1;
  private String lastLeader;
  private Configuration lastConfig;
  private long reachableVersion;
  private long handedToApply;
  private long ticks;
  private long nextTick;
  private boolean unflushed;

  /**
   * A proposed command awaiting its entry's application. Commands proposed at one index in
   * different terms (this member led, lost its entry, led again) wait in a chain: only the one
   * whose term the applied entry has took effect; the entry decides, not this member's log, since
   * an entry replaced here may still commit through another member.
   */
  static final class PendingCommand {
    final CompletableFuture<Result> future;
    final int size;
    long term;
    // an earlier command at the same index, written on the event loop before publication
    PendingCommand older;

    PendingCommand(CompletableFuture<Result> future, int size) {
      this.future = future;
      this.size = size;
    }
  }

  private record PendingChange(long index, CompletableFuture<Result> future) {}

  private record PendingTransfer(
      String target, long deadlineTick, CompletableFuture<Void> future) {}

  /** Builds the runtime of a node from what its builder checked; nothing starts yet. */
  public NodeRuntime(RuntimeSetup b) {
    this.id = b.id();
    this.groupId = b.groupId();
    this.who = b.groupId() + "/" + b.id();
    this.metrics = b.metrics();
    this.options = b.options();
    this.transport = b.transport();
    this.logStore = b.logStore();
    this.metaStore = b.metaStore();
    this.snapshotStore = b.snapshotStore();
    this.callbacks = b.callbackExecutor();
    this.bootstrap = Bootstrap.of(b.members(), b.learners(), b.join());
    this.tickNanos = options.tickInterval().toNanos();
    this.scheduler = LogContext.wrap(b.scheduler(), b.groupId(), b.id());
    this.queue = new ArrayBlockingQueue<>(options.inboundQueueCapacity());
    int applyCapacity = MAX_UNAPPLIED + options.maxPendingProposals() + 1024;
    this.snapshotExecutor = new TaskWorker(scheduler, "flotilla-" + id + "-snapshot", 4);
    this.applier =
        new Applier(
            this, b.stateMachine(), snapshotStore, snapshotExecutor, options, applyCapacity);
    this.board = new StatusBoard(groupId, id, applier, transport::peerStats);
    if (b.listener() != null) {
      listeners.add(b.listener());
    }
  }

  long nanoTime() {
    return scheduler.nanoTime();
  }

  /** Queues a task for the event loop and wakes it; false if the queue is full. */
  boolean post(Runnable task) {
    if (!queue.offer(task)) {
      return false;
    }
    Scheduler.Worker w = loopWorker;
    if (w != null) {
      w.wake();
    }
    return true;
  }

  private void wakeLoop() {
    Scheduler.Worker w = loopWorker;
    if (w != null) {
      w.wake();
    }
  }

  // ---------------------------------------------------------------- lifecycle

  /** Starts the node: see {@link org.flotilla.raft.RaftNode#start()}. */
  public synchronized void start() throws IOException {
    // Checked before anything is touched: a second start must not reset a running node.
    if (closed) {
      throw new IllegalStateException(who + " is closed; a closed node cannot start again");
    }
    if (startCalled) {
      throw new IllegalStateException(
          who
              + " was already started"
              + (running ? "" : " and is no longer running")
              + "; a node starts only once");
    }
    startCalled = true;
    // The stores and the transport may capture the context for their own threads.
    Map<String, String> previous = LogContext.enter(groupId, id);
    try {
      startInContext();
    } finally {
      LogContext.restore(previous);
    }
  }

  private void startInContext() throws IOException {
    Optional<SnapshotStore.Stored> snapshot = snapshotStore.latest();
    SnapshotMeta snapshotMeta = snapshot.map(SnapshotStore.Stored::meta).orElse(null);
    if (snapshotMeta != null
        && (logStore.lastIndex() < snapshotMeta.index()
            || logStore.term(snapshotMeta.index()) != snapshotMeta.term())) {
      LOG.info(
          "{}: log ends before or disagrees with snapshot {}; starting the log after it",
          who,
          snapshotMeta.index());
      logStore.reset(snapshotMeta.index(), snapshotMeta.term());
    }
    HardState hs = metaStore.load();
    // Settled and stored before the member takes part, so that no later start runs with another.
    Configuration initial =
        bootstrap.resolve(
            who, metaStore, hs.term() > 0 || logStore.lastIndex() > 0 || snapshotMeta != null);
    applier.startFrom(initial);
    CoreOptions coreOptions =
        new CoreOptions(
            Ticks.election(options),
            Ticks.heartbeat(options),
            options.preVote(),
            options.checkQuorum(),
            Ticks.leaseDrift(options),
            options.maxInflightAppends(),
            options.maxAppendBytes(),
            options.maxApplyBatchBytes(),
            Math.max(options.maxPendingProposals(), 1));
    // The scheduler's random source: fresh for a real node, from the seed in the simulator.
    core = new RaftCore(id, coreOptions, initial, logStore, hs, snapshotMeta, scheduler.random());
    forwarding.start(scheduler.random().nextInt());
    transfers = new SnapshotTransfers(this, snapshotStore, options);
    awaitingRepair = core.awaitingRepair();
    if (awaitingRepair) {
      LOG.warn(
          "{}: the log ends at {} but this member may have acknowledged up to {}@{} (its disk lost"
              + " a write it had reported durable): it will not campaign, and votes only for"
              + " members that hold that entry, until a leader has repaired its log",
          who,
          logStore.lastIndex(),
          core.durableMark().index(),
          core.durableMark().term());
    }
    lastConfig = core.configuration();
    board.refresh(core, failure.get());
    board.publishGauges(core, failure.get());
    metrics.register(board);
    try {
      startWorkers(snapshot, snapshotMeta, hs);
    } catch (IOException | RuntimeException e) {
      metrics.unregister();
      throw e;
    }
  }

  private void startWorkers(
      Optional<SnapshotStore.Stored> snapshot, SnapshotMeta snapshotMeta, HardState hs)
      throws IOException {
    if (snapshot.isPresent()) {
      handedToApply = snapshotMeta.index();
      applier.offer(new Applier.Restore(snapshot.get()));
    }
    logStore.setListener(
        new LogStore.DurabilityListener() {
          @Override
          public void durable(long index, long term) {
            durable.set(new long[] {index, term});
            wakeLoop();
          }

          @Override
          public void synced(long entries, long bytes, long nanos) {
            metrics.logSynced(entries, bytes, nanos);
          }

          @Override
          public void failed(Throwable cause) {
            fatal("the log store failed", cause);
          }
        });
    running = true;
    try {
      transport.start(
          id,
          new Transport.Inbox() {
            @Override
            public void receive(RaftMessage message) {
              NodeRuntime.this.receive(message);
            }

            @Override
            public void unsendable(RaftMessage message, String reason) {
              NodeRuntime.this.unsendable(message, reason);
            }
          });
      // Workers start only once nothing above can fail, so a failed start leaks no thread.
      applyWorker = scheduler.start("flotilla-" + id + "-apply", applier::turn);
      applier.attach(applyWorker);
      transport.updateMembers(core.reachableMembers());
      reachableVersion = core.configurationsVersion();
      lastConfig = core.configuration();
      nextTick = scheduler.nanoTime() + tickNanos;
      loopWorker = scheduler.startEventLoop("flotilla-" + id + "-loop", this::loopTurn);
    } catch (IOException | RuntimeException | Error e) {
      // Not running, and no worker of this start left behind (the scheduler may fail to start
      // the loop after the apply worker); close() releases the transport and stores.
      running = false;
      if (applyWorker != null
          && !(applier.offer(new Applier.Stop()) && applyWorker.awaitStop(10_000))) {
        LOG.warn("{}: apply worker did not stop within 10 s", who);
      }
      applyWorker = null;
      throw e;
    }
    LOG.info(
        "{}: started in term {} with {} entries after index {}{}; configuration {}",
        who,
        hs.term(),
        logStore.lastIndex() - logStore.baseIndex(),
        logStore.baseIndex(),
        snapshotMeta == null ? "" : ", restoring snapshot " + snapshotMeta.index(),
        describe(lastConfig));
  }

  /** Adds a listener: see {@link org.flotilla.raft.RaftNode#addListener}. */
  public void addListener(RaftListener l) {
    if (closed) {
      throw new IllegalStateException(
          who + " is closed; a listener added now would never be called");
    }
    listeners.add(l);
  }

  /** Stops the node: see {@link org.flotilla.raft.RaftNode#close()}. */
  public synchronized void close() {
    closed = true;
    if (!stopping.compareAndSet(false, true)) {
      if (failure.get() != null) {
        // Stopped by a fatal error: wait until the stores are released (a node restarted on them
        // must find them free), then unregister the metrics it left for monitoring to see.
        awaitFatalStop();
        unregisterMetrics();
      }
      return;
    }
    running = false;
    if (loopWorker != null) {
      loopWorker.wake();
      if (!loopWorker.awaitStop(10_000)) {
        LOG.warn("{}: event loop did not stop within 10 s", who);
      }
    }
    shutdownResources(new NodeStoppedException(id + " was closed", fatalError), true);
    stopHandedOff.countDown();
  }

  private void awaitFatalStop() {
    // The loop hands the stop off as it ends (a virtual scheduler's awaitStop runs it to its end).
    Scheduler.Worker loop = loopWorker;
    if (loop != null && !loop.inWorker() && !loop.awaitStop(10_000)) {
      LOG.warn("{}: event loop did not stop within 10 s", who);
    }
    try {
      if (!stopHandedOff.await(10, TimeUnit.SECONDS)) {
        LOG.warn("{}: the stop after the fatal error did not begin within 10 s", who);
        return;
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return;
    }
    Scheduler.Worker w = stopWorker;
    if (w != null && !w.inWorker() && !w.awaitStop(10_000)) {
      LOG.warn("{}: the stop after the fatal error did not finish within 10 s", who);
    }
  }

  /**
   * Fails pending work and releases the threads, the transport and the stores.
   *
   * @param reason the failure of pending commands (their outcome is unknown)
   * @param unregister whether to unregister the metrics too (not after a fatal error: see close)
   */
  private void shutdownResources(NodeStoppedException reason, boolean unregister) {
    for (PendingCommand p : commands.values()) {
      for (PendingCommand q = p; q != null; q = q.older) {
        completeExceptionally(q.future, reason);
      }
    }
    commands.clear();
    // Queued tasks never ran: nothing of theirs was proposed.
    NodeStoppedException notRun =
        new NodeStoppedException(reason.getMessage(), reason.getCause(), false);
    Runnable r;
    while ((r = queue.poll()) != null) {
      if (r instanceof FailableTask f) {
        f.fail(notRun);
      }
    }
    if (applyWorker != null
        && !(applier.offer(new Applier.Stop()) && applyWorker.awaitStop(10_000))) {
      LOG.warn("{}: apply worker did not stop within 10 s", who);
    }
    if (!snapshotExecutor.stop(10_000)) {
      LOG.warn("{}: snapshot worker did not finish within 10 s", who);
    }
    closeQuietly("transport", transport::close);
    closeQuietly("log store", logStore::close);
    closeQuietly("meta store", metaStore::close);
    closeQuietly("snapshot store", snapshotStore::close);
    if (unregister) {
      unregisterMetrics();
    }
    LOG.info("{}: stopped", who);
  }

  private void unregisterMetrics() {
    if (metricsUnregistered.compareAndSet(false, true)) {
      metrics.unregister();
    }
  }

  private void closeQuietly(String what, Runnable close) {
    try {
      close.run();
    } catch (RuntimeException e) {
      LOG.warn("{}: closing the {} failed", who, what, e);
    }
  }

  /**
   * Stops the node after an error it cannot recover from that concerns no particular entry (a
   * storage failure, a failed thread, an unsendable message). See {@link #fatal(String, long,
   * Throwable, String)}.
   */
  void fatal(String what, Throwable cause) {
    fatal(
        what,
        0,
        cause,
        "Way out: fix what the error names (the disk, its space or permissions, a plug-in) and"
            + " restart this member on the same data: it recovers what is durable and the other"
            + " members send it the rest (docs/operations.md, \"A member that failed\")");
  }

  /**
   * Stops the node after an error it cannot recover from. Every fatal error takes this one path:
   * storage, the state machine, the event loop, an unsendable message. At once, the node stops
   * taking work ({@link #isRunning()} turns false, so new calls fail with a {@link
   * NodeStoppedException} carrying the cause), its status and role gauge say {@link Role#FAILED}
   * with the failure, it logs one ERROR line that tells the operator the way out, and its metrics
   * and listeners hear of it. The event loop then fails pending work with {@link
   * NodeStoppedException} and releases the threads and stores ({@link #finishLoop()}). Only the
   * first call counts. Callable from any thread.
   *
   * @param what what failed, in words
   * @param index the log index the failure concerns, or 0
   * @param cause the error
   * @param wayOut what the operator should do, for the log line
   */
  void fatal(String what, long index, Throwable cause, String wayOut) {
    NodeStatus.Failure f = new NodeStatus.Failure(what, index, cause);
    if (!failure.compareAndSet(null, f)) {
      LOG.debug("{}: after the fatal error, also: {}", who, what, cause);
      return;
    }
    // The cause before the flag: a caller that finds the node not running finds the cause too.
    fatalError = cause;
    running = false;
    board.publishFailure(f);
    LOG.error("{}: FAILED: {}; this member stopped. {}", who, what, wayOut, cause);
    try {
      metrics.nodeFailed(f);
    } catch (RuntimeException e) {
      LOG.warn("{}: the metrics failed to record the failure", who, e);
    }
    long term = board.term();
    for (RaftListener l : listeners) {
      callback(
          () -> {
            l.onRoleChange(Role.FAILED, term);
            l.onFatalError(cause);
          });
    }
    wakeLoop();
  }

  /**
   * The transport reports that it can never send {@code m}. The core would re-send it (or the same
   * entries) for ever, so this member stops with a fatal error instead of stalling silently.
   * Callable from any thread.
   */
  private void unsendable(RaftMessage m, String reason) {
    String what =
        "the transport cannot send a "
            + m.getClass().getSimpleName()
            + " to "
            + m.to()
            + ": "
            + reason;
    fatal(
        what,
        new RaftException(
            who
                + ": "
                + what
                + "; re-sending it could never succeed (an entry written under a larger limit?"
                + " maxMessageBytes and the transport's limit must allow every entry in the log)"));
  }

  /** Whether the node runs: see {@link org.flotilla.raft.RaftNode#isRunning()}. */
  public boolean isRunning() {
    return running;
  }

  /**
   * The failure of a call made when the node is not running: nothing was proposed. After a fatal
   * error it names the failure and carries its cause.
   */
  private NodeStoppedException notRunning() {
    NodeStatus.Failure f = failure.get();
    Throwable cause = f == null ? fatalError : f.cause();
    String why =
        f == null
            ? id + " is not running"
            : id + " is not running: it stopped after a fatal error: " + f.reason();
    return new NodeStoppedException(why + "; nothing was proposed", cause, false);
  }

  // ---------------------------------------------------------------- the event loop

  /** One turn of the event loop: due ticks, queued tasks, storage reports, the ready batches. */
  private long loopTurn() {
    try {
      if (running) {
        deliverDueTicks();
      }
      Runnable task;
      int n = 0;
      while (running && n < 4096 && (task = queue.poll()) != null) {
        task.run();
        n++;
      }
      if (running) {
        long[] d = durable.getAndSet(null);
        if (d != null) {
          core.persisted(d[0], d[1]);
        }
        core.setApplyLimit(applier.appliedIndex() + MAX_UNAPPLIED);
        processReady();
        board.publishGauges(core, failure.get());
      }
    } catch (StorageException e) {
      fatal("a store failed on the event loop", e);
    } catch (RuntimeException | Error e) {
      fatal("the event loop failed", e);
    }
    if (!running) {
      finishLoop();
      return -1;
    }
    return queue.isEmpty() ? Math.max(0, nextTick - scheduler.nanoTime()) : 0;
  }

  /**
   * Delivers the ticks that came due since the last turn, before any request is served. After a
   * pause (a long GC, a frozen VM) every missed tick counts, up to two election timeouts' worth,
   * which is enough to expire any lease and election timer: a paused leader never serves a lease
   * read on time it did not see pass.
   */
  private void deliverDueTicks() {
    long now = scheduler.nanoTime();
    if (now - nextTick < 0) {
      return;
    }
    long due = (now - nextTick) / tickNanos + 1;
    long deliver = Math.min(due, 2L * Ticks.election(options) + 1);
    for (long i = 0; i < deliver && running; i++) {
      tick();
    }
    nextTick += due * tickNanos;
  }

  private void finishLoop() {
    NodeStatus.Failure f = failure.get();
    if (f != null) {
      board.publishFailure(f);
    }
    failLoopWork(new NodeStoppedException(id + " stopped", fatalError));
    if (f != null && stopping.compareAndSet(false, true)) {
      // Fail-stop: release everything; close() later finds nothing left to do but unregister the
      // metrics. Off the loop: a loop that runs on the transport's own I/O thread could not close
      // that transport from it.
      NodeStoppedException reason =
          new NodeStoppedException(id + " stopped after a fatal error: " + f.reason(), f.cause());
      Scheduler.Turn shutdown =
          () -> {
            shutdownResources(reason, false);
            return -1;
          };
      try {
        stopWorker = scheduler.start("flotilla-" + id + "-stop", shutdown);
      } catch (RuntimeException | Error e) {
        LOG.warn("{}: cannot start a thread to stop; stopping on the event loop", who, e);
        shutdownResources(reason, false);
      } finally {
        stopHandedOff.countDown();
      }
    }
  }

  private void tick() {
    ticks++;
    core.tick();
    if (!deferred.isEmpty()) {
      List<Runnable> retry = new ArrayList<>(deferred);
      deferred.clear();
      retry.forEach(Runnable::run);
    }
    transfers.tick();
    if (core.role() == Role.LEADER) {
      maybeAutoPromote();
    }
    reads.expire(ticks);
    forwarding.expire(ticks);
    if (pendingTransfer != null && ticks >= pendingTransfer.deadlineTick()) {
      completeExceptionally(
          pendingTransfer.future(),
          new CommandRejectedException(
              "leadership transfer to " + pendingTransfer.target() + " did not complete in time"));
      pendingTransfer = null;
    }
    if (ticks % 10 == 0) {
      board.refresh(core, failure.get());
    }
  }

  private void processReady() {
    boolean any = false;
    while (core.hasReady()) {
      any = true;
      Ready rd = core.ready();
      if (rd.snapshot() != null) {
        installReceivedSnapshot(rd.snapshot());
      }
      if (!rd.entries().isEmpty()) {
        if (core.role() != Role.LEADER) {
          logClock.note(rd.entries());
        }
        long start = scheduler.nanoTime();
        logStore.append(rd.entries());
        metrics.logAppended(rd.entries().size(), scheduler.nanoTime() - start);
        if (Mutations.durableOnAppend) {
          // the bug of counting appended entries as durable before the disk syncs them
          LogEntry last = rd.entries().get(rd.entries().size() - 1);
          durable.set(new long[] {last.index(), last.term()});
        }
      }
      if (rd.hardState() != null) {
        // Figure 2: persist currentTerm and votedFor before answering anyone.
        metaStore.save(rd.hardState());
      }
      for (RaftMessage m : rd.messages()) {
        send(m);
      }
      for (InstallSnapshot notice : rd.snapshotsToSend()) {
        transfers.startSending(notice);
      }
      List<LogEntry> committed = rd.committedEntries();
      if (!committed.isEmpty()) {
        handedToApply = committed.get(committed.size() - 1).index();
        // Counted before the hand-off: the apply thread may complete a caller's future at once,
        // and a caller that then reads the metrics must see its entry counted as committed and
        // the commit index gauge at or past it.
        metrics.entriesCommitted(committed.size(), handedToApply);
        board.publishCommitIndex(core.commitIndex());
        if (!applier.offer(new Applier.Entries(committed))) {
          throw new IllegalStateException("apply queue overflow at index " + handedToApply);
        }
      }
      for (ReadState rs : rd.readStates()) {
        reads.answered(rs);
      }
    }
    if (unflushed) {
      // One flush per loop turn: the transport coalesces the turn's writes.
      unflushed = false;
      transport.flush();
    }
    if (any) {
      observeChanges();
    }
  }

  private void installReceivedSnapshot(SnapshotMeta meta) {
    SnapshotStore.Stored stored;
    try {
      stored = snapshotStore.latest().orElse(null);
    } catch (IOException e) {
      throw new IllegalStateException("cannot read the received snapshot", e);
    }
    if (stored == null || stored.meta().index() != meta.index()) {
      throw new IllegalStateException("received snapshot " + meta.index() + " is not stored");
    }
    logStore.reset(meta.index(), meta.term());
    handedToApply = meta.index();
    // Commands this member proposed up to the snapshot may or may not be in it: unknown.
    for (Iterator<Map.Entry<Long, PendingCommand>> it = commands.entrySet().iterator();
        it.hasNext(); ) {
      Map.Entry<Long, PendingCommand> e = it.next();
      if (e.getKey() <= meta.index()) {
        it.remove();
        for (PendingCommand q = e.getValue(); q != null; q = q.older) {
          completeExceptionally(
              q.future,
              new OutcomeUnknownException(
                  "outcome unknown: entry " + e.getKey() + " was replaced by a snapshot"));
        }
      }
    }
    if (!applier.offer(new Applier.Restore(stored))) {
      throw new IllegalStateException("apply queue overflow on snapshot restore");
    }
    metrics.snapshotInstalled(meta.index(), stored.size());
    LOG.info(
        "{}: installing snapshot {} (term {}, {} bytes) from the leader",
        who,
        meta.index(),
        meta.term(),
        stored.size());
  }

  /** Inbound message from the transport's threads. */
  private void receive(RaftMessage m) {
    if (!running) {
      return;
    }
    boolean queued =
        post(
            () -> {
              if (m instanceof InstallSnapshot chunk) {
                transfers.receive(chunk, core);
              } else if (m instanceof ForwardRequest r) {
                forwarding.onRequest(r);
              } else if (m instanceof ForwardResponse r) {
                forwarding.onResponse(r);
              } else {
                if (m instanceof InstallSnapshotResponse r) {
                  transfers.acknowledged(r);
                }
                core.step(m);
              }
            });
    if (!queued) {
      long dropped = droppedInbound.incrementAndGet();
      if (Long.bitCount(dropped) == 1) {
        LOG.warn("{}: inbound queue full; dropped {} messages so far", who, dropped);
      }
    }
  }

  void send(RaftMessage m) {
    transport.send(m);
    unflushed = true;
  }

  RaftCore core() {
    return core;
  }

  // ---------------------------------------------------------------- changes and status

  private void observeChanges() {
    if (awaitingRepair && !core.awaitingRepair()) {
      awaitingRepair = false;
      LOG.info(
          "{}: the leader repaired the log past {}; this member votes and campaigns again",
          who,
          core.durableMark().index());
    }
    Role role = core.role();
    long term = core.term();
    String leader = core.leader();
    boolean leaderChanged = !java.util.Objects.equals(leader, lastLeader);
    if (role != lastRole || term != lastTerm || leaderChanged) {
      logChange(role, term, leader);
    }
    if (role != lastRole || term != lastTerm) {
      if (role != lastRole && role == Role.CANDIDATE) {
        metrics.electionStarted(term);
      } else if (role != lastRole && role == Role.LEADER) {
        metrics.electionWon(term);
      }
      Role r = role;
      for (RaftListener l : listeners) {
        callback(() -> l.onRoleChange(r, term));
      }
      if (lastRole == Role.LEADER && role != Role.LEADER) {
        transfers.stopSending();
        if (pendingChange != null && pendingChangeCommitted()) {
          // A leader that removed itself steps down as the removal commits.
          complete(pendingChange.future(), new Result(core.configurationIndex(), null));
          pendingChange = null;
        } else if (pendingChange != null) {
          completeExceptionally(
              pendingChange.future(),
              new OutcomeUnknownException(
                  id + " lost leadership; the membership change may or may not complete"));
          pendingChange = null;
        }
      }
      lastRole = role;
      lastTerm = term;
      board.refresh(core, failure.get());
    }
    if (leaderChanged) {
      if (leader != null) {
        metrics.leaderChanged(leader, term);
      }
      lastLeader = leader;
      for (RaftListener l : listeners) {
        callback(() -> l.onLeaderChange(leader, term));
      }
      if (pendingTransfer != null && pendingTransfer.target().equals(leader)) {
        complete(pendingTransfer.future(), null);
        pendingTransfer = null;
      }
    }
    Configuration config = core.configuration();
    if (!config.equals(lastConfig)) {
      LOG.info("{}: configuration is now {}", who, describe(config));
      lastConfig = config;
      for (RaftListener l : listeners) {
        callback(() -> l.onMembershipChange(config));
      }
      board.refresh(core, failure.get());
      callback(() -> metrics.membershipChanged(config));
    }
    if (core.configurationsVersion() != reachableVersion) {
      // Members leave the transport only once the configuration that removes them commits.
      reachableVersion = core.configurationsVersion();
      transport.updateMembers(core.reachableMembers());
    }
    if (pendingChange != null && pendingChangeCommitted()) {
      complete(pendingChange.future(), new Result(core.configurationIndex(), null));
      pendingChange = null;
    }
  }

  /** Whether the configuration the pending change asked for is in force and committed. */
  private boolean pendingChangeCommitted() {
    return !core.configuration().isJoint()
        && core.configurationIndex() >= pendingChange.index()
        && core.commitIndex() >= core.configurationIndex();
  }

  /** Logs a role, term or leader change as one line, naming only what changed. */
  private void logChange(Role role, long term, String leader) {
    StringBuilder sb = new StringBuilder();
    if (role != lastRole) {
      sb.append(lastRole == null ? "" : lastRole + " -> ").append(role);
    } else {
      sb.append(role);
    }
    if (term != lastTerm && lastTerm >= 0) {
      sb.append(", term ").append(lastTerm).append(" -> ").append(term);
    } else {
      sb.append(" in term ").append(term);
    }
    if (!java.util.Objects.equals(leader, lastLeader)) {
      sb.append(", leader ").append(leader == null ? "unknown" : leader);
    }
    LOG.info("{}: {}", who, sb);
  }

  /** Publishes the scalars the metrics' gauges read. Loop (or start, before the loop runs). */
  private static String describe(Configuration c) {
    if (c.isEmpty()) {
      return "none yet: waiting for a leader to add this member";
    }
    StringBuilder sb = new StringBuilder("voters ");
    sb.append(c.voters().stream().map(Member::id).toList());
    if (c.isJoint()) {
      sb.append(" joint with ").append(c.outgoing().stream().map(Member::id).toList());
    }
    if (!c.learners().isEmpty()) {
      sb.append(" learners ").append(c.learners().stream().map(Member::id).toList());
    }
    return sb.toString();
  }

  /** The last published status, or null before start (see {@link StatusBoard}). */
  public NodeStatus status() {
    return board.status();
  }

  Member leaderMember() {
    String leader = core == null ? null : core.leader();
    if (leader == null) {
      return null;
    }
    return lastConfig.member(leader).orElse(Member.of(leader));
  }

  NotLeaderException notLeader() {
    return new NotLeaderException(id, leaderMember());
  }

  // ---------------------------------------------------------------- commands

  /**
   * Proposes a command: see {@link org.flotilla.raft.RaftNode#submit(String, long, ByteBuffer)}.
   */
  public CompletableFuture<Result> submit(String clientId, long sequence, ByteBuffer command) {
    CompletableFuture<Result> f = new CompletableFuture<>();
    if (!running) {
      f.completeExceptionally(notRunning());
      return f;
    }
    int size = command.remaining();
    ByteBuffer payload;
    try {
      payload = Sessions.encode(clientId, sequence, command);
    } catch (IllegalArgumentException e) {
      f.completeExceptionally(new CommandRejectedException(e.getMessage()));
      return f;
    }
    if (payload.remaining() > options.maxEntryBytes()) {
      // Refused here, leader or not: an entry no message can carry would wedge replication.
      f.completeExceptionally(
          tooLarge(
              "a command of " + size + " bytes (" + payload.remaining() + " as a log entry)",
              payload.remaining()));
      return f;
    }
    CompletableFuture<Result> caller = reserve(size, f);
    if (caller == null) {
      metrics.proposalRejected();
      return f;
    }
    PendingCommand p = new PendingCommand(f, size);
    boolean queued =
        enqueue(
            new FailableTask(f) {
              @Override
              public void run() {
                propose(p, payload);
              }
            },
            f);
    if (!queued) {
      metrics.proposalRejected();
    }
    return caller;
  }

  CommandTooLargeException tooLarge(String what, long entryBytes) {
    return new CommandTooLargeException(
        id
            + ": "
            + what
            + " is larger than the largest entry, "
            + options.maxEntryBytes()
            + " bytes (maxMessageBytes "
            + options.maxMessageBytes()
            + " less "
            + RaftOptions.MESSAGE_OVERHEAD_BYTES
            + " bytes of message overhead); not proposed",
        entryBytes,
        options.maxEntryBytes());
  }

  /**
   * Reserves pending budget for an operation whose internal future is {@code f}.
   *
   * @return the future to hand the caller: it completes as {@code f} does, after the budget is
   *     released, so an operation started from its completion finds the budget free; null if the
   *     budget is exhausted ({@code f} has failed with {@link OverloadedException})
   */
  <T> CompletableFuture<T> reserve(int size, CompletableFuture<T> f) {
    int count = pendingCount.incrementAndGet();
    long bytes = pendingBytes.addAndGet(size);
    if (count > options.maxPendingProposals() || bytes > options.maxPendingBytes()) {
      pendingCount.decrementAndGet();
      pendingBytes.addAndGet(-size);
      f.completeExceptionally(
          new OverloadedException(
              id
                  + " has "
                  + (count - 1)
                  + " operations ("
                  + (bytes - size)
                  + " bytes) pending; limits are "
                  + options.maxPendingProposals()
                  + " and "
                  + options.maxPendingBytes()
                  + " bytes"));
      return null;
    }
    CompletableFuture<T> caller = new CompletableFuture<>();
    CompletableFuture<?> unused =
        f.whenComplete(
            (r, e) -> {
              pendingCount.decrementAndGet();
              pendingBytes.addAndGet(-size);
              if (e == null) {
                caller.complete(r);
              } else {
                caller.completeExceptionally(e);
              }
            });
    return caller;
  }

  /** Queues a loop task, or fails its future; false if it failed for a full queue. */
  private boolean enqueue(FailableTask task, CompletableFuture<?> f) {
    if (!post(task)) {
      f.completeExceptionally(new OverloadedException(id + ": event loop queue is full"));
      return false;
    } else if (!running && queue.remove(task)) {
      // The loop stopped between the caller's check and the post: nobody would run it.
      task.fail(notRunning());
    }
    return true;
  }

  void propose(PendingCommand p, ByteBuffer payload) {
    if (core.role() != Role.LEADER) {
      String leader = core.leader();
      if (options.forwardToLeader() && leader != null && !leader.equals(id)) {
        forwarding.forward(p, payload, leader, ticks);
        return;
      }
      completeExceptionally(p.future, notLeader());
      return;
    }
    payload.putLong(
        Sessions.TIMESTAMP_OFFSET,
        logClock.stamp(core.term(), scheduler.nanoTime(), applier.logTime()));
    long index = core.propose(List.of(payload));
    if (index < 0) {
      if (index == RaftCore.REJECTED_OVERLOADED) {
        metrics.proposalRejected();
      }
      completeExceptionally(p.future, rejection(index));
      return;
    }
    metrics.proposalAccepted(p.size);
    p.term = core.term();
    chain(index, p);
  }

  /**
   * Registers a pending command at an index, behind any earlier one there: that one's entry left
   * this member's log, but its outcome is known only when the index is applied.
   */
  void chain(long index, PendingCommand p) {
    // Atomic against the apply thread's remove, and p.older is set before p is published.
    commands.compute(
        index,
        (i, older) -> {
          p.older = older;
          return p;
        });
  }

  private RaftException rejection(long code) {
    if (code == RaftCore.REJECTED_NOT_LEADER) {
      return notLeader();
    }
    if (code == RaftCore.REJECTED_OVERLOADED) {
      return new OverloadedException(id + ": too many uncommitted entries");
    }
    if (code == RaftCore.REJECTED_TRANSFERRING) {
      return new CommandRejectedException(id + ": leadership transfer in progress");
    }
    if (code == RaftCore.REJECTED_CHANGE_IN_PROGRESS) {
      return new CommandRejectedException(
          id + ": another membership change is in progress (or the leader is new)");
    }
    return new CommandRejectedException(id + ": invalid configuration");
  }

  /** Called by the apply thread for every applied entry. */
  void completeCommand(LogEntry entry, ByteBuffer result, Sessions.Status status) {
    if (applier.appliedIndex() < entry.index()) {
      // The invariant Applier.applyEntry keeps: a caller that learns of its write can read it.
      throw new IllegalStateException(
          "command at " + entry.index() + " completed before applied index reached it");
    }
    PendingCommand p = commands.remove(entry.index());
    if (p != null) {
      settle(p, entry.index(), entry.term(), result, status);
    }
  }

  /**
   * Settles a chain of commands at an applied index: the entry's term tells which took effect. Each
   * completion goes to the callback executor.
   */
  void settle(
      PendingCommand chain, long index, long term, ByteBuffer result, Sessions.Status status) {
    for (PendingCommand p = chain; p != null; p = p.older) {
      Throwable failure = null;
      if (p.term != term) {
        failure =
            new CommandRejectedException(
                "the entry at index " + index + " was replaced by a new leader's");
      } else if (status == Sessions.Status.SUPERSEDED) {
        failure =
            new CommandRejectedException(
                "a later command of this client session was already applied");
      } else if (status == Sessions.Status.NO_SESSION) {
        failure =
            new CommandRejectedException(
                "the client has no session (it expired, or never began with sequence 1); the"
                    + " command was not applied. Start a new session: a new client id, sequence"
                    + " 1");
      } else if (status == Sessions.Status.SESSIONS_FULL) {
        failure =
            new CommandRejectedException(
                "the group already holds maxSessions ("
                    + options.maxSessions()
                    + ") client sessions; the command was not applied and opened no session."
                    + " Retry once idle sessions expire (sessionTimeout), or raise maxSessions");
      }
      if (failure == null) {
        complete(p.future, new Result(index, result));
      } else {
        completeExceptionally(p.future, failure);
      }
    }
  }

  /**
   * Called by the apply thread after a batch. The loop raises its apply limit on its next turn (at
   * the latest on the next tick), so nothing needs waking here.
   */
  void applied(long index) {
    LOG.trace("{}: applied {}", who, index);
  }

  // ---------------------------------------------------------------- reads

  /** Serves a query: see {@link org.flotilla.raft.RaftNode#read}. */
  public CompletableFuture<Result> read(ByteBuffer query, ReadConsistency consistency) {
    CompletableFuture<Result> f = new CompletableFuture<>();
    if (!running) {
      f.completeExceptionally(notRunning());
      return f;
    }
    CompletableFuture<Result> caller = reserve(query.remaining(), f);
    if (caller == null) {
      return f;
    }
    // Mutations.followerReadsLocally: the bug of serving a follower's read without a read index
    // (reads the core off its loop: only with the switch on, in the single-threaded simulator)
    if (consistency == ReadConsistency.STALE
        || (Mutations.followerReadsLocally && core.role() != Role.LEADER)) {
      if (!applier.offer(new Applier.Read(0, query, f, reads.deadline()))) {
        f.completeExceptionally(new OverloadedException(id + ": apply queue is full"));
      }
      return caller;
    }
    boolean lease = consistency == ReadConsistency.LEASE;
    enqueue(
        new FailableTask(f) {
          @Override
          public void run() {
            if (lease) {
              // The lease is judged on time that has really passed, even mid-turn.
              deliverDueTicks();
            }
            reads.request(query, f, lease, ticks);
          }
        },
        f);
    return caller;
  }

  // ---------------------------------------------------------------- membership, transfer

  /**
   * Proposes the configuration {@code change} makes of the current one (joint if voters change).
   */
  public CompletableFuture<Result> changeMembership(
      java.util.function.Function<Configuration, Configuration> change) {
    CompletableFuture<Result> f = new CompletableFuture<>();
    if (!running) {
      f.completeExceptionally(notRunning());
      return f;
    }
    long[] firstTry = {-1};
    enqueue(
        new FailableTask(f) {
          @Override
          public void run() {
            if (firstTry[0] < 0) {
              firstTry[0] = ticks;
            }
            if (core.role() != Role.LEADER) {
              completeExceptionally(f, notLeader());
              return;
            }
            if (pendingChange != null) {
              completeExceptionally(
                  f, new CommandRejectedException(id + ": a membership change is in progress"));
              return;
            }
            if (!core.isLeaderReady()) {
              // A new leader commits its no-op first; retry on the next ticks meanwhile.
              if (ticks - firstTry[0] > 2L * Ticks.election(options)) {
                completeExceptionally(
                    f, new CommandRejectedException(id + ": leader not ready for a change"));
              } else {
                deferred.add(this);
              }
              return;
            }
            Configuration target;
            try {
              target = change.apply(core.configuration());
            } catch (IllegalArgumentException e) {
              completeExceptionally(f, new CommandRejectedException(e.getMessage()));
              return;
            }
            // The entry is the target or, when the voters change, the joint configuration of the
            // target and the current one: at most the two together.
            long entryBytes =
                (long) target.encode().remaining() + core.configuration().encode().remaining();
            if (entryBytes > options.maxEntryBytes()) {
              completeExceptionally(
                  f, tooLarge("a configuration of up to " + entryBytes + " bytes", entryBytes));
              return;
            }
            long index = core.proposeConfiguration(target);
            if (index == RaftCore.REJECTED_CHANGE_IN_PROGRESS
                && ticks - firstTry[0] <= 2L * Ticks.election(options)) {
              // The group's own change is still committing (an automatic promotion, or the
              // second phase of a joint change): wait for it rather than refuse the user's.
              deferred.add(this);
              return;
            }
            if (index < 0) {
              completeExceptionally(f, rejection(index));
              return;
            }
            pendingChange = new PendingChange(index, f);
          }
        },
        f);
    return f;
  }

  private void maybeAutoPromote() {
    Configuration c = core.configuration();
    if (c.promotable().isEmpty() || pendingChange != null) {
      return;
    }
    if (c.isJoint() || core.configurationIndex() > core.commitIndex()) {
      return;
    }
    for (String learner : c.promotable()) {
      Progress p = core.progress().get(learner);
      // Only a learner that answers and replicates (not one that was never heard from, whose
      // match index 0 may look close to a short log) is promoted.
      if (p != null
          && p.recentActive()
          && p.state() == Progress.State.REPLICATE
          && p.match() > 0
          && core.lastIndex() - p.match() <= options.autoPromoteLagEntries()) {
        List<Member> voters = new ArrayList<>(c.voters());
        List<Member> learners = new ArrayList<>(c.learners());
        Member m = c.member(learner).orElseThrow();
        learners.remove(m);
        voters.add(m);
        long index =
            core.proposeConfiguration(
                new Configuration(voters, List.of(), learners, c.promotable()));
        if (index > 0) {
          LOG.debug("{}: promoting caught-up learner {} to voter", who, learner);
        }
        return;
      }
    }
  }

  /** Hands leadership over: see {@link org.flotilla.raft.RaftNode#transferLeadership}. */
  public CompletableFuture<Void> transferLeadership(String target) {
    CompletableFuture<Void> f = new CompletableFuture<>();
    if (!running) {
      f.completeExceptionally(notRunning());
      return f;
    }
    enqueue(
        new FailableTask(f) {
          @Override
          public void run() {
            if (target.equals(core.leader())) {
              complete(f, null);
              return;
            }
            if (!core.transferLeadership(target)) {
              completeExceptionally(
                  f,
                  core.role() != Role.LEADER
                      ? notLeader()
                      : new CommandRejectedException(target + " is not a voter"));
              return;
            }
            pendingTransfer = new PendingTransfer(target, ticks + 2L * Ticks.election(options), f);
          }
        },
        f);
    return f;
  }

  /** Takes a snapshot now: see {@link org.flotilla.raft.RaftNode#takeSnapshot()}. */
  public CompletableFuture<Long> takeSnapshot() {
    CompletableFuture<Long> f = new CompletableFuture<>();
    if (!running) {
      f.completeExceptionally(notRunning());
      return f;
    }
    CompletableFuture<Long> caller = reserve(0, f);
    if (caller == null) {
      return f;
    }
    if (!applier.offer(new Applier.TakeSnapshot(f))) {
      f.completeExceptionally(new OverloadedException(id + ": apply queue is full"));
    }
    return caller;
  }

  /** Called by the snapshot thread once a snapshot is durable. */
  void snapshotTaken(SnapshotStore.Stored stored) {
    boolean queued =
        post(
            () -> {
              SnapshotMeta meta = stored.meta();
              core.snapshotTaken(meta);
              long compactTo =
                  Math.min(
                      meta.index() - options.snapshotTrailingEntries(),
                      transfers.oldestSnapshotInFlight());
              compactTo = Math.min(compactTo, logStore.lastIndex());
              if (compactTo > logStore.baseIndex()) {
                logStore.compact(compactTo);
              }
            });
    if (!queued) {
      LOG.warn(
          "{}: loop queue full; log compaction after snapshot {} deferred", who, stored.meta());
    }
  }

  // ---------------------------------------------------------------- futures

  <T> void complete(CompletableFuture<T> f, T value) {
    callback(() -> f.complete(value));
  }

  void completeExceptionally(CompletableFuture<?> f, Throwable e) {
    callback(() -> f.completeExceptionally(e));
  }

  private void callback(Runnable r) {
    try {
      callbacks.execute(r);
    } catch (RejectedExecutionException e) {
      LOG.warn("{}: callback executor rejected a completion; running it inline", who, e);
      r.run();
    }
  }

  private void failLoopWork(NodeStoppedException reason) {
    // Deferred tasks proposed nothing yet, and reads change nothing: their outcome is known.
    NodeStoppedException definite =
        new NodeStoppedException(reason.getMessage(), reason.getCause(), false);
    for (Runnable r : deferred) {
      if (r instanceof FailableTask f) {
        f.fail(definite);
      }
    }
    deferred.clear();
    reads.failAll(definite);
    forwarding.failAll(reason);
    if (pendingChange != null) {
      completeExceptionally(pendingChange.future(), reason);
      pendingChange = null;
    }
    if (pendingTransfer != null) {
      completeExceptionally(pendingTransfer.future(), reason);
      pendingTransfer = null;
    }
    if (transfers != null) {
      transfers.stopSending();
      transfers.stopReceiving();
    }
  }

  RaftMetrics metrics() {
    return metrics;
  }

  /** The node's live values for its metrics; thread-safe reads of volatile fields. */
  /** A loop task with a future to fail if the task never runs. */
  abstract static class FailableTask implements Runnable {
    private final CompletableFuture<?> future;

    FailableTask(CompletableFuture<?> future) {
      this.future = future;
    }

    void fail(Throwable e) {
      future.completeExceptionally(e);
    }
  }
}
