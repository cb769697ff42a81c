package org.flotilla.raft.internal.runtime;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.function.Function;
import org.flotilla.raft.CommandRejectedException;
import org.flotilla.raft.NodeStoppedException;
import org.flotilla.raft.OutcomeUnknownException;
import org.flotilla.raft.RaftNode;
import org.flotilla.raft.Result;
import org.flotilla.raft.cluster.Configuration;
import org.flotilla.raft.cluster.Member;
import org.flotilla.raft.cluster.Role;
import org.flotilla.raft.internal.core.Progress;
import org.flotilla.raft.internal.core.RaftCore;
import org.flotilla.raft.internal.runtime.NodeRuntime.FailableTask;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A node's membership changes and leadership transfers: proposing a change (retried while the
 * leader is new or the group's own change commits), promoting caught-up learners, and completing
 * each caller's future when the change is in force and committed, the transfer done, or either
 * failed.
 *
 * <p>Threading: {@link #changeMembership} and {@link #transferLeadership} run on callers' threads
 * and only queue a task; everything else, and both fields, belong to the event loop.
 */
final class Membership {

  private static final Logger LOG = LoggerFactory.getLogger(RaftNode.class);

  private record PendingChange(long index, CompletableFuture<Result> future) {}

  private record PendingTransfer(
      String target, long deadlineTick, CompletableFuture<Void> future) {}

  private final NodeRuntime node;
  // loop: the change in flight (at most one), and the transfer in flight
  private PendingChange pendingChange;
  private PendingTransfer pendingTransfer;

  Membership(NodeRuntime node) {
    this.node = node;
  }

  /**
   * Proposes the configuration {@code change} makes of the current one (joint if voters change).
   */
  CompletableFuture<Result> changeMembership(Function<Configuration, Configuration> change) {
    CompletableFuture<Result> f = new CompletableFuture<>();
    if (!node.isRunning()) {
      f.completeExceptionally(node.notRunning());
      return f;
    }
    long[] firstTry = {-1};
    node.enqueue(
        new FailableTask(f) {
          @Override
          public void run() {
            if (firstTry[0] < 0) {
              firstTry[0] = node.ticks;
            }
            if (node.core.role() != Role.LEADER) {
              node.completeExceptionally(f, node.notLeader());
              return;
            }
            if (pendingChange != null) {
              node.completeExceptionally(
                  f,
                  new CommandRejectedException(node.id + ": a membership change is in progress"));
              return;
            }
            if (!node.core.isLeaderReady()) {
              // A new leader commits its no-op first; retry on the next ticks meanwhile.
              if (node.ticks - firstTry[0] > 2L * Ticks.election(node.options)) {
                node.completeExceptionally(
                    f, new CommandRejectedException(node.id + ": leader not ready for a change"));
              } else {
                node.deferred.add(this);
              }
              return;
            }
            Configuration target;
            try {
              target = change.apply(node.core.configuration());
            } catch (IllegalArgumentException e) {
              node.completeExceptionally(f, new CommandRejectedException(e.getMessage()));
              return;
            }
            // The entry is the target or, when the voters change, the joint configuration of the
            // target and the current one: at most the two together.
            long entryBytes =
                (long) target.encode().remaining() + node.core.configuration().encode().remaining();
            if (entryBytes > node.options.maxEntryBytes()) {
              node.completeExceptionally(
                  f,
                  node.commands.tooLarge(
                      "a configuration of up to " + entryBytes + " bytes", entryBytes));
              return;
            }
            long index = node.core.proposeConfiguration(target);
            if (index == RaftCore.REJECTED_CHANGE_IN_PROGRESS
                && node.ticks - firstTry[0] <= 2L * Ticks.election(node.options)) {
              // The group's own change is still committing (an automatic promotion, or the
              // second phase of a joint change): wait for it rather than refuse the user's.
              node.deferred.add(this);
              return;
            }
            if (index < 0) {
              node.completeExceptionally(f, node.commands.rejection(index));
              return;
            }
            pendingChange = new PendingChange(index, f);
          }
        },
        f);
    return f;
  }

  /** A leader promotes a caught-up learner that asked to become a voter (event loop). */
  void maybeAutoPromote() {
    Configuration c = node.core.configuration();
    if (c.promotable().isEmpty() || pendingChange != null) {
      return;
    }
    if (c.isJoint() || node.core.configurationIndex() > node.core.commitIndex()) {
      return;
    }
    for (String learner : c.promotable()) {
      Progress p = node.core.progress().get(learner);
      // Only a learner that answers and replicates (not one that was never heard from, whose
      // match index 0 may look close to a short log) is promoted.
      if (p != null
          && p.recentActive()
          && p.state() == Progress.State.REPLICATE
          && p.match() > 0
          && node.core.lastIndex() - p.match() <= node.options.autoPromoteLagEntries()) {
        List<Member> voters = new ArrayList<>(c.voters());
        List<Member> learners = new ArrayList<>(c.learners());
        Member m = c.member(learner).orElseThrow();
        learners.remove(m);
        voters.add(m);
        long index =
            node.core.proposeConfiguration(
                new Configuration(voters, List.of(), learners, c.promotable()));
        if (index > 0) {
          LOG.debug("{}: promoting caught-up learner {} to voter", node.who, learner);
        }
        return;
      }
    }
  }

  /** Hands leadership over: see {@link org.flotilla.raft.RaftNode#transferLeadership}. */
  CompletableFuture<Void> transferLeadership(String target) {
    CompletableFuture<Void> f = new CompletableFuture<>();
    if (!node.isRunning()) {
      f.completeExceptionally(node.notRunning());
      return f;
    }
    node.enqueue(
        new FailableTask(f) {
          @Override
          public void run() {
            if (target.equals(node.core.leader())) {
              node.complete(f, null);
              return;
            }
            if (!node.core.transferLeadership(target)) {
              node.completeExceptionally(
                  f,
                  node.core.role() != Role.LEADER
                      ? node.notLeader()
                      : new CommandRejectedException(target + " is not a voter"));
              return;
            }
            pendingTransfer =
                new PendingTransfer(target, node.ticks + 2L * Ticks.election(node.options), f);
          }
        },
        f);
    return f;
  }

  /** Whether no membership change or leadership transfer is in flight (event loop). */
  boolean idle() {
    return pendingChange == null && pendingTransfer == null;
  }

  /** Fails a leadership transfer that did not complete in time (event loop, every tick). */
  void expire(long ticks) {
    if (pendingTransfer != null && ticks >= pendingTransfer.deadlineTick()) {
      node.completeExceptionally(
          pendingTransfer.future(),
          new CommandRejectedException(
              "leadership transfer to " + pendingTransfer.target() + " did not complete in time"));
      pendingTransfer = null;
    }
  }

  /** This member stopped leading: its pending change completes if it committed, else is unknown. */
  void leadershipLost() {
    // A leader that removed itself steps down as the removal commits.
    configurationObserved();
    if (pendingChange != null) {
      node.completeExceptionally(
          pendingChange.future(),
          new OutcomeUnknownException(
              node.id + " lost leadership; the membership change may or may not complete"));
      pendingChange = null;
    }
  }

  /** The known leader changed: a transfer to it has completed. */
  void leaderChanged(String leader) {
    if (pendingTransfer != null && pendingTransfer.target().equals(leader)) {
      node.complete(pendingTransfer.future(), null);
      pendingTransfer = null;
    }
  }

  /** Completes the pending change once what it asked for is in force and committed. */
  void configurationObserved() {
    if (pendingChange != null && pendingChangeCommitted()) {
      node.complete(pendingChange.future(), new Result(node.core.configurationIndex(), null));
      pendingChange = null;
    }
  }

  /** Whether the configuration the pending change asked for is in force and committed. */
  private boolean pendingChangeCommitted() {
    RaftCore core = node.core;
    return !core.configuration().isJoint()
        && core.configurationIndex() >= pendingChange.index()
        && core.commitIndex() >= core.configurationIndex();
  }

  /** Fails the pending change and transfer: the node stopped. */
  void failAll(NodeStoppedException reason) {
    if (pendingChange != null) {
      node.completeExceptionally(pendingChange.future(), reason);
      pendingChange = null;
    }
    if (pendingTransfer != null) {
      node.completeExceptionally(pendingTransfer.future(), reason);
      pendingTransfer = null;
    }
  }
}
