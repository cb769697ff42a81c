package org.flotilla.raft.internal.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.flotilla.raft.internal.core.CoreNetwork.bytes;

import java.util.List;
import java.util.SplittableRandom;
import org.flotilla.raft.cluster.Configuration;
import org.flotilla.raft.cluster.Member;
import org.flotilla.raft.cluster.Role;
import org.flotilla.raft.memory.MemoryLogStore;
import org.flotilla.raft.message.AppendEntries;
import org.flotilla.raft.message.AppendEntriesResponse;
import org.flotilla.raft.message.EntryType;
import org.flotilla.raft.message.Heartbeat;
import org.flotilla.raft.message.HeartbeatResponse;
import org.flotilla.raft.message.InstallSnapshot;
import org.flotilla.raft.message.InstallSnapshotResponse;
import org.flotilla.raft.message.LogEntry;
import org.flotilla.raft.message.ReadIndexRequest;
import org.flotilla.raft.message.ReadIndexResponse;
import org.flotilla.raft.message.RequestVote;
import org.flotilla.raft.message.RequestVoteResponse;
import org.flotilla.raft.message.TimeoutNow;
import org.flotilla.raft.spi.HardState;
import org.flotilla.raft.spi.SnapshotMeta;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;

/** Edge cases of the core's rules: stale, duplicate and out-of-order inputs. */
class RaftCoreEdgeTest {

  private static final int T = CoreOptions.DEFAULTS.electionTimeoutTicks();

  @Nested
  @DisplayName("§5.1 Stale and duplicate messages")
  class StaleAndDuplicate {

    /** §5.1: every request of an older term is answered with the current term, and refused. */
    @Test
    void staleRequestsOfEveryKindAreAnsweredWithTheCurrentTerm() {
      CoreNetwork net = CoreNetwork.voters(3, CoreOptions.DEFAULTS);
      net.load("n2", 3);
      RaftCore n2 = net.core("n2");
      n2.step(new Heartbeat("n1", "n2", 1, 0, 4));
      n2.step(new InstallSnapshot("n1", "n2", 1, 5, 1, CoreNetwork.config(3), 0, 0, 0, null, true));
      n2.step(new ReadIndexRequest("n1", "n2", 1, 8));
      n2.step(new HeartbeatResponse("n1", "n2", 1, 4));
      n2.step(new AppendEntriesResponse("n1", "n2", 1, true, 3, 0, 0, 0));
      Ready r = net.ready("n2");
      assertThat(r.messages()).hasSize(3).allMatch(m -> m.term() == 3 && m.to().equals("n1"));
      assertThat(RaftPaperTest.of(r, HeartbeatResponse.class))
          .singleElement()
          .satisfies(h -> assertThat(h.round()).isEqualTo(4));
      assertThat(RaftPaperTest.of(r, InstallSnapshotResponse.class))
          .singleElement()
          .satisfies(s -> assertThat(s.rejected() && !s.done()).isTrue());
      assertThat(RaftPaperTest.of(r, ReadIndexResponse.class))
          .singleElement()
          .satisfies(a -> assertThat(a.success()).isFalse());
      assertThat(n2.term()).isEqualTo(3);
      assertThat(n2.leader()).isNull();
    }

    /** A duplicated AppendEntries is acknowledged again, in case the first answer was lost. */
    @Test
    void duplicateAppendEntriesIsAcknowledgedAgain() {
      CoreNetwork net = CoreNetwork.voters(3, CoreNetwork.plain());
      AppendEntries ae = RaftPaperTest.append("n1", "n2", 1, 0, 0, 0, 1);
      net.core("n2").step(ae);
      net.ready("n2");
      assertThat(RaftPaperTest.of(net.ready("n2"), AppendEntriesResponse.class)).hasSize(1);
      net.core("n2").step(ae);
      Ready r = net.ready("n2");
      assertThat(r.entries()).isEmpty();
      assertThat(RaftPaperTest.of(r, AppendEntriesResponse.class))
          .singleElement()
          .satisfies(a -> assertThat(a.success() && a.matchIndex() == 1).isTrue());
    }

    /** An AppendEntries wholly below the commit index is acknowledged up to the commit index. */
    @Test
    void appendEntriesBelowTheCommitIndexIsAcknowledgedAtTheCommitIndex() {
      CoreNetwork net = CoreNetwork.voters(3, CoreNetwork.plain());
      net.load("n2", 1, 1, 1, 1);
      net.core("n2").step(RaftPaperTest.append("n1", "n2", 1, 3, 1, 3));
      net.ready("n2");
      net.ready("n2");
      net.core("n2").step(RaftPaperTest.append("n1", "n2", 1, 0, 0, 3, 1));
      Ready r = net.ready("n2");
      assertThat(RaftPaperTest.of(r, AppendEntriesResponse.class))
          .singleElement()
          .satisfies(a -> assertThat(a.success() && a.matchIndex() == 3).isTrue());
      assertThat(net.termsOf("n2")).containsExactly(1L, 1L, 1L);
    }

    /** An acknowledgement beyond the leader's log is a bug in the follower: fail loudly. */
    @Test
    void acknowledgementBeyondTheLeadersLogIsABug() {
      CoreNetwork net = CoreNetwork.voters(3, CoreNetwork.plain());
      net.elect("n1");
      assertThatThrownBy(
              () ->
                  net.core("n1").step(new AppendEntriesResponse("n2", "n1", 1, true, 99, 0, 0, 0)))
          .isInstanceOf(IllegalStateException.class)
          .hasMessageContaining("beyond last index");
    }

    /** §5.2 Election Safety: "at most one leader can be elected in a given term". */
    @Test
    void appendEntriesFromAnotherLeaderOfTheSameTermIsASafetyViolation() {
      CoreNetwork net = CoreNetwork.voters(3, CoreNetwork.plain());
      net.elect("n1");
      assertThatThrownBy(() -> net.core("n1").step(RaftPaperTest.append("n2", "n1", 1, 0, 0, 0)))
          .isInstanceOf(IllegalStateException.class)
          .hasMessageContaining("election safety");
      assertThatThrownBy(() -> net.core("n1").step(new Heartbeat("n3", "n1", 1, 0, 1)))
          .isInstanceOf(IllegalStateException.class)
          .hasMessageContaining("election safety");
    }

    /** Read rounds keep working after the round counter passed the remembered history. */
    @Test
    void readsAreConfirmedAfterManyHeartbeatRounds() {
      CoreNetwork net = CoreNetwork.voters(3, CoreOptions.DEFAULTS);
      net.elect("n1");
      net.tickAll(100);
      net.core("n1").readIndex(1, false);
      net.stabilize();
      assertThat(net.node("n1").reads).containsExactly(new ReadState(1, 1));
      net.core("n1").readIndex(2, true);
      assertThat(net.ready("n1").readStates()).containsExactly(new ReadState(2, 1));
    }

    /** A follower says nothing about an AppendEntries whose entries it has not persisted. */
    @Test
    void followerStaysSilentUntilItsNewEntriesArePersisted() {
      CoreNetwork net = CoreNetwork.voters(3, CoreNetwork.plain());
      net.core("n2").step(RaftPaperTest.append("n1", "n2", 1, 0, 0, 0, 1));
      net.ready("n2");
      net.ready("n2");
      net.node("n2").autoSync = false;
      net.core("n2").step(RaftPaperTest.append("n1", "n2", 1, 1, 1, 0, 1));
      assertThat(net.ready("n2").messages()).isEmpty();
      net.sync("n2");
      assertThat(RaftPaperTest.of(net.ready("n2"), AppendEntriesResponse.class))
          .singleElement()
          .satisfies(a -> assertThat(a.matchIndex()).isEqualTo(2));
    }

    /** A heartbeat answer that claims a round not yet sent confirms no read. */
    @Test
    void heartbeatAnswerForAFutureRoundConfirmsNothing() {
      CoreNetwork net = CoreNetwork.voters(3, CoreOptions.DEFAULTS);
      net.elect("n1");
      net.core("n1").readIndex(1, false);
      net.ready("n1");
      net.dropAll();
      net.core("n1").step(new HeartbeatResponse("n2", "n1", 1, 1000));
      net.core("n1").step(new HeartbeatResponse("n3", "n1", 1, 1000));
      assertThat(net.ready("n1").readStates()).isEmpty();
    }
  }

  @Nested
  @DisplayName("§5.2 / thesis §9.6 Votes")
  class Votes {

    /** A pre-vote for the term in which the voter already voted for someone else is refused. */
    @Test
    void preVoteForTheCurrentTermIsRefusedAfterVoting() {
      CoreNetwork net = CoreNetwork.voters(3, CoreOptions.DEFAULTS);
      RaftCore n3 = net.core("n3");
      n3.step(new RequestVote("n1", "n3", 1, 0, 0, false, false));
      n3.step(new RequestVote("n2", "n3", 1, 0, 0, true, false));
      assertThat(RaftPaperTest.of(net.ready("n3"), RequestVoteResponse.class))
          .extracting(RequestVoteResponse::granted)
          .containsExactly(true, false);
    }

    /** A granted pre-vote for another term than the one campaigned for does not count. */
    @Test
    void preVoteGrantForAnotherTermIsIgnored() {
      CoreNetwork net = CoreNetwork.voters(3, CoreOptions.DEFAULTS);
      RaftCore n1 = net.core("n1");
      for (int i = 0; i < 4 * T && n1.role() == Role.FOLLOWER; i++) {
        net.tick("n1", 1);
      }
      assertThat(n1.role()).isEqualTo(Role.PRE_CANDIDATE);
      n1.step(new RequestVoteResponse("n2", "n1", 5, true, true));
      assertThat(n1.role()).isEqualTo(Role.PRE_CANDIDATE);
      n1.step(new RequestVoteResponse("n2", "n1", 1, true, true));
      assertThat(n1.role()).isEqualTo(Role.CANDIDATE);
      assertThat(n1.term()).isEqualTo(1);
    }

    /** Vote answers reach only the matching kind of candidate. */
    @Test
    void voteAnswersForAnotherKindOfElectionAreIgnored() {
      CoreNetwork net = CoreNetwork.voters(3, CoreNetwork.plain());
      net.tick("n1", 3 * T);
      RaftCore n1 = net.core("n1");
      long term = n1.term();
      n1.step(new RequestVoteResponse("n2", "n1", term, true, true));
      assertThat(n1.role()).isEqualTo(Role.CANDIDATE);
      n1.step(new RequestVoteResponse("n2", "n1", term, true, false));
      assertThat(n1.role()).isEqualTo(Role.LEADER);
    }
  }

  @Nested
  @DisplayName("§6 / §7 / thesis §3.10 Edges of membership, snapshots and transfer")
  class Edges {

    /** The leader stops tracking a member once a configuration without it is in its log. */
    @Test
    void removedMemberLosesItsProgress() {
      CoreNetwork net = CoreNetwork.voters(3, CoreOptions.DEFAULTS);
      net.elect("n1");
      net.core("n1").proposeConfiguration(RaftMembershipTest.voters("n1", "n2"));
      net.stabilize();
      assertThat(net.core("n1").progress()).containsOnlyKeys("n2");
      assertThat(net.leaders()).containsExactly("n1");
    }

    /** A transfer to a member that C_new removes is aborted when C_new is appended. */
    @Test
    void transferToAMemberBeingRemovedIsAborted() {
      CoreNetwork net = CoreNetwork.voters(3, CoreOptions.DEFAULTS);
      net.elect("n1");
      net.cut("n1", "n3");
      RaftCore n1 = net.core("n1");
      assertThat(n1.proposeConfiguration(RaftMembershipTest.voters("n1", "n2"))).isPositive();
      assertThat(n1.transferLeadership("n3")).isTrue();
      net.stabilize();
      assertThat(n1.configuration()).isEqualTo(RaftMembershipTest.voters("n1", "n2"));
      assertThat(n1.leadTransferee()).isNull();
      assertThat(n1.propose(List.of(bytes("a")))).isPositive();
    }

    /** Among several caught-up members of higher priority, the highest gets leadership. */
    @Test
    void handOverPicksTheHighestPriority() {
      Configuration c =
          Configuration.ofVoters(
              List.of(new Member("n1", "", 1), new Member("n2", "", 3), new Member("n3", "", 5)));
      CoreNetwork net = new CoreNetwork(CoreOptions.DEFAULTS, c);
      net.elect("n1");
      net.drainDelivered();
      net.tickAll(3);
      assertThat(net.leaders()).containsExactly("n3");
      assertThat(net.drainDelivered())
          .filteredOn(m -> m instanceof TimeoutNow)
          .singleElement()
          .satisfies(m -> assertThat(m.to()).isEqualTo("n3"));
    }

    /** Leases stay off for exactly one election timeout after a TimeoutNow. */
    @Test
    void noLeaseForTheRestOfATermInWhichTimeoutNowWasSent() {
      CoreNetwork net = CoreNetwork.voters(3, CoreOptions.DEFAULTS);
      net.elect("n1");
      net.tickAll(2);
      RaftCore n1 = net.core("n1");
      n1.transferLeadership("n2");
      net.ready("n1");
      assertThat(net.take(TimeoutNow.class)).hasSize(1);
      n1.transferLeadership("n1");
      // The TimeoutNow may still reach n2 at any time in this term, and n2's election would
      // ignore leases: however long ago it was sent, n1 holds no lease in this term.
      net.tickAll(3 * T);
      n1.readIndex(1, true);
      assertThat(net.ready("n1").readStates()).isEmpty();
    }

    /** §7: a snapshot the follower's commit index already covers is not installed. */
    @Test
    void snapshotAtTheCommitIndexIsNotInstalled() {
      CoreNetwork net = CoreNetwork.voters(3, CoreNetwork.plain());
      net.load("n2", 1, 1, 1, 1);
      net.core("n2").step(RaftPaperTest.append("n1", "n2", 1, 2, 1, 2));
      net.core("n2").step(RaftLogCompactionTest.snapshot("n2", 1, 2, 7, CoreNetwork.config(1)));
      assertThat(net.ready("n2").snapshot()).isNull();
      assertThat(net.core("n2").termAt(2)).isEqualTo(1);
      assertThat(net.core("n2").lastIndex()).isEqualTo(3);
    }

    /** The sender of a snapshot is the leader of its term; the receiver's role follows it. */
    @Test
    void snapshotSenderBecomesTheKnownLeader() {
      CoreNetwork net = CoreNetwork.voters(3, CoreNetwork.plain());
      net.load("n2", 2);
      net.core("n2").step(RaftLogCompactionTest.snapshot("n2", 2, 4, 2, CoreNetwork.config(3)));
      assertThat(net.core("n2").leader()).isEqualTo("n1");
      assertThat(net.core("n2").term()).isEqualTo(2);
      assertThat(net.core("n2").role()).isEqualTo(Role.FOLLOWER);
      assertThat(net.ready("n2").snapshot()).isNotNull();
      net.core("n3").step(RaftLogCompactionTest.snapshot("n3", 2, 4, 2, CoreNetwork.config(2)));
      assertThat(net.core("n3").role()).isEqualTo(Role.LEARNER);
      assertThat(net.core("n3").configuration()).isEqualTo(CoreNetwork.config(2));
    }

    /** A leader that loses its term also drops the transfer it had under way. */
    @Test
    void steppingDownEndsTheTransfer() {
      CoreNetwork net = CoreNetwork.voters(3, CoreOptions.DEFAULTS);
      net.elect("n1");
      net.cut("n1", "n2");
      net.core("n1").transferLeadership("n2");
      net.core("n1").step(new HeartbeatResponse("n3", "n1", 2, 0));
      assertThat(net.core("n1").leadTransferee()).isNull();
    }

    /** A failed read is reported once, not again at later role changes. */
    @Test
    void failedReadsAreReportedOnce() {
      CoreNetwork net = CoreNetwork.voters(3, CoreOptions.DEFAULTS);
      net.elect("n1");
      net.isolate("n1");
      RaftCore n1 = net.core("n1");
      n1.readIndex(4, false);
      net.ready("n1");
      n1.step(new HeartbeatResponse("n3", "n1", 2, 0));
      n1.step(new HeartbeatResponse("n3", "n1", 3, 0));
      net.ready("n1");
      assertThat(net.node("n1").reads).containsExactly(new ReadState(4, ReadState.FAILED));
    }

    /** Only a newer snapshot replaces the one the core knows of. */
    @Test
    void snapshotTakenKeepsTheNewest() {
      CoreNetwork net = CoreNetwork.voters(3, CoreNetwork.plain());
      RaftCore n1 = net.core("n1");
      assertThat(n1.latestSnapshot()).isNull();
      n1.snapshotTaken(new SnapshotMeta(5, 1, CoreNetwork.config(3)));
      n1.snapshotTaken(new SnapshotMeta(3, 1, CoreNetwork.config(3)));
      n1.snapshotTaken(new SnapshotMeta(5, 1, CoreNetwork.config(1)));
      assertThat(n1.latestSnapshot()).isEqualTo(new SnapshotMeta(5, 1, CoreNetwork.config(3)));
      n1.snapshotTaken(new SnapshotMeta(7, 2, CoreNetwork.config(3)));
      assertThat(n1.latestSnapshot().index()).isEqualTo(7);
    }

    /** A configuration entry at the very end of the log is recovered on restart. */
    @Test
    void configurationAtTheEndOfTheLogIsRecovered() {
      MemoryLogStore store = new MemoryLogStore();
      Configuration c = CoreNetwork.config(2);
      store.append(
          List.of(LogEntry.noop(1, 1), new LogEntry(2, 1, EntryType.CONFIGURATION, c.encode())));
      RaftCore core =
          new RaftCore(
              "n1",
              CoreOptions.DEFAULTS,
              CoreNetwork.config(3),
              store,
              new HardState(1, "n1"),
              null,
              new SplittableRandom(1));
      assertThat(core.configuration()).isEqualTo(c);
      assertThat(core.term()).isEqualTo(1);
      assertThat(core.votedFor()).isEqualTo("n1");
      assertThat(core.id()).isEqualTo("n1");
      assertThat(core.options()).isEqualTo(CoreOptions.DEFAULTS);
      assertThat(core.toString()).contains("n1").contains("FOLLOWER");
      assertThat(core.hasReady()).isFalse();
      assertThat(core.ready().isEmpty()).isTrue();
    }

    /** Ready and ReadState say what they hold. */
    @Test
    void readyAndReadStateDescribeThemselves() {
      CoreNetwork net = CoreNetwork.voters(3, CoreNetwork.plain());
      net.core("n1").readIndex(1, false);
      Ready r = net.ready("n1");
      assertThat(r.isEmpty()).isFalse();
      assertThat(r.readStates().get(0).failed()).isTrue();
      assertThat(new ReadState(1, 0).failed()).isFalse();
      net.core("n1").tick();
      assertThat(net.ready("n1").isEmpty()).isTrue();
    }
  }
}
