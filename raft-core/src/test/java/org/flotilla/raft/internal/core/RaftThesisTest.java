package org.flotilla.raft.internal.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.flotilla.raft.internal.core.CoreNetwork.bytes;

import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.flotilla.raft.cluster.Configuration;
import org.flotilla.raft.cluster.Member;
import org.flotilla.raft.cluster.Role;
import org.flotilla.raft.message.AppendEntries;
import org.flotilla.raft.message.Heartbeat;
import org.flotilla.raft.message.HeartbeatResponse;
import org.flotilla.raft.message.RaftMessage;
import org.flotilla.raft.message.ReadIndexRequest;
import org.flotilla.raft.message.ReadIndexResponse;
import org.flotilla.raft.message.RequestVote;
import org.flotilla.raft.message.RequestVoteResponse;
import org.flotilla.raft.message.TimeoutNow;
import org.flotilla.raft.spi.HardState;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;

/**
 * The extensions of Ongaro's thesis that the core implements: pre-vote, check-quorum, read index
 * and leases, leadership transfer, and priority election.
 */
class RaftThesisTest {

  private static final int T = CoreOptions.DEFAULTS.electionTimeoutTicks();

  /** Delivers messages round by round until {@code id} becomes leader, no further. */
  static void untilLeader(CoreNetwork net, String id) {
    for (int i = 0; i < 4 * T && net.core(id).role() == Role.FOLLOWER; i++) {
      net.core(id).tick();
      net.ready(id);
    }
    for (int round = 0; round < 20 && net.core(id).role() != Role.LEADER; round++) {
      for (String n : List.of("n1", "n2", "n3")) {
        if (net.core(n).hasReady()) {
          net.ready(n);
        }
      }
      net.deliverAll();
    }
    assertThat(net.core(id).role()).isEqualTo(Role.LEADER);
  }

  @Nested
  @DisplayName("thesis §9.6 PreVote")
  class PreVote {

    /**
     * "In the PreVote algorithm, a candidate only increments its term if it first learns from a
     * majority of the cluster that they would be willing to grant the candidate their votes."
     */
    @Test
    void isolatedPreCandidateNeverIncrementsItsTerm() {
      CoreNetwork net = CoreNetwork.voters(3, CoreOptions.DEFAULTS);
      net.isolate("n1");
      net.tick("n1", 10 * T);
      assertThat(net.core("n1").role()).isEqualTo(Role.PRE_CANDIDATE);
      assertThat(net.core("n1").term()).isZero();
      assertThat(net.node("n1").hardState).isEqualTo(HardState.INITIAL);
      List<RequestVote> asks = net.take(RequestVote.class);
      assertThat(asks).isNotEmpty().allMatch(v -> v.preVote() && v.term() == 1);
    }

    /** A pre-vote grant does not change the voter's term or vote: nothing to persist. */
    @Test
    void grantingAPreVoteChangesNeitherTermNorVote() {
      CoreNetwork net = CoreNetwork.voters(3, CoreOptions.DEFAULTS);
      net.core("n2").step(new RequestVote("n1", "n2", 1, 0, 0, true, false));
      Ready r = net.ready("n2");
      assertThat(r.hardState()).isNull();
      assertThat(net.core("n2").term()).isZero();
      assertThat(net.core("n2").votedFor()).isEmpty();
      assertThat(RaftPaperTest.of(r, RequestVoteResponse.class))
          .singleElement()
          .satisfies(v -> assertThat(v.granted() && v.preVote() && v.term() == 1).isTrue());
    }

    /** A pre-vote is also refused to a candidate whose log is behind (§5.4.1 applies to it). */
    @Test
    void preVoteIsRefusedToAStaleLog() {
      CoreNetwork net = CoreNetwork.voters(3, CoreOptions.DEFAULTS);
      net.load("n2", 1, 1, 1);
      // A restarted member ignores votes for one election timeout (it may have backed a lease).
      net.tick("n2", T);
      net.core("n2").step(new RequestVote("n1", "n2", 2, 1, 1, true, false));
      assertThat(RaftPaperTest.of(net.ready("n2"), RequestVoteResponse.class))
          .singleElement()
          .satisfies(v -> assertThat(v.granted()).isFalse());
    }

    /** A won pre-vote leads to one real election in the next term. */
    @Test
    void wonPreVoteLeadsToARealElectionInTheNextTerm() {
      CoreNetwork net = CoreNetwork.voters(3, CoreOptions.DEFAULTS);
      net.elect("n1");
      assertThat(net.core("n1").term()).isEqualTo(1);
      assertThat(net.core("n2").votedFor()).isEqualTo("n1");
    }

    /**
     * "The PreVote algorithm solves the issue of a partitioned server disrupting the cluster when
     * it rejoins": with check-quorum the healthy leader keeps its place and its term.
     */
    @Test
    void rejoiningMemberDoesNotDisruptAHealthyLeader() {
      CoreNetwork net = CoreNetwork.voters(3, CoreOptions.DEFAULTS);
      net.elect("n1");
      net.isolate("n3");
      net.tickAll(10 * T);
      assertThat(net.core("n3").term()).isEqualTo(1);
      net.heal();
      net.tickAll(3 * T);
      assertThat(net.leaders()).containsExactly("n1");
      assertThat(net.core("n1").term()).isEqualTo(1);
      assertThat(net.core("n3").leader()).isEqualTo("n1");
    }
  }

  @Nested
  @DisplayName("thesis §6.2 CheckQuorum")
  class CheckQuorum {

    /** Ticks only {@code id} until it stops leading; returns how many ticks that took, or -1. */
    private int ticksUntilStepDown(CoreNetwork net, String id, int max) {
      for (int i = 1; i <= max; i++) {
        net.tick(id, 1);
        if (net.core(id).role() != Role.LEADER) {
          return i;
        }
      }
      return -1;
    }

    /**
     * "A leader in Raft steps down if an election timeout elapses without a successful round of
     * heartbeats to a majority of its cluster."
     */
    @Test
    void leaderWithoutQuorumContactStepsDown() {
      CoreNetwork net = CoreNetwork.voters(3, CoreOptions.DEFAULTS);
      net.elect("n1");
      net.isolate("n1");
      net.tickAll(T - 1);
      assertThat(net.core("n1").role()).isEqualTo(Role.LEADER);
      net.tickAll(1);
      assertThat(net.core("n1").role()).isNotEqualTo(Role.LEADER);
      assertThat(net.core("n1").leader()).isNull();
    }

    /**
     * "... steps down if an election timeout elapses without a successful round of heartbeats to a
     * majority": the election timeout is counted from the last answer, not from fixed check
     * boundaries. Wherever in the leader's term the isolation starts, it steps down exactly T ticks
     * after the tick at which it last heard from its followers (a check at period boundaries took
     * between T + 1 and 2T).
     */
    @Test
    void isolatedLeaderStepsDownOneElectionTimeoutAfterItsLastAnswerAtAnyOffset() {
      Map<Integer, Integer> ticksToStepDown = new TreeMap<>();
      Map<Integer, Integer> expected = new TreeMap<>();
      for (int offset = 0; offset <= 2 * T; offset++) {
        CoreNetwork net = CoreNetwork.voters(3, CoreOptions.DEFAULTS);
        net.elect("n1");
        // A heartbeat every tick: the followers' last answers arrive at the offset's tick.
        net.tickAll(offset);
        net.isolate("n1");
        ticksToStepDown.put(offset, ticksUntilStepDown(net, "n1", 3 * T));
        expected.put(offset, T);
      }
      assertThat(ticksToStepDown)
          .as("offset after election -> ticks to step down")
          .isEqualTo(expected);
    }

    /**
     * The window slides with every answer: a leader that hears from a quorum less than an election
     * timeout apart keeps leading indefinitely, and steps down a full election timeout after the
     * last answer.
     */
    @Test
    void answersLessThanAnElectionTimeoutApartKeepTheLeader() {
      CoreNetwork net = CoreNetwork.voters(3, CoreOptions.DEFAULTS);
      net.elect("n1");
      net.isolate("n1");
      for (int i = 0; i < 5; i++) {
        net.tick("n1", T - 1);
        assertThat(net.core("n1").role()).isEqualTo(Role.LEADER);
        // One heartbeat gets through to n2 and its answer back.
        Heartbeat hb =
            net.take(Heartbeat.class).stream()
                .filter(h -> h.to().equals("n2"))
                .reduce((a, b) -> b)
                .orElseThrow();
        net.dropAll();
        net.core("n2").step(hb);
        net.ready("n2");
        net.take(HeartbeatResponse.class).forEach(r -> net.core("n1").step(r));
        net.ready("n1");
      }
      assertThat(ticksUntilStepDown(net, "n1", 3 * T)).isEqualTo(T);
    }

    /**
     * Learners do not count toward a quorum (thesis §4.2.1): a leader that still hears from a
     * learner but from no other voter steps down on time.
     */
    @Test
    void answersFromALearnerDoNotKeepTheLeader() {
      Configuration c = Configuration.of(CoreNetwork.config(3).voters(), List.of(Member.of("l1")));
      CoreNetwork net = new CoreNetwork(CoreOptions.DEFAULTS, c);
      net.elect("n1");
      net.cut("n1", "n2");
      net.cut("n1", "n3");
      for (int i = 0; i < T - 1; i++) {
        net.tick("n1", 1);
        net.stabilize();
      }
      assertThat(net.core("n1").role()).isEqualTo(Role.LEADER);
      assertThat(net.core("n1").progress().get("l1").recentActive()).isTrue();
      net.tick("n1", 1);
      assertThat(net.core("n1").role()).isNotEqualTo(Role.LEADER);
    }

    /**
     * In a joint configuration "agreement ... requires separate majorities from both the old and
     * new configurations" (§6), and so does staying leader: hearing only from the old half, the
     * leader steps down an election timeout after the new members joined (each member is given one
     * election timeout from when the leader starts tracking it).
     */
    @Test
    void inAJointConfigurationBothHalvesMustAnswer() {
      CoreNetwork net = new CoreNetwork(CoreOptions.DEFAULTS, CoreNetwork.config(3), "n4", "n5");
      net.elect("n1");
      net.cut("n1", "n4");
      net.cut("n1", "n5");
      assertThat(net.core("n1").proposeConfiguration(RaftMembershipTest.voters("n1", "n4", "n5")))
          .isPositive();
      net.stabilize();
      assertThat(net.core("n1").configuration().isJoint()).isTrue();
      for (int i = 0; i < T - 1; i++) {
        net.tick("n1", 1);
        net.stabilize();
      }
      assertThat(net.core("n1").role()).isEqualTo(Role.LEADER);
      assertThat(net.core("n1").progress().get("n2").recentActive()).isTrue();
      net.tick("n1", 1);
      assertThat(net.core("n1").role()).isNotEqualTo(Role.LEADER);
    }

    /**
     * Thesis §6.4.1 with §6.2: a lease is bounded by the heartbeat rounds a quorum acknowledged,
     * not by the check, and it runs out before the isolated leader steps down, never after; a
     * member that no longer leads serves no lease read.
     */
    @Test
    void leaseRunsOutBeforeTheIsolatedLeaderStepsDown() {
      CoreNetwork net = CoreNetwork.voters(3, CoreOptions.DEFAULTS);
      net.elect("n1");
      net.tickAll(2);
      net.isolate("n1");
      int lastLeaseRead = -1;
      int stepDown = -1;
      for (int i = 1; i <= 2 * T; i++) {
        net.tick("n1", 1);
        if (net.core("n1").role() != Role.LEADER) {
          stepDown = i;
          break;
        }
        net.core("n1").readIndex(i, true);
        if (net.ready("n1").readStates().contains(new ReadState(i, 1))) {
          lastLeaseRead = i;
        }
      }
      assertThat(stepDown).isEqualTo(T);
      assertThat(lastLeaseRead).isEqualTo(T - CoreOptions.DEFAULTS.leaseDriftTicks() - 2);
      net.core("n1").readIndex(99, true);
      assertThat(net.ready("n1").readStates()).containsExactly(new ReadState(99, ReadState.FAILED));
    }

    /** Without check-quorum the isolated leader keeps believing it leads. */
    @Test
    void withoutCheckQuorumTheIsolatedLeaderStays() {
      CoreNetwork net = CoreNetwork.voters(3, CoreNetwork.plain());
      net.elect("n1");
      net.isolate("n1");
      net.tick("n1", 5 * T);
      assertThat(net.core("n1").role()).isEqualTo(Role.LEADER);
    }

    /**
     * Thesis §4.2.3: "if a server receives a RequestVote request within the minimum election
     * timeout of hearing from a current leader, it does not update its term or grant its vote."
     */
    @Test
    void followerInContactWithALeaderIgnoresVoteRequests() {
      CoreNetwork net = CoreNetwork.voters(3, CoreOptions.DEFAULTS);
      net.elect("n1");
      net.core("n2").step(new RequestVote("n3", "n2", 5, 100, 5, false, false));
      net.core("n1").step(new RequestVote("n3", "n1", 5, 100, 5, false, false));
      assertThat(net.ready("n2").messages()).isEmpty();
      assertThat(net.core("n2").term()).isEqualTo(1);
      assertThat(net.core("n1").term()).isEqualTo(1);
      assertThat(net.core("n1").role()).isEqualTo(Role.LEADER);
    }

    /**
     * The partial partition of the 2020 etcd outage: a member that reaches a follower but not the
     * leader must not cause endless elections. Its pre-votes are ignored by the follower that hears
     * from the leader, so no term moves and the cluster keeps committing.
     */
    @Test
    void memberCutOffOnlyFromTheLeaderCausesNoElections() {
      CoreNetwork net = CoreNetwork.voters(3, CoreOptions.DEFAULTS);
      net.elect("n1");
      net.cut("n1", "n3");
      net.tickAll(20 * T);
      long index = net.core("n1").propose(List.of(bytes("a")));
      net.stabilize();
      assertThat(net.leaders()).containsExactly("n1");
      assertThat(net.core("n1").term()).isEqualTo(1);
      assertThat(net.core("n2").term()).isEqualTo(1);
      assertThat(net.core("n3").term()).isEqualTo(1);
      assertThat(net.core("n1").commitIndex()).isEqualTo(index);
    }

    /** The same partial partition in five members: one cut link causes no election. */
    @Test
    void oneCutLinkInFiveMembersCausesNoElections() {
      CoreNetwork net = CoreNetwork.voters(5, CoreOptions.DEFAULTS);
      net.elect("n1");
      net.cut("n1", "n5");
      net.tickAll(20 * T);
      assertThat(net.leaders()).containsExactly("n1");
      for (String id : List.of("n1", "n2", "n3", "n4", "n5")) {
        assertThat(net.core(id).term()).isEqualTo(1);
      }
      assertThat(net.core("n5").role()).isEqualTo(Role.PRE_CANDIDATE);
    }

    /** A leader that stays in touch with a majority keeps leading through a minority's loss. */
    @Test
    void leaderWithAMajorityStays() {
      CoreNetwork net = CoreNetwork.voters(5, CoreOptions.DEFAULTS);
      net.elect("n1");
      net.isolate("n4");
      net.isolate("n5");
      net.tickAll(10 * T);
      assertThat(net.leaders()).containsExactly("n1");
      assertThat(net.core("n1").term()).isEqualTo(1);
    }
  }

  @Nested
  @DisplayName("thesis §6.4 ReadIndex and leases")
  class ReadIndex {

    /**
     * "If the leader has not yet marked an entry from its current term committed, it waits until it
     * has done so."
     */
    @Test
    void readWaitsForTheFirstCommitOfTheTerm() {
      CoreNetwork net = CoreNetwork.voters(3, CoreOptions.DEFAULTS);
      untilLeader(net, "n1");
      RaftCore n1 = net.core("n1");
      assertThat(n1.commitIndex()).isZero();
      n1.readIndex(7, false);
      assertThat(net.ready("n1").readStates()).isEmpty();
      net.stabilize();
      assertThat(net.node("n1").reads).containsExactly(new ReadState(7, 1));
    }

    /**
     * "The leader needs to make sure it hasn't been superseded by a newer leader ... it issues a
     * new round of heartbeats and waits for their acknowledgments from a majority of the cluster."
     */
    @Test
    void readWaitsForAQuorumHeartbeatRound() {
      CoreNetwork net = CoreNetwork.voters(3, CoreOptions.DEFAULTS);
      net.elect("n1");
      RaftCore n1 = net.core("n1");
      n1.readIndex(1, false);
      Ready r = net.ready("n1");
      assertThat(r.readStates()).isEmpty();
      List<Heartbeat> beats = net.take(Heartbeat.class);
      assertThat(beats).extracting(Heartbeat::to).containsExactlyInAnyOrder("n2", "n3");
      net.deliver(beats.get(0));
      net.ready(beats.get(0).to());
      assertThat(net.node("n1").reads).isEmpty();
      net.take(HeartbeatResponse.class).forEach(net::deliver);
      assertThat(net.ready("n1").readStates()).containsExactly(new ReadState(1, 1));
    }

    /** A stale heartbeat answer (of an earlier round) does not confirm a later read. */
    @Test
    void answerToAnEarlierRoundDoesNotConfirmTheRead() {
      CoreNetwork net = CoreNetwork.voters(3, CoreOptions.DEFAULTS);
      net.elect("n1");
      net.core("n1").tick();
      net.ready("n1");
      List<Heartbeat> old = net.take(Heartbeat.class);
      net.core("n1").readIndex(1, false);
      net.ready("n1");
      old.forEach(net::deliver);
      net.ready("n2");
      net.ready("n3");
      net.take(HeartbeatResponse.class).forEach(net::deliver);
      assertThat(net.ready("n1").readStates()).isEmpty();
      net.stabilize();
      assertThat(net.node("n1").reads).containsExactly(new ReadState(1, 1));
    }

    /** Concurrent read requests are batched into one heartbeat round. */
    @Test
    void concurrentReadsShareOneHeartbeatRound() {
      CoreNetwork net = CoreNetwork.voters(3, CoreOptions.DEFAULTS);
      net.elect("n1");
      RaftCore n1 = net.core("n1");
      n1.readIndex(1, false);
      n1.readIndex(2, false);
      n1.readIndex(3, false);
      Ready r = net.ready("n1");
      assertThat(RaftPaperTest.of(r, Heartbeat.class)).hasSize(2);
      net.stabilize();
      assertThat(net.node("n1").reads)
          .containsExactly(new ReadState(1, 1), new ReadState(2, 1), new ReadState(3, 1));
    }

    /** A read whose round was lost is not stranded: the next periodic heartbeat confirms it. */
    @Test
    void readWhoseRoundWasLostIsConfirmedByTheNextHeartbeat() {
      CoreNetwork net = CoreNetwork.voters(3, CoreOptions.DEFAULTS);
      net.elect("n1");
      net.core("n1").readIndex(1, false);
      net.ready("n1");
      assertThat(net.take(Heartbeat.class)).hasSize(2);
      net.stabilize();
      assertThat(net.node("n1").reads).isEmpty();
      net.tick("n1", CoreOptions.DEFAULTS.heartbeatTicks());
      net.stabilize();
      assertThat(net.node("n1").reads).containsExactly(new ReadState(1, 1));
    }

    /**
     * Thesis §6.4.1: "the leader would use the normal heartbeat mechanism to maintain a lease ...
     * it would then reply to read-only queries without any additional communication", for an
     * election timeout less the drift margin after the acknowledged round.
     */
    @Test
    void leaseReadIsAnsweredAtOnceUntilTheLeaseRunsOut() {
      CoreNetwork net = CoreNetwork.voters(3, CoreOptions.DEFAULTS);
      net.elect("n1");
      net.tickAll(2);
      net.isolate("n1");
      // One tick of margin beyond the drift covers the followers' tick quantisation.
      int lease = T - CoreOptions.DEFAULTS.leaseDriftTicks() - 1;
      net.tick("n1", lease - 1);
      net.core("n1").readIndex(1, true);
      Ready r = net.ready("n1");
      assertThat(r.readStates()).containsExactly(new ReadState(1, 1));
      assertThat(RaftPaperTest.of(r, Heartbeat.class)).isEmpty();
      net.tick("n1", 1);
      net.core("n1").readIndex(2, true);
      assertThat(net.ready("n1").readStates()).isEmpty();
    }

    /** Leases rely on check-quorum: without it every read needs its heartbeat round. */
    @Test
    void noLeaseWithoutCheckQuorum() {
      CoreNetwork net =
          CoreNetwork.voters(3, CoreOptions.DEFAULTS.withPreVoteAndCheckQuorum(true, false));
      net.elect("n1");
      net.tickAll(2);
      net.core("n1").readIndex(1, true);
      Ready r = net.ready("n1");
      assertThat(r.readStates()).isEmpty();
      assertThat(RaftPaperTest.of(r, Heartbeat.class)).hasSize(2);
    }

    /**
     * A transfer target elected by TimeoutNow ignores leases (thesis §3.10), so the old leader must
     * not serve lease reads once a transfer started.
     */
    @Test
    void noLeaseDuringALeadershipTransfer() {
      CoreNetwork net = CoreNetwork.voters(3, CoreOptions.DEFAULTS);
      net.elect("n1");
      net.tickAll(2);
      net.cut("n1", "n2");
      assertThat(net.core("n1").transferLeadership("n2")).isTrue();
      net.core("n1").readIndex(1, true);
      assertThat(net.ready("n1").readStates()).isEmpty();
    }

    /** Within an election timeout after a TimeoutNow was sent, leases stay off. */
    @Test
    void noLeaseRightAfterATimeoutNow() {
      CoreNetwork net = CoreNetwork.voters(3, CoreOptions.DEFAULTS);
      net.elect("n1");
      net.tickAll(2);
      assertThat(net.core("n1").transferLeadership("n2")).isTrue();
      net.ready("n1");
      net.take(TimeoutNow.class);
      net.core("n1").transferLeadership("n1"); // abort
      net.tickAll(2);
      net.core("n1").readIndex(1, true);
      assertThat(net.ready("n1").readStates()).isEmpty();
    }

    /**
     * Thesis §6.4: "followers could also help ... the follower issues a request to the leader to
     * obtain the current readIndex".
     */
    @Test
    void followerReadIsForwardedToTheLeader() {
      CoreNetwork net = CoreNetwork.voters(3, CoreOptions.DEFAULTS);
      net.elect("n1");
      net.tickAll(1);
      net.core("n2").readIndex(9, false);
      Ready r = net.ready("n2");
      assertThat(RaftPaperTest.of(r, ReadIndexRequest.class))
          .singleElement()
          .satisfies(q -> assertThat(q.to()).isEqualTo("n1"));
      net.stabilize();
      assertThat(net.node("n2").reads).containsExactly(new ReadState(9, 1));
    }

    /** A read with no known leader fails at once, for the caller to retry. */
    @Test
    void readWithoutALeaderFails() {
      CoreNetwork net = CoreNetwork.voters(3, CoreOptions.DEFAULTS);
      net.core("n2").readIndex(3, false);
      assertThat(net.ready("n2").readStates()).containsExactly(new ReadState(3, ReadState.FAILED));
    }

    /** A member that is not leader refuses forwarded reads. */
    @Test
    void nonLeaderRefusesAForwardedRead() {
      CoreNetwork net = CoreNetwork.voters(3, CoreOptions.DEFAULTS);
      net.elect("n1");
      net.core("n3").step(new ReadIndexRequest("n2", "n3", 1, 5));
      assertThat(RaftPaperTest.of(net.ready("n3"), ReadIndexResponse.class))
          .singleElement()
          .satisfies(a -> assertThat(a.success()).isFalse());
    }

    /** Reads pending when leadership is lost fail, locally and for followers who asked. */
    @Test
    void pendingReadsFailWhenLeadershipIsLost() {
      CoreNetwork net = CoreNetwork.voters(3, CoreOptions.DEFAULTS);
      net.elect("n1");
      net.isolate("n1");
      net.core("n1").readIndex(4, false);
      net.core("n1").step(new ReadIndexRequest("n2", "n1", 1, 8));
      net.ready("n1");
      net.core("n1").step(new HeartbeatResponse("n3", "n1", 2, 0));
      Ready r = net.ready("n1");
      assertThat(r.readStates()).containsExactly(new ReadState(4, ReadState.FAILED));
      assertThat(RaftPaperTest.of(r, ReadIndexResponse.class))
          .singleElement()
          .satisfies(a -> assertThat(a.success()).isFalse());
    }

    /** A single voter is a quorum by itself: its reads need no round. */
    @Test
    void singleVoterAnswersReadsAtOnce() {
      CoreNetwork net = CoreNetwork.voters(1, CoreOptions.DEFAULTS);
      net.elect("n1");
      net.core("n1").readIndex(1, false);
      assertThat(net.ready("n1").readStates()).containsExactly(new ReadState(1, 1));
    }
  }

  @Nested
  @DisplayName("thesis §3.10 Leadership transfer")
  class LeadershipTransfer {

    /**
     * "The prior leader sends a TimeoutNow request to the target server. This request has the same
     * effect as the target server's election timer firing: the target server starts a new
     * election."
     */
    @Test
    void caughtUpTargetIsSentTimeoutNowAndWins() {
      CoreNetwork net = CoreNetwork.voters(3, CoreOptions.DEFAULTS);
      net.elect("n1");
      assertThat(net.core("n1").transferLeadership("n2")).isTrue();
      assertThat(RaftPaperTest.of(net.ready("n1"), TimeoutNow.class)).hasSize(1);
      net.stabilize();
      assertThat(net.leaders()).containsExactly("n2");
      assertThat(net.core("n2").term()).isEqualTo(2);
      assertThat(net.core("n1").leader()).isEqualTo("n2");
    }

    /**
     * "The prior leader ... transfers its log entries to the target server": TimeoutNow is sent
     * only once the target holds the leader's whole log.
     */
    @Test
    void targetIsBroughtUpToDateBeforeTimeoutNow() {
      CoreNetwork net = CoreNetwork.voters(3, CoreOptions.DEFAULTS);
      net.elect("n1");
      net.cut("n1", "n2");
      net.core("n1").propose(List.of(bytes("a"), bytes("b")));
      net.stabilize();
      net.tickAll(T + 1);
      net.heal();
      assertThat(net.core("n1").transferLeadership("n2")).isTrue();
      assertThat(RaftPaperTest.of(net.ready("n1"), TimeoutNow.class)).isEmpty();
      net.drainDelivered();
      net.tickAll(1);
      List<RaftMessage> seen = net.drainDelivered();
      int timeoutNow = indexOf(seen, m -> m instanceof TimeoutNow);
      int lastAppend =
          lastIndexOf(
              seen,
              m -> m instanceof AppendEntries ae && !ae.entries().isEmpty() && ae.term() == 1);
      assertThat(lastAppend).isNotNegative();
      assertThat(timeoutNow).isGreaterThan(lastAppend);
      assertThat(net.leaders()).containsExactly("n2");
      assertThat(net.core("n2").termAt(3)).isEqualTo(1);
    }

    /** "The prior leader stops accepting new client requests" while the transfer is under way. */
    @Test
    void proposalsAreRejectedDuringATransfer() {
      CoreNetwork net = CoreNetwork.voters(3, CoreOptions.DEFAULTS);
      net.elect("n1");
      net.cut("n1", "n2");
      net.core("n1").transferLeadership("n2");
      assertThat(net.core("n1").leadTransferee()).isEqualTo("n2");
      assertThat(net.core("n1").propose(List.of(bytes("a"))))
          .isEqualTo(RaftCore.REJECTED_TRANSFERRING);
      assertThat(net.core("n1").proposeConfiguration(CoreNetwork.config(2)))
          .isEqualTo(RaftCore.REJECTED_TRANSFERRING);
    }

    /**
     * "If the transfer does not complete within about one election timeout, the prior leader aborts
     * the transfer and resumes accepting client requests."
     */
    @Test
    void transferIsAbortedAfterAnElectionTimeout() {
      CoreNetwork net = CoreNetwork.voters(3, CoreOptions.DEFAULTS);
      net.elect("n1");
      net.isolate("n2");
      net.core("n1").transferLeadership("n2");
      net.tickAll(T - 1);
      assertThat(net.core("n1").leadTransferee()).isEqualTo("n2");
      net.tickAll(1);
      assertThat(net.core("n1").leadTransferee()).isNull();
      assertThat(net.core("n1").propose(List.of(bytes("a")))).isPositive();
      assertThat(net.leaders()).containsExactly("n1");
    }

    /** Only voters can take over; a transfer to the leader itself cancels the transfer. */
    @Test
    void transferNeedsAVoterTarget() {
      CoreNetwork net = CoreNetwork.voters(3, CoreOptions.DEFAULTS);
      net.elect("n1");
      assertThat(net.core("n1").transferLeadership("n9")).isFalse();
      assertThat(net.core("n2").transferLeadership("n3")).isFalse();
      net.cut("n1", "n2");
      net.core("n1").transferLeadership("n2");
      assertThat(net.core("n1").transferLeadership("n1")).isTrue();
      assertThat(net.core("n1").leadTransferee()).isNull();
    }

    /** A TimeoutNow makes the target skip pre-vote and win even against followers' leases. */
    @Test
    void timeoutNowOverridesPreVoteAndLeases() {
      CoreNetwork net = CoreNetwork.voters(3, CoreOptions.DEFAULTS);
      net.elect("n1");
      net.core("n3").step(new TimeoutNow("n1", "n3", 1));
      Ready r = net.ready("n3");
      assertThat(RaftPaperTest.of(r, RequestVote.class))
          .allMatch(v -> v.transfer() && !v.preVote())
          .hasSize(2);
      assertThat(r.hardState()).isEqualTo(new HardState(2, "n3"));
      net.stabilize();
      assertThat(net.leaders()).containsExactly("n3");
    }
  }

  @Nested
  @DisplayName("Priority election")
  class PriorityElection {

    private Configuration prioritized() {
      return Configuration.ofVoters(
          List.of(new Member("n1", "", 1), new Member("n2", "", 5), new Member("n3", "", 1)));
    }

    /** A member below the highest priority waits one more election timeout before campaigning. */
    @Test
    void lowerPriorityMemberWaitsAnExtraTimeout() {
      CoreNetwork net = new CoreNetwork(CoreNetwork.plain(), prioritized());
      net.tick("n1", 2 * T - 1);
      assertThat(net.core("n1").role()).isEqualTo(Role.FOLLOWER);
      net.tick("n1", T);
      assertThat(net.core("n1").role()).isEqualTo(Role.CANDIDATE);
      for (int i = 0; i < T && net.core("n2").role() == Role.FOLLOWER; i++) {
        net.tick("n2", 1);
      }
      assertThat(net.core("n2").role()).isEqualTo(Role.CANDIDATE);
    }

    /** A leader hands leadership to a caught-up member of higher priority. */
    @Test
    void leaderHandsOverToACaughtUpHigherPriorityMember() {
      CoreNetwork net = new CoreNetwork(CoreOptions.DEFAULTS, prioritized());
      net.elect("n1");
      net.tickAll(3);
      assertThat(net.leaders()).containsExactly("n2");
      assertThat(net.core("n2").term()).isEqualTo(2);
    }

    /** Equal priorities: the leader stays. */
    @Test
    void equalPrioritiesCauseNoHandOver() {
      CoreNetwork net = CoreNetwork.voters(3, CoreOptions.DEFAULTS);
      net.elect("n1");
      net.tickAll(3 * T);
      assertThat(net.leaders()).containsExactly("n1");
    }
  }

  static int indexOf(List<RaftMessage> list, java.util.function.Predicate<RaftMessage> p) {
    for (int i = 0; i < list.size(); i++) {
      if (p.test(list.get(i))) {
        return i;
      }
    }
    return -1;
  }

  static int lastIndexOf(List<RaftMessage> list, java.util.function.Predicate<RaftMessage> p) {
    for (int i = list.size() - 1; i >= 0; i--) {
      if (p.test(list.get(i))) {
        return i;
      }
    }
    return -1;
  }
}
