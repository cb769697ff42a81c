package org.flotilla.raft.internal.core;

import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.random.RandomGenerator;
import org.flotilla.raft.cluster.Configuration;
import org.flotilla.raft.cluster.Member;
import org.flotilla.raft.cluster.Role;
import org.flotilla.raft.message.AppendEntries;
import org.flotilla.raft.message.AppendEntriesResponse;
import org.flotilla.raft.message.EntryType;
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

  /** How many heartbeat rounds' send ticks are remembered for leases. */
  private static final int ROUND_HISTORY = 64;

  private final String id;
  private final CoreOptions options;
  private final RandomGenerator random;
  private final RaftLog log;

  // Figure 2 persistent state
  private long term;
  private String votedFor = "";
  private HardState savedHardState;
  // The last entry this member's log store ever reported durable (it may have acknowledged up to
  // there). invariant: while the log does not cover it, this member neither campaigns nor votes for
  // a log that does not cover it (Protocol-Aware Recovery, FAST 2018).
  private final DurableMark durableMark;

  private Role role = Role.FOLLOWER;
  private String leader;
  private long now;
  private int electionElapsed;
  private int heartbeatElapsed;
  private int randomizedElectionTimeout;

  // Configurations in the log after the committed one, and the committed one first.
  // invariant: configs is not empty and sorted by index; configs.get(last) is in force
  private final ArrayList<ConfigAt> configs = new ArrayList<>();
  // Bumped whenever configs changes, so the runtime can tell when reachableMembers() changed.
  private long configsVersion;

  // Latest snapshot known to exist (taken locally or installed), for followers that need one.
  private SnapshotMeta latestSnapshot;

  // Candidate state
  private final Map<String, Boolean> votes = new HashMap<>();

  // Leader state
  private final Map<String, Progress> progress = new LinkedHashMap<>();
  private String leadTransferee;
  private int transferElapsed;
  private boolean timeoutNowSentInTerm;
  // started from a persisted term: it may have acknowledged a leader's lease before it stopped
  private final boolean restarted;
  private long round;
  private boolean roundSent = true;
  private final long[] roundSentTick = new long[ROUND_HISTORY];
  private final ArrayDeque<PendingRead> pendingReads = new ArrayDeque<>();
  private final ArrayList<PendingRead> readsAwaitingCommit = new ArrayList<>();

  // Follower state: highest index known to match the current leader's log in this term, and the
  // highest match index acknowledged to it.
  private long verified;
  private long acked;

  // Outputs collected for the next ready()
  private final ArrayList<RaftMessage> messages = new ArrayList<>();
  // Followers that need a snapshot: notices for the driver, handed out in Ready.snapshotsToSend.
  private final ArrayList<InstallSnapshot> snapshotsToSend = new ArrayList<>();
  private final ArrayList<ReadState> readStates = new ArrayList<>();

  private record ConfigAt(long index, Configuration configuration) {}

  private record PendingRead(long round, long index, long context, String from) {}

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
    this.random = random;
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
    configs.add(new ConfigAt(snapshotIndex, initial));
    recoverConfigurations(store, snapshotIndex);
    becomeFollower(term, null);
  }

  private void recoverConfigurations(LogReader store, long snapshotIndex) {
    long from = Math.max(store.firstIndex(), snapshotIndex + 1);
    long last = store.lastIndex();
    while (from <= last) {
      List<LogEntry> batch = store.entries(from, last + 1, 4 << 20);
      for (LogEntry e : batch) {
        if (e.type() == EntryType.CONFIGURATION) {
          configs.add(new ConfigAt(e.index(), Configuration.decode(e.payload())));
        }
      }
      from += batch.size();
    }
  }

  // ---------------------------------------------------------------- state accessors

  /**
   * Returns this member's id.
   *
   * @return the id
   */
  public String id() {
    return id;
  }

  /**
   * Returns the current term.
   *
   * @return the term
   */
  public long term() {
    return term;
  }

  /**
   * Returns the member voted for in the current term, or the empty string.
   *
   * @return the vote
   */
  public String votedFor() {
    return votedFor;
  }

  /**
   * Returns the current role.
   *
   * @return the role
   */
  public Role role() {
    return role;
  }

  /**
   * Returns the leader of the current term as far as this member knows, or null.
   *
   * @return the leader's id
   */
  public String leader() {
    return leader;
  }

  /**
   * Returns the commit index.
   *
   * @return the commit index
   */
  public long commitIndex() {
    return log.committed();
  }

  /**
   * Returns the index of the last entry handed out for applying.
   *
   * @return the applied mark
   */
  public long appliedIndex() {
    return log.applied();
  }

  /**
   * Returns the index of the last entry in the log.
   *
   * @return the last index
   */
  public long lastIndex() {
    return log.lastIndex();
  }

  /**
   * Returns the term of the entry at {@code index}, or -1 if it is not in the log.
   *
   * @param index the index
   * @return the term
   */
  public long termAt(long index) {
    return log.term(index);
  }

  /**
   * Returns the highest index this member has persisted.
   *
   * @return the persisted index
   */
  public long persistedIndex() {
    return log.persisted();
  }

  /**
   * Returns the configuration in force (the newest in the log).
   *
   * @return the configuration
   */
  public Configuration configuration() {
    if (Mutations.CONFIG_WHEN_COMMITTED) {
      // Mutant: the newest configuration known committed, not the newest in the log (thesis §4.1).
      return configs.get(0).configuration();
    }
    return configs.get(configs.size() - 1).configuration();
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
    Map<String, Member> byId = new LinkedHashMap<>();
    for (int i = configs.size() - 1; i >= 0; i--) {
      for (Member m : configs.get(i).configuration().all()) {
        byId.putIfAbsent(m.id(), m);
      }
    }
    return List.copyOf(byId.values());
  }

  /**
   * Returns a number that changes whenever {@link #reachableMembers()} may have changed.
   *
   * @return the version of the configuration list
   */
  public long configurationsVersion() {
    return configsVersion;
  }

  /**
   * Returns the index of the configuration in force (0 for the bootstrap configuration).
   *
   * @return the index
   */
  public long configurationIndex() {
    return configs.get(configs.size() - 1).index();
  }

  /**
   * Returns the newest snapshot this member knows of, or null.
   *
   * @return the snapshot's metadata
   */
  public SnapshotMeta latestSnapshot() {
    return latestSnapshot;
  }

  /**
   * Returns the leader's progress of every other member (empty unless leader).
   *
   * @return id to progress, read-only
   */
  public Map<String, Progress> progress() {
    return Collections.unmodifiableMap(progress);
  }

  /**
   * Returns the target of the leadership transfer in progress, or null.
   *
   * @return the transferee
   */
  public String leadTransferee() {
    return leadTransferee;
  }

  /**
   * Returns the options.
   *
   * @return the options
   */
  public CoreOptions options() {
    return options;
  }

  private boolean promotable() {
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
        || (configurationIndex() > log.committed() && configs.get(0).configuration().isVoter(id));
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

  /**
   * Returns the durable mark read from the log store at start.
   *
   * @return the mark
   */
  public DurableMark durableMark() {
    return durableMark;
  }

  // ---------------------------------------------------------------- role transitions

  private void reset(long newTerm) {
    if (term != newTerm) {
      term = newTerm;
      votedFor = "";
      timeoutNowSentInTerm = false;
    }
    leader = null;
    electionElapsed = 0;
    heartbeatElapsed = 0;
    randomizedElectionTimeout = drawElectionTimeout();
    votes.clear();
    abortTransfer();
    progress.clear();
    verified = 0;
    acked = 0;
    failPendingReads();
  }

  private int drawElectionTimeout() {
    int t = options.electionTimeoutTicks();
    int timeout = t + random.nextInt(t);
    // Priority election: a member below the highest voter priority waits one timeout longer, so
    // the preferred member usually wins when it is up (and the others still do when it is not).
    Configuration c = configuration();
    int mine = c.member(id).map(Member::priority).orElse(Member.DEFAULT_PRIORITY);
    int max = mine;
    for (Member m : c.voters()) {
      max = Math.max(max, m.priority());
    }
    return mine < max ? timeout + t : timeout;
  }

  private void becomeFollower(long newTerm, String newLeader) {
    reset(newTerm);
    leader = newLeader;
    role = promotable() ? Role.FOLLOWER : Role.LEARNER;
  }

  private void becomePreCandidate() {
    // thesis §9.6: a pre-candidate does not change its term or vote.
    votes.clear();
    progress.clear();
    leader = null;
    role = Role.PRE_CANDIDATE;
    electionElapsed = 0;
    randomizedElectionTimeout = drawElectionTimeout();
  }

  private void becomeCandidate() {
    // §5.2: increment currentTerm, vote for self.
    reset(term + 1);
    votedFor = id;
    role = Role.CANDIDATE;
  }

  private void becomeLeader() {
    reset(term);
    role = Role.LEADER;
    leader = id;
    long next = log.lastIndex() + 1;
    for (Member m : configuration().all()) {
      if (!m.id().equals(id)) {
        progress.put(m.id(), new Progress(m.id(), next, options.maxInflightMessages(), now));
      }
    }
    round = 0;
    roundSent = true;
    // §5.4.2 / thesis §6.4: commit an entry of the new term at once.
    appendAsLeader(List.of(LogEntry.noop(next, term)));
  }

  private void campaign(boolean preVote, boolean transfer) {
    long voteTerm;
    if (preVote) {
      becomePreCandidate();
      voteTerm = term + 1;
    } else {
      becomeCandidate();
      voteTerm = term;
    }
    votes.put(id, true);
    if (tallyVotes(preVote)) {
      return;
    }
    for (Member m : votersOf(configuration())) {
      if (!m.id().equals(id)) {
        send(
            new RequestVote(
                id, m.id(), voteTerm, log.lastIndex(), log.lastTerm(), preVote, transfer));
      }
    }
  }

  private static List<Member> votersOf(Configuration c) {
    if (!c.isJoint()) {
      return c.voters();
    }
    Map<String, Member> all = new LinkedHashMap<>();
    for (Member m : c.voters()) {
      all.put(m.id(), m);
    }
    for (Member m : c.outgoing()) {
      all.putIfAbsent(m.id(), m);
    }
    return new ArrayList<>(all.values());
  }

  /** Returns true if the election was decided. */
  private boolean tallyVotes(boolean preVote) {
    Quorum.VoteResult result = Quorum.voteResult(configuration(), votes);
    if (result == Quorum.VoteResult.WON) {
      if (preVote) {
        campaign(false, false);
      } else {
        becomeLeader();
      }
      return true;
    }
    if (result == Quorum.VoteResult.LOST) {
      becomeFollower(term, null);
      return true;
    }
    return false;
  }

  // ---------------------------------------------------------------- ticks

  /** Advances logical time by one tick: election timeouts, heartbeats, quorum checks. */
  public void tick() {
    now++;
    if (role == Role.LEADER) {
      tickLeader();
    } else {
      tickElection();
    }
  }

  private void tickElection() {
    electionElapsed++;
    if (mayCampaign() && electionElapsed >= randomizedElectionTimeout) {
      electionElapsed = 0;
      campaign(options.preVote(), false);
    }
  }

  private void tickLeader() {
    // A leader's electionElapsed stays 0, so it ignores RequestVotes that are not transfers
    // (thesis §4.2.3) for as long as it leads.
    heartbeatElapsed++;
    if (leadTransferee != null && ++transferElapsed >= options.electionTimeoutTicks()) {
      // thesis §3.10: abort a transfer that has not completed within an election timeout.
      abortTransfer();
    }
    int window = options.electionTimeoutTicks();
    for (Progress p : progress.values()) {
      p.expireActivity(now, window);
    }
    // thesis §6.2 CheckQuorum: "a leader in Raft steps down if an election timeout elapses without
    // a successful round of heartbeats to a majority of its cluster". Checked on every tick over a
    // sliding window: the leader steps down at the first tick that is a full election timeout after
    // the last tick at which it had heard from a quorum. Leases do not depend on this schedule;
    // invariant (leaseValid, checkInvariants): a valid lease implies a quorum heard within the
    // window, so this never ends a lease early, and stepping down ends lease reads at once.
    if (options.checkQuorum() && quorumHeardTick() <= now - window) {
      becomeFollower(term, null);
      return;
    }
    if (heartbeatElapsed >= options.heartbeatTicks()) {
      heartbeatElapsed = 0;
      broadcastHeartbeat();
      maybeTransferToHigherPriority();
      restartStalledReplication();
    }
  }

  /**
   * Returns the latest tick {@code t} such that a quorum of the configuration in force (both halves
   * of a joint one; learners never count) has been heard from at {@code t} or later, this leader
   * counting as heard now and a member not yet heard from as heard when the leader began tracking
   * it.
   */
  private long quorumHeardTick() {
    return Quorum.committedValue(
        configuration(),
        m -> {
          if (m.equals(id)) {
            return now;
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
          && now - p.lastProgressTick() >= Math.max(2, options.electionTimeoutTicks() / 2)) {
        p.becomeProbe();
      }
    }
  }

  private void maybeTransferToHigherPriority() {
    Configuration c = configuration();
    if (leadTransferee != null || c.isJoint() || !committedInTerm()) {
      return;
    }
    int mine = c.member(id).map(Member::priority).orElse(Member.DEFAULT_PRIORITY);
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
    if (best != null) {
      transferLeadership(best.id());
    }
  }

  // ---------------------------------------------------------------- messages

  /**
   * Handles a message from another member.
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
    if (m.term() > term) {
      if (Mutations.NO_STEP_DOWN_ON_HIGHER_TERM
          && (role == Role.LEADER || role == Role.CANDIDATE)
          && !(m instanceof RequestVoteResponse rvr0 && rvr0.preVote())) {
        // Mutant: adopt the higher term but keep leading or campaigning (breaks §5.1).
        term = m.term();
        votedFor = role == Role.CANDIDATE ? id : "";
      } else if (m instanceof RequestVote rv) {
        // thesis §9.6 / §4.2.3: ignore votes while a leader is known to be alive, unless the
        // election comes from a leadership transfer.
        // A member that just (re)started may have promised a lease before its crash: it keeps
        // that promise for one election timeout of its own.
        boolean inLease =
            options.checkQuorum()
                && ((leader != null && electionElapsed < options.electionTimeoutTicks())
                    || (restarted && now < options.electionTimeoutTicks()));
        if (inLease && !rv.transfer()) {
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
    if (m instanceof AppendEntries ae) {
      handleAppendEntries(ae);
    } else if (m instanceof AppendEntriesResponse aer) {
      handleAppendEntriesResponse(aer);
    } else if (m instanceof Heartbeat hb) {
      handleHeartbeat(hb);
    } else if (m instanceof HeartbeatResponse hbr) {
      handleHeartbeatResponse(hbr);
    } else if (m instanceof RequestVote rv) {
      handleRequestVote(rv);
    } else if (m instanceof RequestVoteResponse rvr) {
      handleVoteResponse(rvr);
    } else if (m instanceof InstallSnapshot is) {
      handleInstallSnapshot(is);
    } else if (m instanceof InstallSnapshotResponse isr) {
      handleInstallSnapshotResponse(isr);
    } else if (m instanceof TimeoutNow) {
      handleTimeoutNow();
    } else if (m instanceof ReadIndexRequest rir) {
      handleReadIndexRequest(rir);
    } else if (m instanceof ReadIndexResponse rir) {
      handleReadIndexResponse(rir);
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

  private void handleRequestVote(RequestVote rv) {
    // §5.2: at most one vote per term, first come first served; §5.4.1: only for a candidate
    // whose log is at least as up to date.
    boolean canVote =
        votedFor.equals(rv.from())
            || (votedFor.isEmpty() && leader == null)
            || (rv.preVote() && rv.term() > term);
    // A member whose log lost entries it may have acknowledged votes as if it still held them: only
    // for a candidate whose log covers its durable mark (Protocol-Aware Recovery).
    boolean grant =
        canVote
            // Mutant VOTE_WITHOUT_LOG_CHECK skips §5.4.1.
            && (Mutations.VOTE_WITHOUT_LOG_CHECK
                || log.isUpToDate(rv.lastLogIndex(), rv.lastLogTerm()))
            && durableMark.coveredBy(rv.lastLogIndex(), rv.lastLogTerm());
    if (grant && !rv.preVote()) {
      electionElapsed = 0;
      votedFor = rv.from();
    }
    // A granted pre-vote answers with the request's term; everything else with ours.
    long answerTerm = grant && rv.preVote() ? rv.term() : term;
    send(new RequestVoteResponse(id, rv.from(), answerTerm, grant, rv.preVote()));
  }

  private void handleVoteResponse(RequestVoteResponse rvr) {
    boolean expected = rvr.preVote() ? role == Role.PRE_CANDIDATE : role == Role.CANDIDATE;
    if (!expected) {
      return;
    }
    if (rvr.preVote() && rvr.term() != term + 1 && rvr.granted()) {
      return;
    }
    votes.putIfAbsent(rvr.from(), rvr.granted());
    tallyVotes(rvr.preVote());
  }

  private void acceptLeader(String from) {
    if (role != Role.FOLLOWER && role != Role.LEARNER) {
      becomeFollower(term, from);
    }
    leader = from;
    electionElapsed = 0;
  }

  private void handleAppendEntries(AppendEntries ae) {
    if (role == Role.LEADER) {
      throw new IllegalStateException(
          "election safety violation: two leaders in term " + term + ": " + id + ", " + ae.from());
    }
    acceptLeader(ae.from());
    long prev = ae.prevLogIndex();
    List<LogEntry> entries = ae.entries();
    long committed = log.committed();
    if (prev < committed) {
      // Entries up to our commit index are committed and so match the leader's (§5.4): skip
      // them, which also covers a prevLogIndex that we compacted away.
      int skip = (int) Math.min(entries.size(), committed - prev);
      entries = entries.subList(skip, entries.size());
      prev = committed;
      if (entries.isEmpty() && ae.lastIndex() < committed) {
        verified = Math.max(verified, ae.lastIndex());
        sendAck(ae.from(), true);
        return;
      }
    } else if (!log.matchTerm(prev, ae.prevLogTerm())) {
      // §5.3: reply false if the log doesn't contain an entry at prevLogIndex whose term matches
      // prevLogTerm.
      long hint = log.lastIndexAtOrBelowTerm(Math.min(prev, log.lastIndex()), ae.prevLogTerm());
      long hintTerm = Math.max(0, log.term(hint));
      send(new AppendEntriesResponse(id, ae.from(), term, false, 0, prev, hint, hintTerm));
      return;
    }
    // §5.3: if an existing entry conflicts with a new one (same index, different term), delete
    // the existing entry and all that follow it; append any new entries not already in the log.
    int firstNew = entries.size();
    for (int i = 0; i < entries.size(); i++) {
      LogEntry e = entries.get(i);
      if (Mutations.KEEP_CONFLICTING_ENTRIES || Mutations.TRUNCATE_MATCHING_ENTRIES) {
        // Mutants: append only past our last index / truncate even where entries match.
        if (Mutations.TRUNCATE_MATCHING_ENTRIES || e.index() > log.lastIndex()) {
          firstNew = i;
          break;
        }
      } else if (!log.matchTerm(e.index(), e.term())) {
        firstNew = i;
        break;
      }
    }
    if (firstNew < entries.size()) {
      List<LogEntry> fresh = entries.subList(firstNew, entries.size());
      log.append(fresh);
      onEntriesAppended(fresh);
    }
    long lastNew = prev + entries.size();
    verified = Math.max(verified, lastNew);
    // §5.3: if leaderCommit > commitIndex, set commitIndex = min(leaderCommit, last new entry).
    // Mutant COMMIT_BEYOND_MATCH bounds by our last index instead of the last verified entry.
    log.commitTo(
        Math.min(ae.leaderCommit(), Mutations.COMMIT_BEYOND_MATCH ? log.lastIndex() : lastNew));
    pruneConfigs();
    sendAck(ae.from(), true);
  }

  /**
   * Acknowledges to the leader what is both persisted and known to match its log. A follower
   * acknowledges only persisted entries, so the leader's commit decisions count durable copies.
   */
  private void sendAck(String to, boolean force) {
    // Mutant ACK_BEFORE_DURABLE acknowledges appended, not durable, entries.
    long ack = Mutations.ACK_BEFORE_DURABLE ? verified : Math.min(log.persisted(), verified);
    if (ack > acked || (force && ack >= verified)) {
      acked = Math.max(acked, ack);
      send(new AppendEntriesResponse(id, to, term, true, ack, 0, 0, 0));
    }
  }

  private void handleHeartbeat(Heartbeat hb) {
    if (role == Role.LEADER) {
      throw new IllegalStateException(
          "election safety violation: two leaders in term " + term + ": " + id + ", " + hb.from());
    }
    acceptLeader(hb.from());
    if (hb.commitIndex() > log.lastIndex()) {
      // The leader sends min(its commit, our match): it believes we hold entries that our log lost
      // (a lost disk write, found at restart). Say where our log ends, so that it repairs us now
      // rather than at its next append.
      send(
          new AppendEntriesResponse(
              id, hb.from(), term, false, 0, hb.commitIndex(), log.lastIndex(), 0));
    }
    // The leader sends min(its commit, our match), so this never passes our matching prefix.
    log.commitTo(Math.min(hb.commitIndex(), log.lastIndex()));
    pruneConfigs();
    send(new HeartbeatResponse(id, hb.from(), term, hb.round()));
  }

  private void handleInstallSnapshot(InstallSnapshot is) {
    acceptLeader(is.from());
    if (!is.done()) {
      // Chunks are streamed and stored by the driver; only the last one reaches the decision.
      return;
    }
    SnapshotMeta meta = new SnapshotMeta(is.snapshotIndex(), is.snapshotTerm(), is.configuration());
    if (meta.index() > log.committed() || Mutations.STALE_SNAPSHOT_INSTALLED) {
      // Mutant STALE_SNAPSHOT_INSTALLED resets the log to a snapshot it already covers.
      if (!Mutations.STALE_SNAPSHOT_INSTALLED && log.matchTerm(meta.index(), meta.term())) {
        // We already hold the snapshot's last entry: it and all before it are committed.
        log.commitTo(meta.index());
      } else {
        // §7: discard the entire log and reset from the snapshot.
        log.restore(meta);
        configs.clear();
        configs.add(new ConfigAt(meta.index(), meta.configuration()));
        configsVersion++;
        if (latestSnapshot == null || latestSnapshot.index() < meta.index()) {
          latestSnapshot = meta;
        }
        role = promotable() ? Role.FOLLOWER : Role.LEARNER;
      }
    }
    verified = Math.max(verified, meta.index());
    long ack = Math.min(log.persisted(), verified);
    acked = Math.max(acked, ack);
    send(new AppendEntriesResponse(id, is.from(), term, true, ack, 0, 0, 0));
  }

  private void handleTimeoutNow() {
    // thesis §3.10: the transfer target starts an election at once, skipping pre-vote.
    if (promotable() && !awaitingRepair() && role != Role.LEADER) {
      campaign(false, true);
    }
  }

  private void handleReadIndexRequest(ReadIndexRequest rir) {
    if (role != Role.LEADER) {
      send(new ReadIndexResponse(id, rir.from(), term, rir.requestId(), 0, false));
      return;
    }
    requestRead(rir.requestId(), rir.from(), false);
  }

  private void handleReadIndexResponse(ReadIndexResponse rir) {
    readStates.add(
        new ReadState(rir.requestId(), rir.success() ? rir.readIndex() : ReadState.FAILED));
  }

  // ---------------------------------------------------------------- leader: responses

  private void handleAppendEntriesResponse(AppendEntriesResponse aer) {
    Progress p = role == Role.LEADER ? progress.get(aer.from()) : null;
    if (p == null) {
      return;
    }
    p.heard(now);
    if (aer.success() && aer.matchIndex() > log.lastIndex()) {
      throw new IllegalStateException(
          id
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
    boolean advanced = p.maybeUpdate(aer.matchIndex(), now);
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
    Progress p = role == Role.LEADER ? progress.get(hbr.from()) : null;
    if (p == null) {
      return;
    }
    // Heard before the round is acknowledged, so lastHeardTick >= leaseTick for every member: the
    // lease never outlives CheckQuorum (see leaseValid).
    p.heard(now);
    p.resumeProbe();
    if (hbr.round() <= round && round - hbr.round() < ROUND_HISTORY) {
      p.ackRound(hbr.round(), roundSentTick[(int) (hbr.round() % ROUND_HISTORY)]);
    }
    releaseReads();
  }

  private void handleInstallSnapshotResponse(InstallSnapshotResponse isr) {
    Progress p = role == Role.LEADER ? progress.get(isr.from()) : null;
    if (p == null) {
      return;
    }
    p.heard(now);
    if (p.state() == Progress.State.SNAPSHOT) {
      p.snapshotProgress(now);
    }
    if (p.state() == Progress.State.SNAPSHOT && (isr.done() || isr.rejected())) {
      if (isr.done()) {
        p.maybeUpdate(Math.min(isr.snapshotIndex(), p.pendingSnapshot()), now);
      }
      p.becomeProbe();
    }
  }

  /**
   * Tells the core that the driver could not send a snapshot to a member (for example there was
   * none to send); replication to it starts over from probing.
   *
   * @param peer the member
   */
  public void snapshotFailed(String peer) {
    Progress p = role == Role.LEADER ? progress.get(peer) : null;
    if (p != null && p.state() == Progress.State.SNAPSHOT) {
      p.becomeProbe();
    }
  }

  // ---------------------------------------------------------------- leader: commit

  private boolean committedInTerm() {
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

  private void maybeCommit() {
    long index =
        Quorum.committedValue(
            configuration(),
            m -> {
              if (m.equals(id)) {
                return log.persisted();
              }
              Progress p = progress.get(m);
              return p == null ? 0 : p.match();
            });
    // §5.4.2: only entries of the current term are committed by counting replicas.
    // Mutant COMMIT_OLDER_TERM commits an older term's entry by counting replicas (Figure 8).
    if (index > log.committed() && (log.term(index) == term || Mutations.COMMIT_OLDER_TERM)) {
      boolean firstInTerm = !committedInTerm();
      log.commitTo(index);
      // Invariant (§6.4): a read index is served only once the leader has committed an entry of
      // its own term, so readsAwaitingCommit may be released here only because the §5.4.2 guard
      // above never commits an older term's entry by counting replicas: after commitTo,
      // committedInTerm() holds. Under the mutant it need not, and the reads must keep waiting.
      if (!committedInTerm() && !Mutations.COMMIT_OLDER_TERM) {
        throw new IllegalStateException(
            "committed index " + index + " of term " + log.term(index) + " in term " + term);
      }
      if (firstInTerm && committedInTerm()) {
        for (PendingRead r : readsAwaitingCommit) {
          requestRead(r.context(), r.from(), false);
        }
        readsAwaitingCommit.clear();
      }
      afterLeaderCommit();
    }
  }

  private void afterLeaderCommit() {
    pruneConfigs();
    Configuration c = configuration();
    if (configurationIndex() > log.committed()) {
      return;
    }
    if (c.isJoint()) {
      // §6: once C_old,new is committed, the leader proposes C_new.
      appendAsLeader(
          List.of(
              new LogEntry(
                  log.lastIndex() + 1, term, EntryType.CONFIGURATION, c.leaveJoint().encode())));
    } else if (!c.isVoter(id)) {
      // §6: a leader that is not part of C_new steps down once C_new is committed.
      becomeFollower(term, null);
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
    if (role != Role.LEADER) {
      return REJECTED_NOT_LEADER;
    }
    if (leadTransferee != null) {
      return REJECTED_TRANSFERRING;
    }
    if (log.lastIndex() - log.committed() + commands.size() > options.maxUncommittedEntries()) {
      return REJECTED_OVERLOADED;
    }
    long first = log.lastIndex() + 1;
    List<LogEntry> entries = new ArrayList<>(commands.size());
    long index = first;
    for (ByteBuffer c : commands) {
      entries.add(new LogEntry(index++, term, EntryType.COMMAND, c));
    }
    appendAsLeader(entries);
    return first;
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
    if (role != Role.LEADER) {
      return REJECTED_NOT_LEADER;
    }
    if (leadTransferee != null) {
      return REJECTED_TRANSFERRING;
    }
    Configuration current = configuration();
    if (target.isJoint() || target.isEmpty()) {
      // A group without voters could never elect a leader again.
      return REJECTED_INVALID;
    }
    // Mutant TWO_CHANGES_IN_FLIGHT lets a change start while another is uncommitted.
    if (!Mutations.TWO_CHANGES_IN_FLIGHT
        && (current.isJoint() || configurationIndex() > log.committed() || !committedInTerm())) {
      return REJECTED_CHANGE_IN_PROGRESS;
    }
    Configuration next;
    if (sameIds(current.voters(), target.voters())) {
      next = target;
    } else {
      List<Member> learners = new ArrayList<>();
      for (Member m : target.learners()) {
        learners.add(m);
      }
      next = new Configuration(target.voters(), current.voters(), learners, target.promotable());
    }
    long index = log.lastIndex() + 1;
    appendAsLeader(List.of(new LogEntry(index, term, EntryType.CONFIGURATION, next.encode())));
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

  private void appendAsLeader(List<LogEntry> entries) {
    log.append(entries);
    onEntriesAppended(entries);
  }

  /** A configuration takes effect as soon as it is in the log (§6, thesis §4.1). */
  private void onEntriesAppended(List<LogEntry> entries) {
    long first = entries.get(0).index();
    boolean changed = false;
    while (configs.size() > 1 && configs.get(configs.size() - 1).index() >= first) {
      configs.remove(configs.size() - 1);
      changed = true;
    }
    for (LogEntry e : entries) {
      if (e.type() == EntryType.CONFIGURATION) {
        configs.add(new ConfigAt(e.index(), Configuration.decode(e.payload())));
        changed = true;
      }
    }
    if (changed) {
      configsVersion++;
      configurationChanged();
    }
  }

  private void configurationChanged() {
    Configuration c = configuration();
    if (role == Role.LEADER) {
      progress.keySet().removeIf(peer -> !c.contains(peer));
      for (Member m : c.all()) {
        if (!m.id().equals(id) && !progress.containsKey(m.id())) {
          // CheckQuorum gives the new member one election timeout from now to answer.
          progress.put(
              m.id(),
              new Progress(m.id(), log.lastIndex() + 1, options.maxInflightMessages(), now));
        }
      }
      if (leadTransferee != null && !c.isVoter(leadTransferee)) {
        abortTransfer();
      }
    } else if (role == Role.FOLLOWER || role == Role.LEARNER) {
      role = c.isVoter(id) ? Role.FOLLOWER : Role.LEARNER;
    } else if (!c.isVoter(id)) {
      becomeFollower(term, null);
    }
  }

  /** Drops configurations older than the newest committed one. */
  private void pruneConfigs() {
    long committed = log.committed();
    boolean pruned = false;
    while (configs.size() > 1 && configs.get(1).index() <= committed) {
      configs.remove(0);
      configsVersion++;
      pruned = true;
    }
    if (pruned && Mutations.CONFIG_WHEN_COMMITTED) {
      configurationChanged(); // Mutant: the committed configuration takes effect only now.
    }
  }

  // ---------------------------------------------------------------- reads

  /**
   * Requests a read index for {@code context} (thesis §6.4). The answer arrives in a later {@link
   * Ready#readStates()}. A leader confirms its leadership with a heartbeat round that concurrent
   * requests share; with {@code allowLease} and check-quorum on, a leader whose lease holds answers
   * at once (thesis §6.4.1, which trusts bounded clock drift). A follower forwards the request to
   * the leader.
   *
   * @param context the caller's id for the request
   * @param allowLease whether a leader lease may replace the heartbeat round
   */
  public void readIndex(long context, boolean allowLease) {
    if (role == Role.LEADER) {
      requestRead(context, id, allowLease);
    } else if (leader != null) {
      send(new ReadIndexRequest(id, leader, term, context));
    } else {
      readStates.add(new ReadState(context, ReadState.FAILED));
    }
  }

  private void requestRead(long context, String from, boolean allowLease) {
    if (!committedInTerm()) {
      // thesis §6.4 step 1: the leader must first commit an entry of its term.
      readsAwaitingCommit.add(new PendingRead(0, 0, context, from));
      return;
    }
    long index = log.committed();
    // Mutant READ_INDEX_WITHOUT_ROUND answers without confirming leadership (thesis §6.4).
    if (isSingleVoter() || (allowLease && leaseValid()) || Mutations.READ_INDEX_WITHOUT_ROUND) {
      completeRead(new PendingRead(round, index, context, from));
      return;
    }
    if (roundSent) {
      round++;
      roundSent = false;
    }
    pendingReads.addLast(new PendingRead(round, index, context, from));
  }

  private boolean isSingleVoter() {
    Configuration c = configuration();
    return !c.isJoint() && c.voters().size() == 1 && c.isVoter(id);
  }

  private boolean leaseValid() {
    // A transfer target elected through TimeoutNow ignores leases, so no lease holds while a
    // transfer is under way or within an election timeout of one.
    // A TimeoutNow stays valid at its target for the rest of the term, so none may have been
    // sent in this term.
    if (!options.checkQuorum() || leadTransferee != null || timeoutNowSentInTerm) {
      return false;
    }
    // A follower's vote refusal lasts at least T - 1 of its ticks after the heartbeat: one tick
    // of margin beyond the configured drift covers tick quantisation.
    // thesis §6.4.1 / §6.2: the lease is measured only from the send ticks of heartbeat rounds a
    // quorum acknowledged (Progress.leaseTick), never from the CheckQuorum schedule. A member's
    // leaseTick <= its lastHeardTick (the acknowledgement was heard no earlier than the round was
    // sent), so a valid lease implies quorumHeardTick() >= leaseStart > now - T: CheckQuorum never
    // steps down a leader whose lease holds (checkInvariants asserts it), and a member that is no
    // longer leader serves no lease read, so stepping down sooner can only end leases sooner.
    if (Mutations.LEASE_WITHOUT_QUORUM) {
      return true; // Mutant: no quorum-acknowledged round needed (thesis §6.4.1).
    }
    long oldestValid = now - (options.electionTimeoutTicks() - options.leaseDriftTicks()) + 2;
    long leaseStart =
        Quorum.committedValue(
            configuration(),
            m -> {
              if (m.equals(id)) {
                return now;
              }
              Progress p = progress.get(m);
              return p == null ? Long.MIN_VALUE : p.leaseTick();
            });
    return leaseStart >= oldestValid;
  }

  private void releaseReads() {
    if (pendingReads.isEmpty()) {
      return;
    }
    long confirmed =
        Quorum.committedValue(
            configuration(),
            m -> {
              if (m.equals(id)) {
                return round;
              }
              Progress p = progress.get(m);
              return p == null ? 0 : p.ackedRound();
            });
    while (!pendingReads.isEmpty() && pendingReads.peekFirst().round() <= confirmed) {
      completeRead(pendingReads.pollFirst());
    }
  }

  private void completeRead(PendingRead r) {
    if (r.from().equals(id)) {
      readStates.add(new ReadState(r.context(), r.index()));
    } else {
      send(new ReadIndexResponse(id, r.from(), term, r.context(), r.index(), true));
    }
  }

  private void failPendingReads() {
    List<PendingRead> failed = new ArrayList<>(pendingReads);
    failed.addAll(readsAwaitingCommit);
    pendingReads.clear();
    readsAwaitingCommit.clear();
    for (PendingRead r : failed) {
      if (r.from().equals(id)) {
        readStates.add(new ReadState(r.context(), ReadState.FAILED));
      } else {
        send(new ReadIndexResponse(id, r.from(), term, r.context(), 0, false));
      }
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
    if (role != Role.LEADER || !configuration().isVoter(target)) {
      return false;
    }
    if (target.equals(id)) {
      abortTransfer();
      return true;
    }
    leadTransferee = target;
    transferElapsed = 0;
    Progress p = progress.get(target);
    if (p != null && p.match() == log.lastIndex()) {
      sendTimeoutNow(target);
    }
    return true;
  }

  private void sendTimeoutNow(String target) {
    timeoutNowSentInTerm = true;
    send(new TimeoutNow(id, target, term));
  }

  private void abortTransfer() {
    leadTransferee = null;
    transferElapsed = 0;
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
      maybeCommit();
    } else if (leader != null) {
      sendAck(leader, false);
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

  private void send(RaftMessage m) {
    messages.add(m);
  }

  private void broadcastHeartbeat() {
    if (roundSent) {
      round++;
    }
    roundSent = true;
    roundSentTick[(int) (round % ROUND_HISTORY)] = now;
    for (Progress p : progress.values()) {
      send(new Heartbeat(id, p.id(), term, Math.min(log.committed(), p.match()), round));
    }
    releaseReads();
  }

  /** Sends AppendEntries (or a snapshot notice) to every member that can take more. */
  private void flushAppends() {
    for (Progress p : progress.values()) {
      while (mayAppend(p)) {
        if (!sendAppend(p)) {
          break;
        }
      }
    }
  }

  /** Returns true if more may be sent to this member in this turn. */
  private boolean sendAppend(Progress p) {
    long prev = p.next() - 1;
    long prevTerm = log.term(prev);
    if (prevTerm < 0 || p.next() <= log.baseIndex()) {
      // §7: the entries this member needs are compacted: send it the snapshot instead.
      SnapshotMeta s = latestSnapshot;
      if (s == null) {
        throw new IllegalStateException(
            "member " + p.id() + " needs index " + p.next() + " but no snapshot exists");
      }
      p.becomeSnapshot(s.index(), now);
      snapshotsToSend.add(
          new InstallSnapshot(
              id, p.id(), term, s.index(), s.term(), s.configuration(), 0, 0, 0, null, false));
      return false;
    }
    List<LogEntry> entries =
        p.next() <= log.lastIndex()
            ? log.entries(p.next(), log.lastIndex() + 1, options.maxMessageBytes())
            : List.of();
    send(new AppendEntries(id, p.id(), term, prev, prevTerm, log.committed(), entries));
    p.sent(prev + entries.size(), !entries.isEmpty(), now);
    return p.state() == Progress.State.REPLICATE && !entries.isEmpty();
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
        || leaderHasSends();
  }

  /**
   * Whether a leader has a heartbeat round to start or entries (or a probe, or a snapshot notice)
   * to send: the work {@link #ready()} does first, by {@link #broadcastHeartbeat()} and {@link
   * #flushAppends()}, with the same conditions ({@code roundSent} and {@link #mayAppend}), so that
   * {@code hasReady()} predicts {@code ready()}.
   */
  private boolean leaderHasSends() {
    if (role != Role.LEADER) {
      return false;
    }
    if (!roundSent) {
      return true;
    }
    for (Progress p : progress.values()) {
      if (mayAppend(p)) {
        return true;
      }
    }
    return false;
  }

  /** Whether this follower's progress lets the leader send it entries or a probe now. */
  private boolean mayAppend(Progress p) {
    return p.canSend() && (p.next() <= log.lastIndex() || p.state() == Progress.State.PROBE);
  }

  /**
   * Hands out the work collected since the last call; see {@link Ready} for what the driver must do
   * with it. The entries and snapshot are considered handed to the store on return.
   *
   * @return the batch
   */
  public Ready ready() {
    if (role == Role.LEADER) {
      // Does what leaderHasSends() predicts; flushAppends sends nothing when it predicts nothing.
      if (!roundSent) {
        broadcastHeartbeat();
      }
      flushAppends();
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
    if (role == Role.CANDIDATE && !votedFor.equals(id)) {
      throw new IllegalStateException(id + ": candidate that did not vote for itself");
    }
    for (Progress p : progress.values()) {
      if (p.match() >= p.next()) {
        throw new IllegalStateException(id + ": progress " + p);
      }
    }
    // thesis §6.2 / §6.4.1: a lease never outlives CheckQuorum's window (see leaseValid).
    if (role == Role.LEADER
        && leaseValid()
        && quorumHeardTick() <= now - options.electionTimeoutTicks()) {
      throw new IllegalStateException(
          id + ": lease holds without a quorum heard within an election timeout");
    }
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
