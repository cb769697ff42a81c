package org.flotilla.raft.internal.runtime;

import java.nio.ByteBuffer;
import java.util.HashMap;
import java.util.Iterator;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import org.flotilla.raft.NodeStoppedException;
import org.flotilla.raft.OverloadedException;
import org.flotilla.raft.ReadConsistency;
import org.flotilla.raft.ReadNotConfirmedException;
import org.flotilla.raft.Result;
import org.flotilla.raft.cluster.Role;
import org.flotilla.raft.internal.core.ReadState;
import org.flotilla.raft.internal.runtime.NodeRuntime.FailableTask;

/**
 * Linearizable and lease reads between the core and the apply thread: a read gets a context, the
 * core answers it with a read index ({@link ReadState}), and the read is served once this member
 * has applied up to that index (at once on the event loop if the state machine allows concurrent
 * queries and the index is applied, otherwise by the apply thread). A read without a read index
 * within two election timeouts fails with {@link ReadNotConfirmedException}; one whose index is not
 * applied in that time fails on the apply thread with {@code ReadTimeoutException}.
 *
 * <p>Threading: every field and method is confined to the node's event loop, but {@link #submit}
 * (callers' threads: it only queues a task or hands a stale read to the apply thread) and {@link
 * #deadline}, which reads only the scheduler's clock.
 */
final class Reads {

  private record PendingRead(ByteBuffer query, CompletableFuture<Result> future, long tick) {}

  private final NodeRuntime node;
  private final Map<Long, PendingRead> waiting = new HashMap<>();
  private long nextContext = 1;

  Reads(NodeRuntime node) {
    this.node = node;
  }

  /** Serves a query: see {@link org.flotilla.raft.RaftNode#read}. Any thread. */
  CompletableFuture<Result> submit(ByteBuffer query, ReadConsistency consistency) {
    CompletableFuture<Result> f = new CompletableFuture<>();
    if (!node.isRunning()) {
      f.completeExceptionally(node.notRunning());
      return f;
    }
    CompletableFuture<Result> caller = node.commands.reserve(query.remaining(), f);
    if (caller == null) {
      return f;
    }
    // Mutations.followerReadsLocally: the bug of serving a follower's read without a read index
    // (reads the core off its loop: only with the switch on, in the single-threaded simulator)
    if (consistency == ReadConsistency.STALE
        || (Mutations.followerReadsLocally && node.core.role() != Role.LEADER)) {
      if (!node.applier.offer(new Applier.Read(0, query, f, deadline()))) {
        f.completeExceptionally(new OverloadedException(node.id + ": apply queue is full"));
      }
      return caller;
    }
    boolean lease = consistency == ReadConsistency.LEASE;
    node.enqueue(
        new FailableTask(f) {
          @Override
          public void run() {
            if (lease) {
              // The lease is judged on time that has really passed, even mid-turn.
              node.deliverDueTicks();
            }
            request(query, f, lease, node.ticks);
          }
        },
        f);
    return caller;
  }

  /** Asks the core for a read index (the lease's, if {@code lease}) for a query. */
  void request(ByteBuffer query, CompletableFuture<Result> future, boolean lease, long tick) {
    long context = nextContext++;
    waiting.put(context, new PendingRead(query, future, tick));
    node.core.readIndex(context, lease);
  }

  /** The core answered a read: serve it once its index is applied, or fail it. */
  void answered(ReadState rs) {
    PendingRead r = waiting.remove(rs.context());
    if (r == null) {
      return;
    }
    if (rs.failed()) {
      node.completeExceptionally(r.future(), node.notLeader());
    } else if (!node.applier.tryQueryNow(rs.index(), r.query(), r.future())
        && !node.applier.offer(new Applier.Read(rs.index(), r.query(), r.future(), deadline()))) {
      node.completeExceptionally(r.future(), new OverloadedException("apply queue full"));
    }
  }

  /** A read waiting for its index to be applied gives up after two election timeouts. */
  long deadline() {
    return node.scheduler.nanoTime() + 2 * node.options.electionTimeout().toNanos();
  }

  /** Whether no read waits for its read index (event loop). */
  boolean idle() {
    return waiting.isEmpty();
  }

  /** Fails the reads that got no read index within two election timeouts. */
  void expire(long ticks) {
    long limit = 2L * Ticks.election(node.options);
    for (Iterator<PendingRead> it = waiting.values().iterator(); it.hasNext(); ) {
      PendingRead r = it.next();
      if (ticks - r.tick() > limit) {
        it.remove();
        node.completeExceptionally(
            r.future(),
            new ReadNotConfirmedException(
                node.id + ": no read index within two election timeouts; retry"));
      }
    }
  }

  /** The node stopped: the waiting reads fail (they changed nothing: the outcome is known). */
  void failAll(NodeStoppedException definite) {
    for (PendingRead r : waiting.values()) {
      node.completeExceptionally(r.future(), definite);
    }
    waiting.clear();
  }
}
