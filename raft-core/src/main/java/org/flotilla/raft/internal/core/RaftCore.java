package org.flotilla.raft.internal.core;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.BooleanSupplier;
import java.util.random.RandomGenerator;
import org.flotilla.raft.cluster.Configuration;
import org.flotilla.raft.cluster.Member;
import org.flotilla.raft.cluster.Role;
import org.flotilla.raft.message.AppendEntries;
import org.flotilla.raft.message.AppendEntriesResponse;
import org.flotilla.raft.message.ForwardRequest;
import org.flotilla.raft.message.ForwardResponse;
import org.flotilla.raft.message.Heartbeat;
import org.flotilla.raft.message.HeartbeatResponse;
import org.flotilla.raft.message.InstallSnapshot;
import org.flotilla.raft.message.InstallSnapshotResponse;
import org.flotilla.raft.message.LogEntry;
import org.flotilla.raft.message.RaftMessage;
import org.flotilla.raft.message.ReadIndexRequest;
import org.flotilla.raft.message.ReadIndexResponse;
import org.flotilla.raft.message.RequestVote;
import org.flotilla.raft.message.RequestVoteResponse;
import org.flotilla.raft.message.TimeoutNow;
import org.flotilla.raft.spi.DurableMark;
import org.flotilla.raft.spi.HardState;
import org.flotilla.raft.spi.LogReader;
import org.flotilla.raft.spi.SnapshotMeta;

/**
 * The Raft protocol for one member, as a pure state machine (modelled on etcd-raft).
 *
 * <p>Inputs are method calls: {@link #tick()}, {@link #step(RaftMessage)}, {@link #propose(List)},
 * {@link #proposeConfiguration(Configuration)}, {@link #readIndex(long, boolean)}, {@link
 * #transferLeadership(String)}, {@link #persisted(long, long)} and {@link
 * #snapshotTaken(SnapshotMeta)}. Their effects are collected and handed out by {@link #ready()} as
 * one {@link Ready} batch, which the driver executes as that record describes.
 *
 * <p>There are no threads, clocks, I/O or randomness here beyond the {@link RandomGenerator} handed
 * in, so the same inputs always give the same outputs. Not thread-safe; confined to the driver's
 * thread.
 *
 * <p>This class holds what every role shares (the persistent state of Figure 2, the role, the known
 * leader, logical time, the log and its configurations), the role transitions, and the term rules
 * of §5.1 that {@link #step(RaftMessage)} applies to every message before it hands the message to
 * the step function of the member's role: {@link Replication} for a leader, {@link Following} for a
 * follower or learner, {@link Election} for a candidate (which also gives every role's votes). A
 * leader's reads are in {@link ReadIndex}, the configuration history in {@link ConfigHistory}. They
 * share this class's package-private state, on the same thread.
 */
public final class RaftCore {

  /** {@link #propose(List)}: this member is not the leader. */
  public static final long REJECTED_NOT_LEADER = -1;

  /** {@link #propose(List)}: a leadership transfer is in progress. */
  public static final long REJECTED_TRANSFERRING = -2;

  /** {@link #propose(List)}: too many uncommitted entries. */
  public static final long REJECTED_OVERLOADED = -3;

  /** {@link #proposeConfiguration(Configuration)}: another change is still in flight. */
  public static final long REJECTED_CHANGE_IN_PROGRESS = -4;

  /** {@link #proposeConfiguration(Configuration)}: the target configuration is not acceptable. */
  public static final long REJECTED_INVALID = -5;

  // Package-private state below is shared with the role classes of this package, on this thread.
  final String id;
  final CoreOptions options;
  final RaftLog log;

  // Figure 2 persistent state
  long term;
  String votedFor = "";
  private HardState savedHardState;
  // The last entry this member's log store ever reported durable (it may have acknowledged up to
  // there). invariant: while the log does not cover it, this member neither campaigns nor votes for
  // a log that does not cover it (Protocol-Aware Recovery, FAST 2018).
  final DurableMark durableMark;
  // started from a persisted term: it may have acknowledged a leader's lease before it stopped
  final boolean restarted;

  Role role = Role.FOLLOWER;
  String leader;
  long now;
  int electionElapsed;

  // Quiescence (docs/architecture.md, "Quiescence"). A quiesced member counts no ticks: a leader
  // sends no heartbeats and runs no CheckQuorum, a follower's election timer stands still. Set by a
  // leader's heartbeat tick when the group is idle (Replication.mayQuiesce) and by a follower that
  // takes the quiescing heartbeat holding exactly the committed log (Following.handleHeartbeat);
  // cleared by wake(), which every input but storage feedback calls first, and by any role change.
  // invariants: a quiesced member is a leader, follower or learner; a leader that wakes restarts
  // every CheckQuorum window and holds no lease until a round sent after waking is acknowledged
  // (Replication.wake), because the ticks it did not count leave the age of every earlier answer
  // unknown; a follower's electionElapsed stands still below its timeout while quiesced, which can
  // only lengthen the time it refuses votes after answering its leader (the lease's premise).
  boolean quiesced;
  // Asked whenever this member would quiesce: whether its driver has nothing in flight that needs
  // ticks (reads, forwarded commands, transfers). The default never quiesces.
  BooleanSupplier quiesceAllowed = () -> false;

  final ConfigHistory configs;
  // Latest snapshot known to exist (taken locally or installed), for followers that need one.
  SnapshotMeta latestSnapshot;

  final Election election;
  final Following following;
  final Replication replication;
  final ReadIndex reads;

  // Outputs collected for the next ready()
  private final ArrayList<RaftMessage> messages = new ArrayList<>();
  // Followers that need a snapshot: notices for the driver, handed out in Ready.snapshotsToSend.
  final ArrayList<InstallSnapshot> snapshotsToSend = new ArrayList<>();
  final ArrayList<ReadState> readStates = new ArrayList<>();

  /**
   * Creates a core from its persisted state.
   *
   * @param id this member's id
   * @param options the protocol settings
   * @param bootstrap the initial configuration, used when neither the log nor a snapshot holds one:
   *     {@link Configuration#EMPTY} for a member that joins a running group, which then never
   *     campaigns and waits for a leader to send it the group's configuration
   * @param store the log store (read only)
   * @param hardState the persisted term and vote
   * @param snapshot the newest snapshot, whose state the driver has restored, or null
   * @param random the source of election-timeout jitter
   */
  public RaftCore(
      String id,
      CoreOptions options,
      Configuration bootstrap,
      LogReader store,
      HardState hardState,
      SnapshotMeta snapshot,
      RandomGenerator random) {
    this.id = id;
    this.options = options;
    this.term = hardState.term();
    this.votedFor = hardState.votedFor();
    this.restarted = hardState.term() > 0;
    this.savedHardState = hardState;
    this.latestSnapshot = snapshot;
    long snapshotIndex = snapshot == null ? 0 : snapshot.index();
    if (store.baseIndex() > snapshotIndex) {
      throw new IllegalStateException(
          "log starts after index "
              + store.baseIndex()
              + " but the newest snapshot covers only "
              + snapshotIndex);
    }
    this.log = new RaftLog(store, snapshotIndex);
    this.durableMark = store.durableMark();
    Configuration initial = snapshot != null ? snapshot.configuration() : bootstrap;
    this.configs = new ConfigHistory(snapshotIndex, initial);
    configs.recover(store, snapshotIndex);
    this.election = new Election(this, random);
    this.following = new Following(this);
    this.replication = new Replication(this);
    this.reads = new ReadIndex(this);
    becomeFollower(term, null);
  }

  // ---------------------------------------------------------------- state accessors

  /** {@return this member's id} */
  public String id() {
    return id;
  }

  /** {@return the current term} */
  public long term() {
    return term;
  }

  /** {@return the member voted for in the current term, or the empty string} */
  public String votedFor() {
    return votedFor;
  }

  /** {@return the current role} */
  public Role role() {
    return role;
  }

  /** {@return the leader of the current term as far as this member knows, or null} */
  public String leader() {
    return leader;
  }

  /** {@return the commit index} */
  public long commitIndex() {
    return log.committed();
  }

  /** {@return the index of the last entry handed out for applying} */
  public long appliedIndex() {
    return log.applied();
  }

  /** {@return the index of the last entry in the log} */
  public long lastIndex() {
    return log.lastIndex();
  }

  /**
   * {@return the term of the entry at {@code index}, or -1 if it is not in the log}
   *
   * @param index the index
   */
  public long termAt(long index) {
    return log.term(index);
  }

  /** {@return the ticks this core has counted: its logical time} */
  public long now() {
    return now;
  }

  /** {@return the highest index this member has persisted} */
  public long persistedIndex() {
    return log.persisted();
  }

  /** {@return the configuration in force (the newest in the log)} */
  public Configuration configuration() {
    if (Mutations.CONFIG_WHEN_COMMITTED) {
      // Mutant: the newest configuration known committed, not the newest in the log (thesis §4.1).
      return configs.committed();
    }
    return configs.inForce();
  }

  /**
   * Returns the members this member must be able to exchange messages with: those of the
   * configuration in force and of every configuration back to the newest committed one, with the
   * newest address of each. A member that an uncommitted configuration removes stays until the
   * removal commits, because the removal needs its messages: a leader that removes itself commits
   * that entry only when the remaining members' acknowledgements reach it (thesis §4.2.2).
   *
   * @return the members, this one included if it is one
   */
  public List<Member> reachableMembers() {
    return configs.members();
  }

  /** {@return a number that changes whenever {@link #reachableMembers()} may have changed} */
  public long configurationsVersion() {
    return configs.version();
  }

  /** {@return the index of the configuration in force (0 for the bootstrap configuration)} */
  public long configurationIndex() {
    return configs.inForceIndex();
  }

  /** {@return the newest snapshot this member knows of, or null} */
  public SnapshotMeta latestSnapshot() {
    return latestSnapshot;
  }

  /** {@return the leader's progress of every other member (empty unless leader)} */
  public Map<String, Progress> progress() {
    return replication.progressView();
  }

  /** {@return the target of the leadership transfer in progress, or null} */
  public String leadTransferee() {
    return replication.transferee();
  }

  /** {@return the options} */
  public CoreOptions options() {
    return options;
  }

  /**
   * Tells whether this member is quiesced: it counts no ticks until {@link #wake()} (which every
   * message, proposal, read and transfer calls first) or {@link #hostDown(String)}. See
   * docs/architecture.md, "Quiescence".
   *
   * @return true while quiesced
   */
  public boolean quiesced() {
    return quiesced;
  }

  /**
   * Returns how many ticks may pass before a tick does more than count time: for a member that does
   * not lead, the ticks until its election timer fires (a follower's or candidate's tick only
   * counts {@code now} and {@code electionElapsed} until then); for a leader 1 (it heartbeats and
   * checks its followers on ticks). A driver with nothing else that needs ticks may deliver them
   * all at once, that many ticks from now, instead of one by one, provided that it delivers the
   * ticks due before every other input (a vote request then sees the same {@code electionElapsed}
   * as with ticks one by one, and the timer fires on the same tick).
   *
   * @return at least 1
   */
  public int ticksUntilTimer() {
    return role == Role.LEADER ? 1 : election.ticksUntilTimeout();
  }

  /**
   * Lets this member quiesce when the group is idle and {@code driverIdle} says the driver has
   * nothing in flight that needs ticks; without it (the default) it never quiesces. Only a driver
   * that wakes the member when a peer's host fails ({@link #hostDown(String)}) may allow it:
   * otherwise the followers of a quiesced leader that dies would never notice.
   *
   * @param driverIdle asked on the driver's thread whenever this member would quiesce
   */
  public void allowQuiescence(BooleanSupplier driverIdle) {
    quiesceAllowed = driverIdle;
  }

  /**
   * Wakes this member if it is quiesced: it counts ticks again from the next one. A leader restarts
   * its CheckQuorum windows and holds no lease until it hears a new round's answers.
   */
  public void wake() {
    if (!quiesced) {
      return;
    }
    quiesced = false;
    if (role == Role.LEADER) {
      replication.wake();
    }
  }

  /**
   * Tells this member that the host of {@code member} stopped answering (host-level liveness): a
   * quiesced follower whose leader it is, or a quiesced leader of which it is a member, wakes, so
   * that its election timer (or CheckQuorum) runs again. The election timer resumes from where it
   * stood, so the member still waits out the rest of its timeout before it campaigns or votes.
   *
   * @param member the member id whose host is down
   */
  public void hostDown(String member) {
    if (quiesced
        && (role == Role.LEADER ? replication.progress(member) != null : member.equals(leader))) {
      wake();
    }
  }

  boolean promotable() {
    return configuration().isVoter(id);
  }

  /**
   * Whether this member may start an election: as a voter of the configuration in force, or as a
   * voter of the committed configuration that an uncommitted one (in this log only, perhaps) has
   * made a non-voter. Without the second case a group can stall: if the only voters of an
   * uncommitted C<sub>new</sub> lost it in a crash, they hold shorter logs than the members that
   * still have it, cannot win their votes, and those members would never campaign. Votes are still
   * counted by the configuration in force, as for any candidate, and a leader outside it steps down
   * once that configuration commits (§6). A member awaiting repair of a lost tail never campaigns.
   *
   * @return true if this member starts an election when its election timer fires
   */
  public boolean mayCampaign() {
    if (awaitingRepair()) {
      // Our own vote would be for a log that lost entries we may have acknowledged.
      return false;
    }
    return promotable()
        || (configurationIndex() > log.committed() && configs.committed().isVoter(id));
  }

  /**
   * Tells whether this member's log lost entries it may have acknowledged: the log no longer covers
   * the {@linkplain DurableMark durable mark} its store recorded (a lost or zeroed write found at
   * start). Until a leader brings the log back over the mark, the member does not campaign and
   * grants votes only to candidates whose logs cover the mark, so that the entries it lost, which
   * may have been committed with its acknowledgement, cannot lose their majority.
   *
   * @return true while the log is shorter than what this member may have acknowledged
   */
  public boolean awaitingRepair() {
    return !durableMark.coveredBy(log.lastIndex(), log.lastTerm());
  }

  /** {@return the durable mark read from the log store at start} */
  public DurableMark durableMark() {
    return durableMark;
  }

  /** Whether the entry at the commit index is of the current term. */
  boolean committedInTerm() {
    return log.term(log.committed()) == term;
  }

  /**
   * Tells whether this member leads and has committed an entry of its term (its no-op), which a
   * leader needs before it serves reads or accepts a membership change (thesis §6.4, and the
   * single-server-change bug of thesis §4.1 fixed by the same rule).
   *
   * @return true for a leader ready for reads and membership changes
   */
  public boolean isLeaderReady() {
    return role == Role.LEADER && committedInTerm();
  }

  // ---------------------------------------------------------------- role transitions

  private void reset(long newTerm) {
    boolean newTermStarts = term != newTerm;
    if (newTermStarts) {
      term = newTerm;
      votedFor = "";
    }
    leader = null;
    quiesced = false;
    election.reset();
    replication.reset(newTermStarts);
    following.reset();
    reads.failAll();
  }

  void becomeFollower(long newTerm, String newLeader) {
    reset(newTerm);
    leader = newLeader;
    role = promotable() ? Role.FOLLOWER : Role.LEARNER;
  }

  void becomePreCandidate() {
    // thesis §9.6: a pre-candidate does not change its term or vote.
    election.reset();
    replication.reset(false);
    leader = null;
    role = Role.PRE_CANDIDATE;
  }

  void becomeCandidate() {
    // §5.2: increment currentTerm, vote for self.
    reset(term + 1);
    votedFor = id;
    role = Role.CANDIDATE;
  }

  void becomeLeader() {
    reset(term);
    role = Role.LEADER;
    leader = id;
    replication.start();
  }

  // ---------------------------------------------------------------- ticks

  /** Advances logical time by one tick: election timeouts, heartbeats, quorum checks. */
  public void tick() {
    if (quiesced) {
      return;
    }
    now++;
    if (role == Role.LEADER) {
      replication.tick();
    } else {
      election.tick();
    }
  }

  // ---------------------------------------------------------------- messages

  /**
   * Handles a message from another member: applies the term rules of §5.1, answers votes and read
   * answers in any role, and hands the rest to the step function of this member's role.
   *
   * @param m the message; one addressed to another member is ignored
   */
  public void step(RaftMessage m) {
    if (m instanceof ForwardRequest || m instanceof ForwardResponse) {
      throw new IllegalArgumentException("forwarded commands are the runtime's, not the core's");
    }
    if (!m.to().equals(id) || m.from().equals(id)) {
      return;
    }
    if (quiesced) {
      if (role == Role.LEADER
          && m instanceof HeartbeatResponse hbr
          && hbr.quiesced()
          && m.term() == term) {
        // A follower quiesced as asked: nothing to do, and no lease is taken from it.
        return;
      }
      wake();
    }
    if (m.term() > term) {
      if (Mutations.NO_STEP_DOWN_ON_HIGHER_TERM
          && (role == Role.LEADER || role == Role.CANDIDATE)
          && !(m instanceof RequestVoteResponse rvr0 && rvr0.preVote())) {
        // Mutant: adopt the higher term but keep leading or campaigning (breaks §5.1).
        term = m.term();
        votedFor = role == Role.CANDIDATE ? id : "";
      } else if (m instanceof RequestVote rv) {
        if (election.disregards(rv)) {
          return;
        }
        if (!rv.preVote()) {
          becomeFollower(m.term(), null);
        }
      } else if (m instanceof RequestVoteResponse rvr && rvr.preVote() && rvr.granted()) {
        // A granted pre-vote carries the term we would campaign in: no term change.
      } else if (m instanceof AppendEntries
          || m instanceof Heartbeat
          || m instanceof InstallSnapshot
          || m instanceof TimeoutNow) {
        becomeFollower(m.term(), m.from());
      } else {
        becomeFollower(m.term(), null);
      }
    } else if (m.term() < term) {
      stepStale(m);
      return;
    }
    if (m instanceof RequestVote rv) {
      election.handleRequestVote(rv);
      return;
    }
    if (m instanceof ReadIndexResponse rir) {
      reads.answered(rir);
      return;
    }
    switch (role) {
      case LEADER -> replication.step(m);
      case FOLLOWER, LEARNER -> following.step(m);
      case PRE_CANDIDATE, CANDIDATE -> election.step(m);
      case FAILED -> throw new IllegalStateException("the core never fails: " + id);
    }
  }

  /** Handles a message from an older term. */
  private void stepStale(RaftMessage m) {
    // §5.1: tell a stale leader or candidate about the newer term, so it steps down. Stale
    // responses are dropped.
    if (m instanceof AppendEntries ae) {
      send(new AppendEntriesResponse(id, ae.from(), term, false, 0, ae.prevLogIndex(), 0, 0));
    } else if (m instanceof Heartbeat hb) {
      send(new HeartbeatResponse(id, hb.from(), term, hb.round()));
    } else if (m instanceof InstallSnapshot is) {
      send(new InstallSnapshotResponse(id, is.from(), term, is.snapshotIndex(), 0, false, true));
    } else if (m instanceof RequestVote rv) {
      send(new RequestVoteResponse(id, rv.from(), term, false, rv.preVote()));
    } else if (m instanceof ReadIndexRequest rir) {
      send(new ReadIndexResponse(id, rir.from(), term, rir.requestId(), 0, false));
    }
  }

  // ---------------------------------------------------------------- proposals

  /**
   * Proposes commands, one log entry each.
   *
   * @param commands the payloads, read-only from now on
   * @return the index of the first new entry, or a negative {@code REJECTED_*} code
   */
  public long propose(List<ByteBuffer> commands) {
    wake();
    return role == Role.LEADER ? replication.propose(commands) : REJECTED_NOT_LEADER;
  }

  /**
   * Proposes a new membership. A change of voters goes through joint consensus (§6): the core
   * appends C<sub>old,new</sub> now and C<sub>new</sub> once that commits. A change of learners
   * only is appended directly.
   *
   * @param target the wanted simple configuration
   * @return the index of the configuration entry, or a negative {@code REJECTED_*} code
   */
  public long proposeConfiguration(Configuration target) {
    wake();
    return role == Role.LEADER ? replication.proposeConfiguration(target) : REJECTED_NOT_LEADER;
  }

  /** Appends entries to the log (a leader's own, or a follower's from its leader). */
  void append(List<LogEntry> entries) {
    log.append(entries);
    // A configuration takes effect as soon as it is in the log (§6, thesis §4.1).
    if (configs.appended(entries)) {
      configurationChanged();
    }
  }

  private void configurationChanged() {
    Configuration c = configuration();
    if (role == Role.LEADER) {
      replication.membersChanged(c);
    } else if (role == Role.FOLLOWER || role == Role.LEARNER) {
      role = c.isVoter(id) ? Role.FOLLOWER : Role.LEARNER;
    } else if (!c.isVoter(id)) {
      becomeFollower(term, null);
    }
  }

  /** Drops configurations older than the newest committed one. */
  void pruneConfigs() {
    if (configs.prune(log.committed()) && Mutations.CONFIG_WHEN_COMMITTED) {
      configurationChanged(); // Mutant: the committed configuration takes effect only now.
    }
  }

  // ---------------------------------------------------------------- reads

  /**
   * Requests a read index for {@code context} (thesis §6.4). The answer arrives in a later {@link
   * Ready#readStates()}. A leader confirms its leadership with a heartbeat round that concurrent
   * requests share; with {@code allowLease} and check-quorum on, a leader whose lease holds answers
   * at once (thesis §6.4.1, which trusts bounded clock drift). A follower forwards the request to
   * the leader. See {@link ReadIndex}.
   *
   * @param context the caller's id for the request
   * @param allowLease whether a leader lease may replace the heartbeat round
   */
  public void readIndex(long context, boolean allowLease) {
    wake();
    if (role == Role.LEADER) {
      reads.request(context, id, allowLease);
    } else if (leader != null) {
      send(new ReadIndexRequest(id, leader, term, context));
    } else {
      readStates.add(new ReadState(context, ReadState.FAILED));
    }
  }

  // ---------------------------------------------------------------- leadership transfer

  /**
   * Starts a leadership transfer to {@code target} (thesis §3.10): the leader stops accepting
   * proposals, brings the target up to date and sends it {@code TimeoutNow}; the transfer is
   * aborted if it has not completed within an election timeout.
   *
   * @param target the member to hand leadership to
   * @return false if this member is not leader or the target is not a voter
   */
  public boolean transferLeadership(String target) {
    wake();
    if (role != Role.LEADER || !configuration().isVoter(target)) {
      return false;
    }
    replication.transferLeadership(target);
    return true;
  }

  /**
   * Tells the core that the driver could not send a snapshot to a member (for example there was
   * none to send); replication to it starts over from probing.
   *
   * @param peer the member
   */
  public void snapshotFailed(String peer) {
    if (role == Role.LEADER) {
      replication.snapshotFailed(peer);
    }
  }

  // ---------------------------------------------------------------- storage feedback

  /**
   * Tells the core that the log store made every entry up to {@code index} durable, the entry at
   * {@code index} having {@code term}. A report for an entry since replaced is ignored.
   *
   * @param index the durable index
   * @param term the term of the entry at {@code index} when it was written
   */
  public void persisted(long index, long term) {
    if (!log.persistedTo(index, term)) {
      return;
    }
    if (role == Role.LEADER) {
      replication.maybeCommit();
    } else if (leader != null) {
      following.sendAck(leader, false);
    }
  }

  /**
   * Bounds the committed entries handed out for applying: none beyond {@code index} until the limit
   * is raised. The driver uses it to bound its apply queue.
   *
   * @param index the highest index the driver can take now
   */
  public void setApplyLimit(long index) {
    log.setApplyLimit(index);
  }

  /**
   * Tells the core that a snapshot up to {@code meta.index()} is durable, so that members too far
   * behind can be sent it, and the log before it may be compacted.
   *
   * @param meta the snapshot
   */
  public void snapshotTaken(SnapshotMeta meta) {
    if (latestSnapshot == null || meta.index() > latestSnapshot.index()) {
      latestSnapshot = meta;
    }
  }

  // ---------------------------------------------------------------- output

  void send(RaftMessage m) {
    messages.add(m);
  }

  /**
   * Tells whether {@link #ready()} has work to hand out.
   *
   * @return true if there is work
   */
  public boolean hasReady() {
    // The cheap checks first; the walk over the followers last.
    return !messages.isEmpty()
        || !snapshotsToSend.isEmpty()
        || !readStates.isEmpty()
        || log.hasUnstable()
        || !savedHardState.equals(new HardState(term, votedFor))
        || log.hasCommittedToApply()
        || (role == Role.LEADER && replication.hasSends());
  }

  /**
   * Hands out the work collected since the last call; see {@link Ready} for what the driver must do
   * with it. The entries and snapshot are considered handed to the store on return.
   *
   * @return the batch
   */
  public Ready ready() {
    if (role == Role.LEADER) {
      // Does what Replication.hasSends() predicts for hasReady().
      replication.flush();
    }
    HardState hs = new HardState(term, votedFor);
    HardState changed = hs.equals(savedHardState) ? null : hs;
    savedHardState = hs;
    if (Mutations.VOTE_NOT_PERSISTED && changed != null) {
      changed = new HardState(term, ""); // Mutant: the vote is not handed out to persist.
    }
    SnapshotMeta snapshot = log.takeSnapshot();
    List<LogEntry> entries = log.takeUnstable();
    List<LogEntry> committed = log.nextCommitted(options.maxApplyBytes());
    if (!committed.isEmpty()) {
      log.appliedTo(committed.get(committed.size() - 1).index());
    }
    List<RaftMessage> out = List.copyOf(messages);
    messages.clear();
    List<InstallSnapshot> notices = List.copyOf(snapshotsToSend);
    snapshotsToSend.clear();
    List<ReadState> reads = List.copyOf(readStates);
    readStates.clear();
    return new Ready(changed, entries, snapshot, out, notices, committed, reads, log.committed());
  }

  // ---------------------------------------------------------------- invariants

  /**
   * Checks the core's internal invariants and throws {@link IllegalStateException} if one is
   * broken. The simulator calls it after every event.
   */
  public void checkInvariants() {
    if (log.applied() > log.committed()) {
      throw new IllegalStateException(
          id + ": applied " + log.applied() + " > commit " + log.committed());
    }
    if (log.persisted() > log.lastIndex()) {
      throw new IllegalStateException(id + ": persisted beyond last index");
    }
    if (role == Role.LEADER && !leader.equals(id)) {
      throw new IllegalStateException(id + ": leader that does not know it leads");
    }
    if (quiesced && role != Role.LEADER && role != Role.FOLLOWER && role != Role.LEARNER) {
      throw new IllegalStateException(id + ": quiesced as " + role);
    }
    if (role == Role.CANDIDATE && !votedFor.equals(id)) {
      throw new IllegalStateException(id + ": candidate that did not vote for itself");
    }
    replication.checkInvariants();
  }

  @Override
  public String toString() {
    return id
        + "{"
        + role
        + " term="
        + term
        + " leader="
        + leader
        + " last="
        + log.lastIndex()
        + " commit="
        + log.committed()
        + " persisted="
        + log.persisted()
        + "}";
  }
}
