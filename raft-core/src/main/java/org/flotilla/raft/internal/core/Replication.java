package org.flotilla.raft.internal.core;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.flotilla.raft.cluster.Configuration;
import org.flotilla.raft.cluster.Member;
import org.flotilla.raft.cluster.Role;
import org.flotilla.raft.message.AppendEntries;
import org.flotilla.raft.message.AppendEntriesResponse;
import org.flotilla.raft.message.EntryType;
import org.flotilla.raft.message.Heartbeat;
import org.flotilla.raft.message.HeartbeatResponse;
import org.flotilla.raft.message.InstallSnapshot;
import org.flotilla.raft.message.InstallSnapshotResponse;
import org.flotilla.raft.message.LogEntry;
import org.flotilla.raft.message.RaftMessage;
import org.flotilla.raft.message.ReadIndexRequest;
import org.flotilla.raft.message.TimeoutNow;
import org.flotilla.raft.spi.SnapshotMeta;

/**
 * The leader role: proposals, replication to every other member ({@link Progress}), commit,
 * heartbeats, CheckQuorum, leadership transfer, and the leader's step function.
 *
 * <p>Owned by a {@link RaftCore} and confined to its driver's thread. Its state is meaningful only
 * while the member leads: {@link #reset(boolean)} clears it on every role or term change.
 */
final class Replication {

  private final RaftCore core;
  private final RaftLog log;
  private final CoreOptions options;
  private final Map<String, Progress> progress = new LinkedHashMap<>();
  private String leadTransferee;
  private int transferElapsed;
  private boolean timeoutNowSentInTerm;
  private int heartbeatElapsed;

  Replication(RaftCore core) {
    this.core = core;
    this.log = core.log;
    this.options = core.options;
  }

  Progress progress(String member) {
    return progress.get(member);
  }

  Map<String, Progress> progressView() {
    return Collections.unmodifiableMap(progress);
  }

  String transferee() {
    return leadTransferee;
  }

  /**
   * Whether a leadership transfer is under way or a {@code TimeoutNow} was sent in this term: then
   * no lease holds, because the target of a {@code TimeoutNow} ignores leases for the rest of the
   * term.
   */
  boolean transferStarted() {
    return leadTransferee != null || timeoutNowSentInTerm;
  }

  /** Clears the leader state: the member's role changed, and its term if {@code newTerm}. */
  void reset(boolean newTerm) {
    if (newTerm) {
      timeoutNowSentInTerm = false;
    }
    heartbeatElapsed = 0;
    abortTransfer();
    progress.clear();
  }

  /** Starts leading: tracks every other member and appends the term's no-op. */
  void start() {
    long next = log.lastIndex() + 1;
    for (Member m : core.configuration().all()) {
      if (!m.id().equals(core.id)) {
        progress.put(m.id(), new Progress(m.id(), next, options.maxInflightMessages(), core.now));
      }
    }
    core.reads.reset();
    // §5.4.2 / thesis §6.4: commit an entry of the new term at once.
    core.append(List.of(LogEntry.noop(next, core.term)));
  }

  // ---------------------------------------------------------------- ticks

  /** A leader's tick: transfer time-out, activity, CheckQuorum, heartbeats. */
  void tick() {
    // A leader's electionElapsed stays 0, so it ignores RequestVotes that are not transfers
    // (thesis §4.2.3) for as long as it leads.
    heartbeatElapsed++;
    if (leadTransferee != null && ++transferElapsed >= options.electionTimeoutTicks()) {
      // thesis §3.10: abort a transfer that has not completed within an election timeout.
      abortTransfer();
    }
    int window = options.electionTimeoutTicks();
    for (Progress p : progress.values()) {
      p.expireActivity(core.now, window);
    }
    // thesis §6.2 CheckQuorum: "a leader in Raft steps down if an election timeout elapses without
    // a successful round of heartbeats to a majority of its cluster". Checked on every tick over a
    // sliding window: the leader steps down at the first tick that is a full election timeout after
    // the last tick at which it had heard from a quorum. Leases do not depend on this schedule;
    // invariant (ReadIndex.leaseValid, RaftCore.checkInvariants): a valid lease implies a quorum
    // heard within the window, so this never ends a lease early, and stepping down ends lease
    // reads at once.
    if (options.checkQuorum() && quorumHeardTick() <= core.now - window) {
      core.becomeFollower(core.term, null);
      return;
    }
    if (heartbeatElapsed >= options.heartbeatTicks()) {
      heartbeatElapsed = 0;
      boolean quiesce = core.quiesceAllowed.getAsBoolean() && mayQuiesce();
      broadcastHeartbeat(quiesce);
      if (quiesce) {
        // The heartbeat just sent tells the followers to quiesce too; see RaftCore.quiesced.
        core.quiesced = true;
        return;
      }
      maybeTransferToHigherPriority();
      restartStalledReplication();
    }
  }

  /**
   * Whether the group is idle enough for this leader to quiesce it: its no-op and every entry
   * committed, durable here and handed out for applying; no configuration change, transfer or read
   * under way; and every member, voter or learner, active, holding every entry and owing no
   * acknowledgement. A follower then has nothing to wait for, so nothing needs a timer until new
   * work (a request, a message) or a host failure wakes the group.
   */
  private boolean mayQuiesce() {
    long last = log.lastIndex();
    if (leadTransferee != null
        || !core.committedInTerm()
        || core.configurationIndex() > log.committed()
        || core.configuration().isJoint()
        || log.committed() != last
        || log.persisted() != last
        || log.hasUnstable()
        || log.hasCommittedToApply()
        || !core.reads.idle()) {
      return false;
    }
    for (Progress p : progress.values()) {
      if (p.match() != last
          || p.state() != Progress.State.REPLICATE
          || p.inflightCount() > 0
          || !p.recentActive()) {
        return false;
      }
    }
    return higherPriorityTarget() == null;
  }

  /**
   * Wakes this quiesced leader (see {@link RaftCore#quiesced}): every member gets a CheckQuorum
   * window from now, and no lease holds until a round sent from now on is acknowledged, because the
   * ticks not counted while quiesced leave the age of every earlier acknowledgement unknown.
   */
  void wake() {
    for (Progress p : progress.values()) {
      p.restartWindow(core.now);
    }
    core.reads.wake();
  }

  /**
   * Returns the latest tick {@code t} such that a quorum of the configuration in force (both halves
   * of a joint one; learners never count) has been heard from at {@code t} or later, this leader
   * counting as heard now and a member not yet heard from as heard when the leader began tracking
   * it.
   */
  long quorumHeardTick() {
    return Quorum.committedValue(
        core.configuration(),
        m -> {
          if (m.equals(core.id)) {
            return core.now;
          }
          Progress p = progress.get(m);
          return p == null ? Long.MIN_VALUE : p.lastHeardTick();
        });
  }

  /**
   * A pipelined follower whose acknowledgements stopped (a lost message), or a snapshot transfer
   * that stopped making progress, starts over from probing.
   */
  private void restartStalledReplication() {
    for (Progress p : progress.values()) {
      boolean stalled =
          switch (p.state()) {
            case REPLICATE -> p.inflightCount() > 0;
            case SNAPSHOT -> true;
            case PROBE -> false;
          };
      // Half an election timeout without any acknowledgement: a message was lost.
      if (stalled
          && core.now - p.lastProgressTick() >= Math.max(2, options.electionTimeoutTicks() / 2)) {
        p.becomeProbe();
      }
    }
  }

  private void maybeTransferToHigherPriority() {
    Member best = higherPriorityTarget();
    if (best != null) {
      transferLeadership(best.id());
    }
  }

  /**
   * The voter of highest priority above this leader's that is active and holds every entry, to hand
   * leadership to; or null.
   */
  private Member higherPriorityTarget() {
    Configuration c = core.configuration();
    if (leadTransferee != null || c.isJoint() || !core.committedInTerm()) {
      return null;
    }
    int mine = c.member(core.id).map(Member::priority).orElse(Member.DEFAULT_PRIORITY);
    Member best = null;
    for (Member m : c.voters()) {
      Progress p = progress.get(m.id());
      if (p != null
          && m.priority() > mine
          && p.recentActive()
          && p.match() == log.lastIndex()
          && (best == null || m.priority() > best.priority())) {
        best = m;
      }
    }
    return best;
  }

  // ---------------------------------------------------------------- the leader's step function

  /**
   * Handles a message of the leader's term (votes and read answers are handled by the core for
   * every role).
   */
  void step(RaftMessage m) {
    if (m instanceof AppendEntriesResponse aer) {
      handleAppendEntriesResponse(aer);
    } else if (m instanceof HeartbeatResponse hbr) {
      handleHeartbeatResponse(hbr);
    } else if (m instanceof InstallSnapshotResponse isr) {
      handleInstallSnapshotResponse(isr);
    } else if (m instanceof ReadIndexRequest rir) {
      core.reads.request(rir.requestId(), rir.from(), false);
    } else if (m instanceof AppendEntries
        || m instanceof Heartbeat
        || m instanceof InstallSnapshot) {
      throw new IllegalStateException(
          "election safety violation: two leaders in term "
              + core.term
              + ": "
              + core.id
              + ", "
              + m.from());
    }
    // TimeoutNow and vote responses mean nothing to a leader of this term.
  }

  private void handleAppendEntriesResponse(AppendEntriesResponse aer) {
    Progress p = progress.get(aer.from());
    if (p == null) {
      return;
    }
    p.heard(core.now);
    if (aer.success() && aer.matchIndex() > log.lastIndex()) {
      throw new IllegalStateException(
          core.id
              + ": "
              + aer.from()
              + " acknowledged "
              + aer.matchIndex()
              + " beyond last index "
              + log.lastIndex());
    }
    if (!aer.success()) {
      long hint = aer.conflictIndex();
      if (aer.conflictTerm() > 0) {
        hint = log.lastIndexAtOrBelowTerm(aer.conflictIndex(), aer.conflictTerm());
      }
      p.maybeDecrement(aer.rejectedIndex(), hint + 1);
      return;
    }
    boolean advanced = p.maybeUpdate(aer.matchIndex(), core.now);
    if (p.state() == Progress.State.PROBE) {
      p.becomeReplicate();
    } else if (p.state() == Progress.State.SNAPSHOT && p.match() >= p.pendingSnapshot()) {
      p.becomeProbe();
    }
    if (advanced) {
      maybeCommit();
    }
    if (aer.from().equals(leadTransferee) && p.match() == log.lastIndex()) {
      sendTimeoutNow(aer.from());
    }
  }

  private void handleHeartbeatResponse(HeartbeatResponse hbr) {
    Progress p = progress.get(hbr.from());
    if (p == null) {
      return;
    }
    // Heard before the round is acknowledged, so lastHeardTick >= leaseTick for every member: the
    // lease never outlives CheckQuorum (see ReadIndex.leaseValid).
    p.heard(core.now);
    p.resumeProbe();
    core.reads.acknowledged(p, hbr.round());
    core.reads.release();
  }

  private void handleInstallSnapshotResponse(InstallSnapshotResponse isr) {
    Progress p = progress.get(isr.from());
    if (p == null) {
      return;
    }
    p.heard(core.now);
    if (p.state() == Progress.State.SNAPSHOT) {
      p.snapshotProgress(core.now);
    }
    if (p.state() == Progress.State.SNAPSHOT && (isr.done() || isr.rejected())) {
      if (isr.done()) {
        p.maybeUpdate(Math.min(isr.snapshotIndex(), p.pendingSnapshot()), core.now);
      }
      p.becomeProbe();
    }
  }

  /** The driver could not send a snapshot to {@code peer}: replication to it starts over. */
  void snapshotFailed(String peer) {
    Progress p = progress.get(peer);
    if (p != null && p.state() == Progress.State.SNAPSHOT) {
      p.becomeProbe();
    }
  }

  // ---------------------------------------------------------------- commit

  /** Commits what a quorum of the configuration in force holds durably (§5.3, §5.4.2). */
  void maybeCommit() {
    long index =
        Quorum.committedValue(
            core.configuration(),
            m -> {
              if (m.equals(core.id)) {
                return log.persisted();
              }
              Progress p = progress.get(m);
              return p == null ? 0 : p.match();
            });
    // §5.4.2: only entries of the current term are committed by counting replicas.
    // Mutant COMMIT_OLDER_TERM commits an older term's entry by counting replicas (Figure 8).
    if (index > log.committed() && (log.term(index) == core.term || Mutations.COMMIT_OLDER_TERM)) {
      boolean firstInTerm = !core.committedInTerm();
      log.commitTo(index);
      // Invariant (§6.4): a read index is served only once the leader has committed an entry of
      // its own term, so the reads waiting for that commit may be released here only because the
      // §5.4.2 guard above never commits an older term's entry by counting replicas: after
      // commitTo, committedInTerm() holds. Under the mutant it need not, and the reads must keep
      // waiting.
      if (!core.committedInTerm() && !Mutations.COMMIT_OLDER_TERM) {
        throw new IllegalStateException(
            "committed index " + index + " of term " + log.term(index) + " in term " + core.term);
      }
      if (firstInTerm && core.committedInTerm()) {
        core.reads.committedInTerm();
      }
      afterCommit();
    }
  }

  private void afterCommit() {
    core.pruneConfigs();
    Configuration c = core.configuration();
    if (core.configurationIndex() > log.committed()) {
      return;
    }
    if (c.isJoint()) {
      // §6: once C_old,new is committed, the leader proposes C_new.
      core.append(
          List.of(
              new LogEntry(
                  log.lastIndex() + 1,
                  core.term,
                  EntryType.CONFIGURATION,
                  c.leaveJoint().encode())));
    } else if (!c.isVoter(core.id)) {
      // §6: a leader that is not part of C_new steps down once C_new is committed.
      core.becomeFollower(core.term, null);
    }
  }

  // ---------------------------------------------------------------- proposals

  /** See {@link RaftCore#propose(List)}; leader only. */
  long propose(List<ByteBuffer> commands) {
    if (leadTransferee != null) {
      return RaftCore.REJECTED_TRANSFERRING;
    }
    if (log.lastIndex() - log.committed() + commands.size() > options.maxUncommittedEntries()) {
      return RaftCore.REJECTED_OVERLOADED;
    }
    long first = log.lastIndex() + 1;
    List<LogEntry> entries = new ArrayList<>(commands.size());
    long index = first;
    for (ByteBuffer c : commands) {
      entries.add(new LogEntry(index++, core.term, EntryType.COMMAND, c));
    }
    core.append(entries);
    return first;
  }

  /** See {@link RaftCore#proposeConfiguration(Configuration)}; leader only. */
  long proposeConfiguration(Configuration target) {
    if (leadTransferee != null) {
      return RaftCore.REJECTED_TRANSFERRING;
    }
    Configuration current = core.configuration();
    if (target.isJoint() || target.isEmpty()) {
      // A group without voters could never elect a leader again.
      return RaftCore.REJECTED_INVALID;
    }
    // Mutant TWO_CHANGES_IN_FLIGHT lets a change start while another is uncommitted.
    if (!Mutations.TWO_CHANGES_IN_FLIGHT
        && (current.isJoint()
            || core.configurationIndex() > log.committed()
            || !core.committedInTerm())) {
      return RaftCore.REJECTED_CHANGE_IN_PROGRESS;
    }
    Configuration next;
    if (sameIds(current.voters(), target.voters())) {
      next = target;
    } else {
      List<Member> learners = new ArrayList<>(target.learners());
      next = new Configuration(target.voters(), current.voters(), learners, target.promotable());
    }
    long index = log.lastIndex() + 1;
    core.append(List.of(new LogEntry(index, core.term, EntryType.CONFIGURATION, next.encode())));
    return index;
  }

  private static boolean sameIds(List<Member> a, List<Member> b) {
    if (a.size() != b.size()) {
      return false;
    }
    for (Member m : a) {
      if (b.stream().noneMatch(x -> x.id().equals(m.id()))) {
        return false;
      }
    }
    return true;
  }

  /** The configuration in force changed: track new members, forget removed ones. */
  void membersChanged(Configuration c) {
    progress.keySet().removeIf(peer -> !c.contains(peer));
    for (Member m : c.all()) {
      if (!m.id().equals(core.id) && !progress.containsKey(m.id())) {
        // CheckQuorum gives the new member one election timeout from now to answer.
        progress.put(
            m.id(),
            new Progress(m.id(), log.lastIndex() + 1, options.maxInflightMessages(), core.now));
      }
    }
    if (leadTransferee != null && !c.isVoter(leadTransferee)) {
      abortTransfer();
    }
  }

  // ---------------------------------------------------------------- leadership transfer

  /** See {@link RaftCore#transferLeadership(String)}; leader only, {@code target} a voter. */
  void transferLeadership(String target) {
    if (target.equals(core.id)) {
      abortTransfer();
      return;
    }
    leadTransferee = target;
    transferElapsed = 0;
    Progress p = progress.get(target);
    if (p != null && p.match() == log.lastIndex()) {
      sendTimeoutNow(target);
    }
  }

  private void sendTimeoutNow(String target) {
    timeoutNowSentInTerm = true;
    core.send(new TimeoutNow(core.id, target, core.term));
  }

  private void abortTransfer() {
    leadTransferee = null;
    transferElapsed = 0;
  }

  // ---------------------------------------------------------------- output

  private void broadcastHeartbeat(boolean quiesce) {
    long round = core.reads.startRound();
    for (Progress p : progress.values()) {
      core.send(
          new Heartbeat(
              core.id, p.id(), core.term, Math.min(log.committed(), p.match()), round, quiesce));
    }
    core.reads.release();
  }

  /**
   * Whether there is a heartbeat round to start or entries (or a probe, or a snapshot notice) to
   * send: the work {@link #flush()} does, with the same conditions ({@link
   * ReadIndex#roundPending()} and {@link #mayAppend}), so that {@link RaftCore#hasReady()} predicts
   * {@link RaftCore#ready()}.
   */
  boolean hasSends() {
    if (core.reads.roundPending()) {
      return true;
    }
    for (Progress p : progress.values()) {
      if (mayAppend(p)) {
        return true;
      }
    }
    return false;
  }

  /**
   * Does what {@link #hasSends()} predicts: the heartbeat round a read waits for, then
   * AppendEntries (or a snapshot notice) to every member that can take more. Sends nothing when it
   * predicts nothing.
   */
  void flush() {
    if (core.reads.roundPending()) {
      broadcastHeartbeat(false);
    }
    for (Progress p : progress.values()) {
      while (mayAppend(p)) {
        if (!sendAppend(p)) {
          break;
        }
      }
    }
  }

  /** Whether this follower's progress lets the leader send it entries or a probe now. */
  private boolean mayAppend(Progress p) {
    return p.canSend() && (p.next() <= log.lastIndex() || p.state() == Progress.State.PROBE);
  }

  /** Returns true if more may be sent to this member in this turn. */
  private boolean sendAppend(Progress p) {
    long prev = p.next() - 1;
    long prevTerm = log.term(prev);
    if (prevTerm < 0 || p.next() <= log.baseIndex()) {
      // §7: the entries this member needs are compacted: send it the snapshot instead.
      SnapshotMeta s = core.latestSnapshot;
      if (s == null) {
        throw new IllegalStateException(
            "member " + p.id() + " needs index " + p.next() + " but no snapshot exists");
      }
      p.becomeSnapshot(s.index(), core.now);
      core.snapshotsToSend.add(
          new InstallSnapshot(
              core.id,
              p.id(),
              core.term,
              s.index(),
              s.term(),
              s.configuration(),
              0,
              0,
              0,
              null,
              false));
      return false;
    }
    List<LogEntry> entries =
        p.next() <= log.lastIndex()
            ? log.entries(p.next(), log.lastIndex() + 1, options.maxMessageBytes())
            : List.of();
    core.send(
        new AppendEntries(core.id, p.id(), core.term, prev, prevTerm, log.committed(), entries));
    p.sent(prev + entries.size(), !entries.isEmpty(), core.now);
    return p.state() == Progress.State.REPLICATE && !entries.isEmpty();
  }

  /** Checks the leader's invariants; see {@link RaftCore#checkInvariants()}. */
  void checkInvariants() {
    for (Progress p : progress.values()) {
      if (p.match() >= p.next()) {
        throw new IllegalStateException(core.id + ": progress " + p);
      }
    }
    // thesis §6.2 / §6.4.1: a lease never outlives CheckQuorum's window (see leaseValid).
    if (core.role == Role.LEADER
        && core.reads.leaseValid()
        && quorumHeardTick() <= core.now - options.electionTimeoutTicks()) {
      throw new IllegalStateException(
          core.id + ": lease holds without a quorum heard within an election timeout");
    }
  }
}
