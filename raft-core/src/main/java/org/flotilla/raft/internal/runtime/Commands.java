package org.flotilla.raft.internal.runtime;

import java.nio.ByteBuffer;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.flotilla.raft.CommandRejectedException;
import org.flotilla.raft.CommandTooLargeException;
import org.flotilla.raft.NodeStoppedException;
import org.flotilla.raft.OutcomeUnknownException;
import org.flotilla.raft.OverloadedException;
import org.flotilla.raft.RaftException;
import org.flotilla.raft.RaftNode;
import org.flotilla.raft.RaftOptions;
import org.flotilla.raft.Result;
import org.flotilla.raft.cluster.Role;
import org.flotilla.raft.internal.core.RaftCore;
import org.flotilla.raft.internal.runtime.NodeRuntime.FailableTask;
import org.flotilla.raft.message.CommandEnvelope;
import org.flotilla.raft.message.LogEntry;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A node's pending commands: the budget of operations in flight (a count and bytes, which reads and
 * snapshots share), proposing a command to the core (or forwarding it to the leader), and
 * completing each caller's future once its entry is applied, with the outcome the entry decides.
 *
 * <p>Threading: {@link #submit} and {@link #reserve} run on callers' threads (the budget is two
 * atomics); {@link #propose} and {@link #chain} run on the event loop; {@link #complete} and {@link
 * #settle} run on the apply thread. The map of pending commands is concurrent: the event loop adds
 * to it, the apply thread removes from it, and a command's fields are written before it is
 * published there.
 */
final class Commands {

  private static final Logger LOG = LoggerFactory.getLogger(RaftNode.class);

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

  private final NodeRuntime node;
  // shared: written by the event loop (chain), removed by the apply thread (complete)
  private final ConcurrentHashMap<Long, PendingCommand> pending = new ConcurrentHashMap<>();
  // shared: operations in flight, against maxPendingProposals and maxPendingBytes
  private final AtomicInteger pendingCount = new AtomicInteger();
  private final AtomicLong pendingBytes = new AtomicLong();

  Commands(NodeRuntime node) {
    this.node = node;
  }

  /**
   * Proposes a command: see {@link org.flotilla.raft.RaftNode#submit(String, long, ByteBuffer)}.
   */
  CompletableFuture<Result> submit(String clientId, long sequence, ByteBuffer command) {
    CompletableFuture<Result> f = new CompletableFuture<>();
    if (!node.isRunning()) {
      f.completeExceptionally(node.notRunning());
      return f;
    }
    int size = command.remaining();
    ByteBuffer payload;
    try {
      payload = CommandEnvelope.encode(clientId, sequence, command);
    } catch (IllegalArgumentException e) {
      f.completeExceptionally(
          new CommandRejectedException(CommandRejectedException.Reason.INVALID, e.getMessage()));
      return f;
    }
    if (payload.remaining() > node.options.maxEntryBytes()) {
      // Refused here, leader or not: an entry no message can carry would wedge replication.
      f.completeExceptionally(
          tooLarge(
              "a command of " + size + " bytes (" + payload.remaining() + " as a log entry)",
              payload.remaining()));
      return f;
    }
    CompletableFuture<Result> caller = reserve(size, f);
    if (caller == null) {
      node.metrics.proposalRejected();
      return f;
    }
    PendingCommand p = new PendingCommand(f, size);
    boolean queued =
        node.enqueue(
            new FailableTask(f) {
              @Override
              public void run() {
                propose(p, payload);
              }
            },
            f);
    if (!queued) {
      node.metrics.proposalRejected();
    }
    return caller;
  }

  CommandTooLargeException tooLarge(String what, long entryBytes) {
    return new CommandTooLargeException(
        node.id
            + ": "
            + what
            + " is larger than the largest entry, "
            + node.options.maxEntryBytes()
            + " bytes (maxMessageBytes "
            + node.options.maxMessageBytes()
            + " less "
            + RaftOptions.MESSAGE_OVERHEAD_BYTES
            + " bytes of message overhead); not proposed",
        entryBytes,
        node.options.maxEntryBytes());
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
    if (count > node.options.maxPendingProposals() || bytes > node.options.maxPendingBytes()) {
      pendingCount.decrementAndGet();
      pendingBytes.addAndGet(-size);
      f.completeExceptionally(
          new OverloadedException(
              node.id
                  + " has "
                  + (count - 1)
                  + " operations ("
                  + (bytes - size)
                  + " bytes) pending; limits are "
                  + node.options.maxPendingProposals()
                  + " and "
                  + node.options.maxPendingBytes()
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

  void propose(PendingCommand p, ByteBuffer payload) {
    if (node.core.role() != Role.LEADER) {
      String leader = node.core.leader();
      if (node.options.forwardToLeader() && leader != null && !leader.equals(node.id)) {
        node.forwarding.forward(p, payload, leader, node.ticks);
        return;
      }
      node.completeExceptionally(p.future, node.notLeader());
      return;
    }
    payload.putLong(
        CommandEnvelope.TIMESTAMP_OFFSET,
        node.logClock.stamp(node.core.term(), node.scheduler.nanoTime(), node.applier.logTime()));
    long index = node.core.propose(List.of(payload));
    if (index < 0) {
      if (index == RaftCore.REJECTED_OVERLOADED) {
        node.metrics.proposalRejected();
      }
      node.completeExceptionally(p.future, rejection(index));
      return;
    }
    node.metrics.proposalAccepted(p.size);
    p.term = node.core.term();
    chain(index, p);
  }

  /**
   * Registers a pending command at an index, behind any earlier one there: that one's entry left
   * this member's log, but its outcome is known only when the index is applied.
   */
  void chain(long index, PendingCommand p) {
    // Atomic against the apply thread's remove, and p.older is set before p is published.
    pending.compute(
        index,
        (i, older) -> {
          p.older = older;
          return p;
        });
  }

  RaftException rejection(long code) {
    if (code == RaftCore.REJECTED_NOT_LEADER) {
      return node.notLeader();
    }
    if (code == RaftCore.REJECTED_OVERLOADED) {
      return new OverloadedException(node.id + ": too many uncommitted entries");
    }
    if (code == RaftCore.REJECTED_TRANSFERRING) {
      return new CommandRejectedException(node.id + ": leadership transfer in progress");
    }
    if (code == RaftCore.REJECTED_CHANGE_IN_PROGRESS) {
      return new CommandRejectedException(
          node.id + ": another membership change is in progress (or the leader is new)");
    }
    return new CommandRejectedException(node.id + ": invalid configuration");
  }

  /** Called by the apply thread for every applied entry. */
  void complete(LogEntry entry, ByteBuffer result, Sessions.Status status) {
    if (node.applier.appliedIndex() < entry.index()) {
      // The invariant Applier.applyEntry keeps: a caller that learns of its write can read it.
      throw new IllegalStateException(
          "command at " + entry.index() + " completed before applied index reached it");
    }
    PendingCommand p = pending.remove(entry.index());
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
                CommandRejectedException.Reason.REPLACED,
                "the entry at index " + index + " was replaced by a new leader's");
      } else if (status == Sessions.Status.SUPERSEDED) {
        failure =
            new CommandRejectedException(
                CommandRejectedException.Reason.SESSION_SUPERSEDED,
                "a later command of this client session was already applied");
      } else if (status == Sessions.Status.NO_SESSION) {
        failure =
            new CommandRejectedException(
                CommandRejectedException.Reason.NO_SESSION,
                "the client has no session (it expired, or never began with sequence 1); the"
                    + " command was not applied. Start a new session: a new client id, sequence"
                    + " 1");
      } else if (status == Sessions.Status.SESSIONS_FULL) {
        failure =
            new CommandRejectedException(
                CommandRejectedException.Reason.SESSIONS_FULL,
                "the group already holds maxSessions ("
                    + node.options.maxSessions()
                    + ") client sessions; the command was not applied and opened no session."
                    + " Retry once idle sessions expire (sessionTimeout), or raise maxSessions");
      }
      if (failure == null) {
        node.complete(p.future, new Result(index, result));
      } else {
        node.completeExceptionally(p.future, failure);
      }
    }
  }

  /**
   * Called by the apply thread after a batch. The loop raises its apply limit on its next turn (at
   * the latest on the next tick), so nothing needs waking here.
   */
  void applied(long index) {
    LOG.trace("{}: applied {}", node.who, index);
  }

  /** Fails every pending command: the node stopped, and their outcome is unknown. */
  void failAll(NodeStoppedException reason) {
    for (PendingCommand p : pending.values()) {
      for (PendingCommand q = p; q != null; q = q.older) {
        node.completeExceptionally(q.future, reason);
      }
    }
    pending.clear();
  }

  /**
   * Fails the commands at or below a snapshot this member installed from its leader: they may or
   * may not be in it. Event loop.
   */
  void replacedBySnapshot(long snapshotIndex) {
    for (Iterator<Map.Entry<Long, PendingCommand>> it = pending.entrySet().iterator();
        it.hasNext(); ) {
      Map.Entry<Long, PendingCommand> e = it.next();
      if (e.getKey() <= snapshotIndex) {
        it.remove();
        for (PendingCommand q = e.getValue(); q != null; q = q.older) {
          node.completeExceptionally(
              q.future,
              new OutcomeUnknownException(
                  "outcome unknown: entry " + e.getKey() + " was replaced by a snapshot"));
        }
      }
    }
  }

  /**
   * Removes the command {@code p} pending at {@code index}, if it is still the one there.
   *
   * @return true if it was removed (its caller's completion is now the remover's)
   */
  boolean remove(long index, PendingCommand p) {
    return pending.remove(index, p);
  }
}
