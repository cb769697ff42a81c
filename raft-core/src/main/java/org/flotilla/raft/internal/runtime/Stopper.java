package org.flotilla.raft.internal.runtime;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import org.flotilla.raft.NodeStatus;
import org.flotilla.raft.NodeStoppedException;
import org.flotilla.raft.RaftException;
import org.flotilla.raft.RaftListener;
import org.flotilla.raft.RaftNode;
import org.flotilla.raft.cluster.Role;
import org.flotilla.raft.internal.runtime.NodeRuntime.FailableTask;
import org.flotilla.raft.message.RaftMessage;
import org.flotilla.raft.spi.Scheduler;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * How a node stops: by {@code close()}, or fail-stop after a fatal error (a store or the state
 * machine failed, the event loop threw, a message can never be sent). Either way pending work fails
 * with {@link NodeStoppedException} and the threads, the transport and the stores are released
 * exactly once; after a fatal error the metrics stay registered, for monitoring to see the failure,
 * until {@code close()}.
 *
 * <p>Threading: {@link #fatal} may be called from any thread, and only its first call counts (the
 * failure is set once, by compare-and-set). Whoever wins {@code stopping} releases the resources:
 * {@code close()} on the caller's thread (under the node's lock), or after a fatal error a thread
 * the event loop starts as it ends. {@code close()} after a fatal error waits for that release
 * ({@code stopHandedOff}, then the stop thread) before it returns, so that a node restarted on the
 * same stores finds them free.
 */
final class Stopper {

  private static final Logger LOG = LoggerFactory.getLogger(RaftNode.class);

  private final NodeRuntime node;
  private final AtomicBoolean stopping = new AtomicBoolean();
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

  Stopper(NodeRuntime node) {
    this.node = node;
  }

  /** The fatal error that stopped the node, or null while it is healthy. Any thread. */
  NodeStatus.Failure failure() {
    return failure.get();
  }

  /** The cause of the fatal error, or null. Any thread. */
  Throwable fatalError() {
    return fatalError;
  }

  /**
   * Called by the event loop as it ends: after a fatal error, hands the release of the resources to
   * a thread of its own (fail-stop); after close(), does nothing (close releases them).
   */
  void afterLoop() {
    NodeStatus.Failure f = failure.get();
    if (f != null && stopping.compareAndSet(false, true)) {
      // Fail-stop: release everything; close() later finds nothing left to do but unregister the
      // metrics. Off the loop: a loop that runs on the transport's own I/O thread could not close
      // that transport from it.
      NodeStoppedException reason =
          new NodeStoppedException(
              node.id + " stopped after a fatal error: " + f.reason(), f.cause());
      Scheduler.Turn shutdown =
          () -> {
            shutdownResources(reason, false);
            return -1;
          };
      try {
        stopWorker = node.scheduler.start("flotilla-" + node.id + "-stop", shutdown);
      } catch (RuntimeException | Error e) {
        LOG.warn("{}: cannot start a thread to stop; stopping on the event loop", node.who, e);
        shutdownResources(reason, false);
      } finally {
        stopHandedOff.countDown();
      }
    }
  }

  /** Stops the node: see {@link org.flotilla.raft.RaftNode#close()}. Under the node's lock. */
  void close() {
    if (!stopping.compareAndSet(false, true)) {
      if (failure.get() != null) {
        // Stopped by a fatal error: wait until the stores are released (a node restarted on them
        // must find them free), then unregister the metrics it left for monitoring to see.
        awaitFatalStop();
        unregisterMetrics();
      }
      return;
    }
    node.running = false;
    if (node.loopWorker != null) {
      node.loopWorker.wake();
      if (!node.loopWorker.awaitStop(10_000)) {
        LOG.warn("{}: event loop did not stop within 10 s", node.who);
      }
    }
    shutdownResources(new NodeStoppedException(node.id + " was closed", fatalError), true);
    stopHandedOff.countDown();
  }

  private void awaitFatalStop() {
    // The loop hands the stop off as it ends (a virtual node.scheduler's awaitStop runs it to its
    // end).
    Scheduler.Worker loop = node.loopWorker;
    if (loop != null && !loop.inWorker() && !loop.awaitStop(10_000)) {
      LOG.warn("{}: event loop did not stop within 10 s", node.who);
    }
    try {
      if (!stopHandedOff.await(10, TimeUnit.SECONDS)) {
        LOG.warn("{}: the stop after the fatal error did not begin within 10 s", node.who);
        return;
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return;
    }
    Scheduler.Worker w = stopWorker;
    if (w != null && !w.inWorker() && !w.awaitStop(10_000)) {
      LOG.warn("{}: the stop after the fatal error did not finish within 10 s", node.who);
    }
  }

  /**
   * Fails pending work and releases the threads, the transport and the stores.
   *
   * @param reason the failure of pending node.commands (their outcome is unknown)
   * @param unregister whether to unregister the metrics too (not after a fatal error: see close)
   */
  private void shutdownResources(NodeStoppedException reason, boolean unregister) {
    node.commands.failAll(reason);
    // Queued tasks never ran: nothing of theirs was proposed.
    NodeStoppedException notRun =
        new NodeStoppedException(reason.getMessage(), reason.getCause(), false);
    Runnable r;
    while ((r = node.queue.poll()) != null) {
      if (r instanceof FailableTask f) {
        f.fail(notRun);
      }
    }
    if (node.applyWorker != null
        && !(node.applier.offer(new Applier.Stop()) && node.applyWorker.awaitStop(10_000))) {
      LOG.warn("{}: apply worker did not stop within 10 s", node.who);
    }
    if (!node.snapshotExecutor.stop(10_000)) {
      LOG.warn("{}: snapshot worker did not finish within 10 s", node.who);
    }
    closeQuietly("transport", node.transport::close);
    closeQuietly("log store", node.logStore::close);
    closeQuietly("meta store", node.metaStore::close);
    closeQuietly("snapshot store", node.snapshotStore::close);
    if (unregister) {
      unregisterMetrics();
    }
    LOG.info("{}: stopped", node.who);
  }

  private void unregisterMetrics() {
    if (metricsUnregistered.compareAndSet(false, true)) {
      node.metrics.unregister();
    }
  }

  private void closeQuietly(String what, Runnable close) {
    try {
      close.run();
    } catch (RuntimeException e) {
      LOG.warn("{}: closing the {} failed", node.who, what, e);
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
   * taking work ({@link NodeRuntime#isRunning()} turns false, so new calls fail with a {@link
   * NodeStoppedException} carrying the cause), its status and role gauge say {@link Role#FAILED}
   * with the failure, it logs one ERROR line that tells the operator the way out, and its metrics
   * and listeners hear of it. The event loop then fails pending work with {@link
   * NodeStoppedException} and releases the threads and stores ({@link #afterLoop()}). Only the
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
      LOG.debug("{}: after the fatal error, also: {}", node.who, what, cause);
      return;
    }
    // The cause before the flag: a caller that finds the node not node.running finds the cause too.
    fatalError = cause;
    node.running = false;
    node.board.publishFailure(f);
    LOG.error("{}: FAILED: {}; this member stopped. {}", node.who, what, wayOut, cause);
    try {
      node.metrics.nodeFailed(f);
    } catch (RuntimeException e) {
      LOG.warn("{}: the metrics failed to record the failure", node.who, e);
    }
    long term = node.board.term();
    for (RaftListener l : node.listeners) {
      node.callback(
          () -> {
            l.onRoleChange(Role.FAILED, term);
            l.onFatalError(cause);
          });
    }
    node.wakeLoop();
  }

  /**
   * The transport reports that it can never send {@code m}. The core would re-send it (or the same
   * entries) for ever, so this member stops with a fatal error instead of stalling silently.
   * Callable from any thread.
   */
  void unsendable(RaftMessage m, String reason) {
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
            node.who
                + ": "
                + what
                + "; re-sending it could never succeed (an entry written under a larger limit?"
                + " maxMessageBytes and the transport's limit must allow every entry in the log)"));
  }

  /**
   * The failure of a call made when the node is not running: nothing was proposed. After a fatal
   * error it names the failure and carries its cause.
   */
  NodeStoppedException notRunning() {
    NodeStatus.Failure f = failure.get();
    Throwable cause = f == null ? fatalError : f.cause();
    String why =
        f == null
            ? node.id + " is not running"
            : node.id + " is not running: it stopped after a fatal error: " + f.reason();
    return new NodeStoppedException(why + "; nothing was proposed", cause, false);
  }
}
