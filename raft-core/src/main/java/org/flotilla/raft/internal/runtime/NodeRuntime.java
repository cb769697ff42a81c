package org.flotilla.raft.internal.runtime;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.flotilla.raft.NodeStatus;
import org.flotilla.raft.NodeStoppedException;
import org.flotilla.raft.NotLeaderException;
import org.flotilla.raft.OverloadedException;
import org.flotilla.raft.RaftListener;
import org.flotilla.raft.RaftNode;
import org.flotilla.raft.RaftOptions;
import org.flotilla.raft.ReadConsistency;
import org.flotilla.raft.Result;
import org.flotilla.raft.cluster.Configuration;
import org.flotilla.raft.cluster.Member;
import org.flotilla.raft.cluster.Role;
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
 * The runtime behind a {@link RaftNode}: its lifecycle (start, and with {@link Stopper} close and
 * fail-stop) and the event loop that owns the protocol core and does its I/O. Each other duty has
 * its own class, with its state: pending commands ({@link Commands}), forwarding to the leader
 * ({@link Forwarding}), reads ({@link Reads}), membership changes and transfers ({@link
 * Membership}), reporting changes ({@link ChangeReporter}), the published status ({@link
 * StatusBoard}), snapshot transfers ({@link SnapshotTransfers}), session log time ({@link
 * LogClock}), and on the apply thread the state machine ({@link Applier}). They reach this class's
 * package-private fields; each field's comment names its thread.
 *
 * <p>Threading. The event loop thread owns {@link #core} and every field marked "loop"; every input
 * to the core (inbound messages, proposals, reads, ticks, storage completions) is a task in the
 * loop's bounded queue. The apply thread owns the {@link Applier}. Fields marked "shared" are
 * thread-safe objects: the pending commands (added by the loop, removed by the apply thread),
 * counters, and the durability mailbox written by the log store's thread.
 */
public final class NodeRuntime {

  private static final Logger LOG = LoggerFactory.getLogger(RaftNode.class);

  /** Committed entries handed to the apply thread and not yet applied, at most. */
  private static final int MAX_UNAPPLIED = 65_536;

  // the public face of this runtime, handed to the transport for administrative requests
  private final RaftNode node;
  final String id;
  final String groupId;

  /** "group/id": the prefix of every log line. */
  final String who;

  final RaftMetrics metrics;
  final RaftOptions options;
  final Transport transport;
  final LogStore logStore;
  final MetaStore metaStore;
  final SnapshotStore snapshotStore;
  private final Executor callbacks;
  private final Bootstrap bootstrap;
  final List<RaftListener> listeners = new CopyOnWriteArrayList<>();
  private final long tickNanos;
  // Whether this node may quiesce when idle (a RaftHost's group, which the host wakes when a
  // peer's host fails); see RaftCore.quiesced.
  private final boolean quiescence;

  final Scheduler scheduler;
  // Bounded by inboundQueueCapacity, linked and lock-free (BoundedQueue): an idle node holds no
  // preallocated slots and no locks (a RaftHost runs thousands of nodes). The Applier's queue is
  // one too.
  final BoundedQueue<Runnable> queue;
  final TaskWorker snapshotExecutor;
  final Applier applier;
  Scheduler.Worker loopWorker;
  Scheduler.Worker applyWorker;

  // shared
  // pending commands and the budget of operations in flight (see Commands for the threads)
  final Commands commands = new Commands(this);
  private final AtomicReference<long[]> durable = new AtomicReference<>();
  // Lifecycle, written under this object's lock by start and close: a node starts at most once,
  // and never after close.
  private boolean startCalled;
  private volatile boolean closed;
  private final AtomicLong droppedInbound = new AtomicLong();
  volatile boolean running;
  // close() and fail-stop after a fatal error; the failure, once set (see Stopper)
  final Stopper stopper = new Stopper(this);
  // The status and gauges other threads read (see StatusBoard for who writes them).
  final StatusBoard board;

  // loop
  RaftCore core;
  SnapshotTransfers transfers;
  // forwarded commands, both ways (forwardToLeader); event loop only
  final Forwarding forwarding = new Forwarding(this);
  // reads waiting for a read index; event loop only
  private final Reads reads = new Reads(this);
  // loop tasks waiting for the next tick (membership changes while the leader is new)
  final List<Runnable> deferred = new ArrayList<>();
  // membership changes and leadership transfers in flight (see Membership); event loop only
  final Membership membership = new Membership(this);
  // session log time (see LogClock); event loop only
  final LogClock logClock = new LogClock();
  // role, term, leader and configuration changes, as last reported (see ChangeReporter)
  private final ChangeReporter changes = new ChangeReporter(this);
  private long handedToApply;
  long ticks;
  private long nextTick;
  private boolean unflushed;
  // Saves of term and vote (hard state) or of the initial configuration handed to the meta store
  // without waiting for the disk (MetaStore.saveAsync): how many were made (loop, and start before
  // the loop runs) and how many the store found durable (its thread counts them).
  // invariant: metaDurable <= metaSaves. While metaDurable < metaSaves the loop sends nothing (send
  // holds the message), takes no task and counts no tick, so that nothing leaves before the term
  // and vote it depends on are durable (Figure 2: "updated on stable storage before responding to
  // RPCs"), and held stays within one turn's messages. The loop's thread never waits for an fsync:
  // on a host the saves of thousands of groups electing at once share the log's few fsyncs, and
  // the other groups on the same thread (and the host's liveness worker) keep running.
  private long metaSaves;
  private final AtomicLong metaDurable = new AtomicLong();
  // loop: messages made while a save was in flight, in order; null when none (no list per idle
  // group)
  private List<RaftMessage> held;
  // loop: the core's quiescence as of the end of the last turn; other threads read it
  private volatile boolean quiesced;

  /** Builds the runtime of a node from what its builder checked; nothing starts yet. */
  public NodeRuntime(RuntimeSetup b) {
    this.node = b.node();
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
    this.quiescence = b.quiescence();
    this.scheduler = LogContext.wrap(b.scheduler(), b.groupId(), b.id());
    this.queue = new BoundedQueue<>(options.inboundQueueCapacity());
    int applyCapacity = MAX_UNAPPLIED + options.maxPendingProposals() + 1024;
    this.snapshotExecutor = new TaskWorker(scheduler, "flotilla-" + id + "-snapshot", 4);
    this.applier =
        new Applier(
            this, b.stateMachine(), snapshotStore, snapshotExecutor, options, applyCapacity);
    this.board = new StatusBoard(groupId, id, applier, transport::peerStats, tickNanos);
    if (b.listener() != null) {
      listeners.add(b.listener());
    }
  }

  /** Queues a task for the event loop and wakes it; false if the queue is full. */
  boolean post(Runnable task) {
    if (!queue.offer(task)) {
      return false;
    }
    wakeLoop();
    return true;
  }

  void wakeLoop() {
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
            who,
            metaStore,
            hs.term() > 0 || logStore.lastIndex() > 0 || snapshotMeta != null,
            this::metaSaving);
    applier.startFrom(initial);
    // The scheduler's random source: fresh for a real node, from the seed in the simulator.
    core =
        new RaftCore(
            id,
            Ticks.coreOptions(options),
            initial,
            logStore,
            hs,
            snapshotMeta,
            scheduler.random());
    if (quiescence) {
      core.allowQuiescence(this::idle);
    }
    forwarding.start(scheduler.random().nextInt());
    transfers = new SnapshotTransfers(this, snapshotStore, options);
    changes.started(core);
    refreshStatus();
    board.publishGauges(core, stopper.failure());
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
              stopper.unsendable(message, reason);
            }

            @Override
            public Optional<RaftNode> node() {
              return Optional.of(node);
            }
          });
      // Workers start only once nothing above can fail, so a failed start leaks no thread.
      applyWorker = scheduler.start("flotilla-" + id + "-apply", applier::turn);
      applier.attach(applyWorker);
      changes.publishMembers(core);
      // Ticks fall on multiples of the tick interval of the scheduler's clock, the same instants
      // for
      // every node with this interval: on a host's shared loop threads, the nodes pinned to one
      // thread tick in one pass (one wake-up per tick, not one per node), and their heartbeats
      // leave together. The first tick comes within one interval.
      long now = scheduler.nanoTime();
      nextTick = now - Math.floorMod(now, tickNanos) + tickNanos;
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
        ChangeReporter.describe(changes.lastConfig()));
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
    stopper.close();
  }

  /**
   * Stops the node after an error it cannot recover from that concerns no particular entry: see
   * {@link Stopper#fatal(String, Throwable)}. Any thread.
   */
  void fatal(String what, Throwable cause) {
    stopper.fatal(what, cause);
  }

  /**
   * Stops the node after a fatal error: see {@link Stopper#fatal(String, long, Throwable, String)}.
   */
  void fatal(String what, long index, Throwable cause, String wayOut) {
    stopper.fatal(what, index, cause, wayOut);
  }

  /** Whether the node runs: see {@link org.flotilla.raft.RaftNode#isRunning()}. */
  public boolean isRunning() {
    return running;
  }

  /**
   * Tells whether {@link #close()} was called: the node will never run again.
   *
   * @return true once closed
   */
  public boolean isClosed() {
    return closed;
  }

  /** The failure of a call made when the node is not running: see {@link Stopper#notRunning()}. */
  NodeStoppedException notRunning() {
    return stopper.notRunning();
  }

  // ---------------------------------------------------------------- the event loop

  /** One turn of the event loop: due ticks, queued tasks, storage reports, the ready batches. */
  private long loopTurn() {
    try {
      if (running && metaSaved() && !core.quiesced()) {
        deliverDueTicks();
      }
      Runnable task;
      int n = 0;
      while (running && !savingMeta() && n < 4096 && (task = queue.poll()) != null) {
        task.run();
        n++;
      }
      if (running && !savingMeta()) {
        long[] d = durable.getAndSet(null);
        if (d != null) {
          core.persisted(d[0], d[1]);
        }
        core.setApplyLimit(applier.appliedIndex() + MAX_UNAPPLIED);
        if (core.quiesced() && !idle()) {
          // Work that needs ticks arrived without passing through the core (a forwarded command,
          // a snapshot transfer): the group counts time again.
          core.wake();
        }
        processReady();
        if (core.quiesced() != quiesced) {
          quiescenceChanged();
        }
        board.publishGauges(core, stopper.failure());
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
    if (savingMeta()) {
      // The save's callback wakes the loop; one tick bounds the wait should that wake have come
      // before the loop started (a save made by start).
      return tickNanos;
    }
    if (!queue.isEmpty()) {
      return 0;
    }
    if (quiesced) {
      return Long.MAX_VALUE;
    }
    return Math.max(0, nextTick + ticksToSleepPast() * tickNanos - scheduler.nanoTime());
  }

  /**
   * How many ticks past the next one the loop may sleep before its next turn: while nothing the
   * runtime holds needs ticks ({@link #idle()}) and the core does not lead, a tick only counts time
   * until the election timer fires ({@link RaftCore#ticksUntilTimer()}), so the loop wakes once,
   * when it fires, and {@link #deliverDueTicks()} delivers the ticks that came due meanwhile,
   * before any task (a message or a request wakes the loop at once and sees every tick counted). At
   * most an election timeout, well within what {@link #deliverDueTicks()} delivers at once. A
   * follower or candidate then costs one turn per election timeout instead of one per tick: at a
   * host's start, before they elect and quiesce, thousands of groups wait for their first election.
   */
  private long ticksToSleepPast() {
    if (!running || core.role() == Role.LEADER || !idle()) {
      return 0;
    }
    return Math.min(core.ticksUntilTimer(), Ticks.election(options)) - 1L;
  }

  /** Counts a save of the meta store made now; returns what the store calls once it is durable. */
  private Runnable metaSaving() {
    metaSaves++;
    return this::metaSaveDurable;
  }

  /** A save is durable (the store's thread, or the loop for a store that saves at once). */
  private void metaSaveDurable() {
    metaDurable.incrementAndGet();
    Scheduler.Worker w = loopWorker;
    if (w != null && !w.inWorker()) {
      w.wake();
    }
  }

  /** Whether a save of the meta store is not yet durable (loop). */
  private boolean savingMeta() {
    return metaDurable.get() < metaSaves;
  }

  /**
   * Whether every save of the meta store is durable; if so, sends the messages held while one was
   * not (loop).
   */
  private boolean metaSaved() {
    if (savingMeta()) {
      return false;
    }
    if (held != null) {
      List<RaftMessage> h = held;
      held = null;
      for (RaftMessage m : h) {
        transport.send(m);
      }
      transport.flush();
    }
    return true;
  }

  /**
   * The core quiesced or woke in this turn. Quiesced, the loop sleeps until a task wakes it (see
   * {@link #loopTurn()}); awake again, it ticks from the next instant of the tick grid on: the
   * ticks not counted while quiesced are not delivered, since they would fire every timer at once
   * (the core's wake() accounts for the time it did not see pass).
   */
  private void quiescenceChanged() {
    quiesced = core.quiesced();
    if (!quiesced) {
      long now = scheduler.nanoTime();
      nextTick = now - Math.floorMod(now, tickNanos) + tickNanos;
    }
    LOG.debug("{}: {}", who, quiesced ? "quiesced" : "awake");
    refreshStatus();
  }

  /**
   * Whether nothing the runtime holds needs ticks: no deferred task, read, forwarded command,
   * membership change, leadership or snapshot transfer, and every committed entry within the apply
   * limit, so that this turn's ready batch hands them all to the apply thread (a limit raised only
   * as the apply thread catches up would need the turns that ticks bring). The core asks it before
   * it quiesces, perhaps on the heartbeat that advances the commit index (event loop).
   */
  private boolean idle() {
    return deferred.isEmpty()
        && reads.idle()
        && forwarding.idle()
        && membership.idle()
        && transfers.idle()
        && core.commitIndex() <= applier.appliedIndex() + MAX_UNAPPLIED;
  }

  /**
   * Tells whether the group is quiesced here, as of the event loop's last turn; any thread.
   *
   * @return true while quiesced
   */
  public boolean quiesced() {
    return quiesced;
  }

  /**
   * Wakes this node if it is quiesced and {@code member} is its leader, or its follower while it
   * leads: the host of {@code member} stopped answering (see {@code RaftHost}). Any thread.
   *
   * @param member the member whose host is down
   */
  public void hostDown(String member) {
    if (running && quiesced) {
      post(() -> core.hostDown(member));
    }
  }

  /**
   * Delivers the ticks that came due since the last turn, before any request is served. After a
   * pause (a long GC, a frozen VM) every missed tick counts, up to two election timeouts' worth,
   * which is enough to expire any lease and election timer: a paused leader never serves a lease
   * read on time it did not see pass.
   */
  void deliverDueTicks() {
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
    NodeStatus.Failure f = stopper.failure();
    if (f != null) {
      board.publishFailure(f);
    }
    failLoopWork(new NodeStoppedException(id + " stopped", stopper.fatalError()));
    stopper.afterLoop();
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
      membership.maybeAutoPromote();
    }
    reads.expire(ticks);
    forwarding.expire(ticks);
    membership.expire(ticks);
    if (ticks % 10 == 0) {
      refreshStatus();
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
        // Figure 2: persist currentTerm and votedFor before answering anyone. Not waited for
        // here: the messages below are held (send) until the save is durable.
        metaStore.saveAsync(rd.hardState(), metaSaving());
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
      changes.observe();
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
    commands.replacedBySnapshot(meta.index());
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
    if (savingMeta()) {
      if (held == null) {
        held = new ArrayList<>();
      }
      held.add(m);
      return;
    }
    transport.send(m);
    unflushed = true;
  }

  /** Publishes a fresh status (event loop, or start before the loop runs). */
  void refreshStatus() {
    board.refresh(core, transfers.progress(), stopper.failure());
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
    return changes.lastConfig().member(leader).orElse(Member.of(leader));
  }

  NotLeaderException notLeader() {
    return new NotLeaderException(id, leaderMember());
  }

  // ------------------------------------------ operations (each done by its duty's class)

  /**
   * Proposes a command: see {@link org.flotilla.raft.RaftNode#submit(String, long, ByteBuffer)}.
   */
  public CompletableFuture<Result> submit(String clientId, long sequence, ByteBuffer command) {
    return commands.submit(clientId, sequence, command);
  }

  /** Queues a loop task, or fails its future; false if it failed for a full queue. */
  boolean enqueue(FailableTask task, CompletableFuture<?> f) {
    if (!post(task)) {
      f.completeExceptionally(new OverloadedException(id + ": event loop queue is full"));
      return false;
    } else if (!running && queue.remove(task)) {
      // The loop stopped between the caller's check and the post: nobody would run it.
      task.fail(notRunning());
    }
    return true;
  }

  /** Serves a query: see {@link org.flotilla.raft.RaftNode#read}. */
  public CompletableFuture<Result> read(ByteBuffer query, ReadConsistency consistency) {
    return reads.submit(query, consistency);
  }

  /**
   * Proposes the configuration {@code change} makes of the current one (joint if voters change).
   */
  public CompletableFuture<Result> changeMembership(
      java.util.function.Function<Configuration, Configuration> change) {
    return membership.changeMembership(change);
  }

  /** Hands leadership over: see {@link org.flotilla.raft.RaftNode#transferLeadership}. */
  public CompletableFuture<Void> transferLeadership(String target) {
    return membership.transferLeadership(target);
  }

  /** Takes a snapshot now: see {@link org.flotilla.raft.RaftNode#takeSnapshot()}. */
  public CompletableFuture<Long> takeSnapshot() {
    CompletableFuture<Long> f = new CompletableFuture<>();
    if (!running) {
      f.completeExceptionally(notRunning());
      return f;
    }
    CompletableFuture<Long> caller = commands.reserve(0, f);
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
              core.snapshotTaken(stored.meta());
              transfers.compactAfter(stored.meta());
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

  void callback(Runnable r) {
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
    membership.failAll(reason);
    if (transfers != null) {
      transfers.stopSending();
      transfers.stopReceiving();
    }
  }

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
