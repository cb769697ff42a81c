package org.flotilla.raft.internal.core;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.random.RandomGenerator;
import org.flotilla.raft.cluster.Configuration;
import org.flotilla.raft.cluster.Member;
import org.flotilla.raft.cluster.Role;
import org.flotilla.raft.message.AppendEntries;
import org.flotilla.raft.message.Heartbeat;
import org.flotilla.raft.message.InstallSnapshot;
import org.flotilla.raft.message.RaftMessage;
import org.flotilla.raft.message.ReadIndexRequest;
import org.flotilla.raft.message.RequestVote;
import org.flotilla.raft.message.RequestVoteResponse;
import org.flotilla.raft.message.TimeoutNow;

/**
 * Elections: the election timer of followers and candidates, pre-vote (thesis §9.6), campaigns and
 * vote counting (§5.2, joint majorities of §6), the vote every member gives or refuses (§5.2,
 * §5.4.1, with the durable-mark rule of a member awaiting repair), and the candidates' step
 * function.
 *
 * <p>Owned by a {@link RaftCore} and confined to its driver's thread. Its state (the votes of the
 * campaign under way) is cleared on every role or term change.
 */
final class Election {

  private final RaftCore core;
  private final RaftLog log;
  private final RandomGenerator random;
  private final Map<String, Boolean> votes = new HashMap<>();
  private int randomizedTimeout;

  Election(RaftCore core, RandomGenerator random) {
    this.core = core;
    this.log = core.log;
    this.random = random;
  }

  /** Forgets the votes of the campaign under way and restarts the election timer. */
  void reset() {
    votes.clear();
    core.electionElapsed = 0;
    randomizedTimeout = drawTimeout();
  }

  private int drawTimeout() {
    int t = core.options.electionTimeoutTicks();
    int timeout = t + random.nextInt(t);
    // Priority election: a member below the highest voter priority waits one timeout longer, so
    // the preferred member usually wins when it is up (and the others still do when it is not).
    Configuration c = core.configuration();
    int mine = c.member(core.id).map(Member::priority).orElse(Member.DEFAULT_PRIORITY);
    int max = mine;
    for (Member m : c.voters()) {
      max = Math.max(max, m.priority());
    }
    return mine < max ? timeout + t : timeout;
  }

  /** Ticks from now until the election timer fires (at least 1), had it no reset meanwhile. */
  int ticksUntilTimeout() {
    return Math.max(1, randomizedTimeout - core.electionElapsed);
  }

  /** A follower's or candidate's tick: campaign when the election timer fires. */
  void tick() {
    core.electionElapsed++;
    // The timer first: mayCampaign scans the configuration, and most ticks do not fire the timer.
    if (core.electionElapsed >= randomizedTimeout && core.mayCampaign()) {
      core.electionElapsed = 0;
      campaign(core.options.preVote(), false);
    }
  }

  /**
   * The candidates' (and pre-candidates') step function, for a message of the current term: vote
   * answers are counted, and a leader's message makes the candidate its follower (votes and read
   * answers are handled by the core for every role).
   */
  void step(RaftMessage m) {
    if (m instanceof RequestVoteResponse rvr) {
      handleVoteResponse(rvr);
    } else if (m instanceof AppendEntries
        || m instanceof Heartbeat
        || m instanceof InstallSnapshot) {
      core.following.step(m);
    } else if (m instanceof TimeoutNow) {
      timeoutNow();
    } else if (m instanceof ReadIndexRequest rir) {
      core.reads.refuse(rir);
    }
    // Responses to a leader's messages mean nothing here.
  }

  /**
   * Whether a RequestVote of a higher term is ignored without adopting its term: while this member
   * believes a leader alive (thesis §9.6 / §4.2.3), unless the election comes from a leadership
   * transfer. A member that just (re)started may have promised a lease before its crash: it keeps
   * that promise for one election timeout of its own.
   */
  boolean disregards(RequestVote rv) {
    CoreOptions options = core.options;
    boolean inLease =
        options.checkQuorum()
            && ((core.leader != null && core.electionElapsed < options.electionTimeoutTicks())
                || (core.restarted && core.now < options.electionTimeoutTicks()));
    return inLease && !rv.transfer();
  }

  /** Starts an election (or a pre-vote) in which this member is the candidate. */
  void campaign(boolean preVote, boolean transfer) {
    long voteTerm;
    if (preVote) {
      core.becomePreCandidate();
      voteTerm = core.term + 1;
    } else {
      core.becomeCandidate();
      voteTerm = core.term;
    }
    votes.put(core.id, true);
    if (tallyVotes(preVote)) {
      return;
    }
    for (Member m : votersOf(core.configuration())) {
      if (!m.id().equals(core.id)) {
        core.send(
            new RequestVote(
                core.id, m.id(), voteTerm, log.lastIndex(), log.lastTerm(), preVote, transfer));
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
    Quorum.VoteResult result = Quorum.voteResult(core.configuration(), votes);
    if (result == Quorum.VoteResult.WON) {
      if (preVote) {
        campaign(false, false);
      } else {
        core.becomeLeader();
      }
      return true;
    }
    if (result == Quorum.VoteResult.LOST) {
      core.becomeFollower(core.term, null);
      return true;
    }
    return false;
  }

  /** Answers a RequestVote of the current term (after the term rules of §5.1), in any role. */
  void handleRequestVote(RequestVote rv) {
    // §5.2: at most one vote per term, first come first served; §5.4.1: only for a candidate
    // whose log is at least as up to date.
    String votedFor = core.votedFor;
    boolean canVote =
        votedFor.equals(rv.from())
            || (votedFor.isEmpty() && core.leader == null)
            || (rv.preVote() && rv.term() > core.term);
    // A member whose log lost entries it may have acknowledged votes as if it still held them: only
    // for a candidate whose log covers its durable mark (Protocol-Aware Recovery).
    boolean grant =
        canVote
            // Mutant VOTE_WITHOUT_LOG_CHECK skips §5.4.1.
            && (Mutations.VOTE_WITHOUT_LOG_CHECK
                || log.isUpToDate(rv.lastLogIndex(), rv.lastLogTerm()))
            && core.durableMark.coveredBy(rv.lastLogIndex(), rv.lastLogTerm());
    if (grant && !rv.preVote()) {
      core.electionElapsed = 0;
      core.votedFor = rv.from();
    }
    // A granted pre-vote answers with the request's term; everything else with ours.
    long answerTerm = grant && rv.preVote() ? rv.term() : core.term;
    core.send(new RequestVoteResponse(core.id, rv.from(), answerTerm, grant, rv.preVote()));
  }

  private void handleVoteResponse(RequestVoteResponse rvr) {
    boolean expected =
        rvr.preVote() ? core.role == Role.PRE_CANDIDATE : core.role == Role.CANDIDATE;
    if (!expected) {
      return;
    }
    if (rvr.preVote() && rvr.term() != core.term + 1 && rvr.granted()) {
      return;
    }
    votes.putIfAbsent(rvr.from(), rvr.granted());
    tallyVotes(rvr.preVote());
  }

  /** thesis §3.10: the transfer target starts an election at once, skipping pre-vote. */
  void timeoutNow() {
    if (core.promotable() && !core.awaitingRepair() && core.role != Role.LEADER) {
      campaign(false, true);
    }
  }
}
