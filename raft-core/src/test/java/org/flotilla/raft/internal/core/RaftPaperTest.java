package org.flotilla.raft.internal.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.flotilla.raft.internal.core.CoreNetwork.bytes;
import static org.flotilla.raft.internal.core.CoreNetwork.plain;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import org.flotilla.raft.cluster.Role;
import org.flotilla.raft.memory.MemoryLogStore;
import org.flotilla.raft.message.AppendEntries;
import org.flotilla.raft.message.AppendEntriesResponse;
import org.flotilla.raft.message.EntryType;
import org.flotilla.raft.message.Heartbeat;
import org.flotilla.raft.message.HeartbeatResponse;
import org.flotilla.raft.message.LogEntry;
import org.flotilla.raft.message.RaftMessage;
import org.flotilla.raft.message.RequestVote;
import org.flotilla.raft.message.RequestVoteResponse;
import org.flotilla.raft.spi.HardState;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;

/** The rules of the Raft paper's §5, one behaviour per test, driven through {@link CoreNetwork}. */
class RaftPaperTest {

  static AppendEntries append(
      String from, String to, long term, long prev, long prevTerm, long commit, long... terms) {
    List<LogEntry> entries = new ArrayList<>();
    for (int i = 0; i < terms.length; i++) {
      entries.add(new LogEntry(prev + 1 + i, terms[i], EntryType.COMMAND, bytes("x")));
    }
    return new AppendEntries(from, to, term, prev, prevTerm, commit, entries);
  }

  static <T extends RaftMessage> List<T> of(Ready r, Class<T> type) {
    return r.messages().stream().filter(type::isInstance).map(type::cast).toList();
  }

  @Nested
  @DisplayName("§5.1 Raft basics")
  class Basics {

    /**
     * "If a candidate or leader discovers that its term is out of date, it immediately reverts to
     * follower state."
     */
    @Test
    void leaderThatSeesANewerTermRevertsToFollower() {
      CoreNetwork net = CoreNetwork.voters(3, plain());
      net.elect("n1");
      net.core("n1").step(new HeartbeatResponse("n2", "n1", 5, 0));
      assertThat(net.core("n1").role()).isEqualTo(Role.FOLLOWER);
      assertThat(net.core("n1").term()).isEqualTo(5);
      assertThat(net.core("n1").leader()).isNull();
      assertThat(net.ready("n1").hardState()).isEqualTo(new HardState(5, ""));
    }

    /** "If a server receives a request with a stale term number, it rejects the request." */
    @Test
    void requestWithAStaleTermIsRejectedWithTheCurrentTerm() {
      CoreNetwork net = CoreNetwork.voters(3, plain());
      net.load("n2", 2);
      RaftCore n2 = net.core("n2");
      n2.step(append("n1", "n2", 1, 0, 0, 0, 1));
      n2.step(new RequestVote("n3", "n2", 1, 5, 1, false, false));
      Ready r = net.ready("n2");
      assertThat(n2.lastIndex()).isZero();
      assertThat(n2.term()).isEqualTo(2);
      assertThat(of(r, AppendEntriesResponse.class))
          .singleElement()
          .satisfies(a -> assertThat(a.success()).isFalse())
          .satisfies(a -> assertThat(a.term()).isEqualTo(2));
      assertThat(of(r, RequestVoteResponse.class))
          .singleElement()
          .satisfies(v -> assertThat(v.granted()).isFalse())
          .satisfies(v -> assertThat(v.term()).isEqualTo(2));
      assertThat(r.hardState()).isNull();
    }

    /**
     * Figure 2: "Persistent state on all servers (updated on stable storage before responding to
     * RPCs)": the new term and vote come out in the same ready batch as the vote, whose contract is
     * to persist the hard state before sending the messages.
     */
    @Test
    void termAndVoteAreHandedOutWithTheVoteTheyMustPrecede() {
      CoreNetwork net = CoreNetwork.voters(3, plain());
      net.core("n2").step(new RequestVote("n1", "n2", 1, 0, 0, false, false));
      Ready r = net.ready("n2");
      assertThat(r.hardState()).isEqualTo(new HardState(1, "n1"));
      assertThat(of(r, RequestVoteResponse.class))
          .singleElement()
          .satisfies(v -> assertThat(v.granted()).isTrue());
    }

    /** Figure 2 "votedFor" is persistent: a restarted member does not vote twice in a term. */
    @Test
    void voteSurvivesARestart() {
      CoreNetwork net = CoreNetwork.voters(3, plain());
      net.core("n2").step(new RequestVote("n1", "n2", 1, 0, 0, false, false));
      net.ready("n2");
      net.restart("n2");
      net.core("n2").step(new RequestVote("n3", "n2", 1, 0, 0, false, false));
      assertThat(of(net.ready("n2"), RequestVoteResponse.class))
          .singleElement()
          .satisfies(v -> assertThat(v.granted()).isFalse());
      assertThat(net.core("n2").votedFor()).isEqualTo("n1");
    }

    /** "Current terms are exchanged whenever servers communicate" (a candidate adopts it too). */
    @Test
    void candidateThatSeesANewerTermInAResponseRevertsToFollower() {
      CoreNetwork net = CoreNetwork.voters(3, plain());
      net.tick("n1", 20);
      assertThat(net.core("n1").role()).isEqualTo(Role.CANDIDATE);
      net.core("n1").step(new RequestVoteResponse("n2", "n1", 7, false, false));
      assertThat(net.core("n1").role()).isEqualTo(Role.FOLLOWER);
      assertThat(net.core("n1").term()).isEqualTo(7);
    }

    /** A message addressed to someone else, or looped back from itself, is ignored. */
    @Test
    void misaddressedMessagesAreIgnored() {
      CoreNetwork net = CoreNetwork.voters(3, plain());
      net.core("n2").step(new RequestVote("n1", "n3", 4, 0, 0, false, false));
      net.core("n2").step(new RequestVote("n2", "n2", 4, 0, 0, false, false));
      assertThat(net.core("n2").term()).isZero();
      assertThat(net.ready("n2").isEmpty()).isTrue();
    }
  }

  @Nested
  @DisplayName("§5.2 Leader election")
  class LeaderElection {

    /**
     * "If a follower receives no communication over a period of time called the election timeout,
     * then it assumes there is no viable leader and begins an election to choose a new leader. To
     * begin an election, a follower increments its current term and transitions to candidate state.
     * It then votes for itself and issues RequestVote RPCs in parallel to each of the other
     * servers."
     */
    @Test
    void followerStartsAnElectionAfterTheElectionTimeout() {
      CoreNetwork net = CoreNetwork.voters(3, plain());
      net.load("n1", 1, 1, 1);
      RaftCore n1 = net.core("n1");
      for (int i = 0; i < 9; i++) {
        n1.tick();
        assertThat(net.ready("n1").messages()).isEmpty();
      }
      Ready r = null;
      for (int i = 0; i < 20 && n1.role() == Role.FOLLOWER; i++) {
        n1.tick();
        r = net.ready("n1");
      }
      assertThat(n1.role()).isEqualTo(Role.CANDIDATE);
      assertThat(n1.term()).isEqualTo(2);
      assertThat(r.hardState()).isEqualTo(new HardState(2, "n1"));
      assertThat(of(r, RequestVote.class))
          .extracting(RequestVote::to, RequestVote::term, RequestVote::lastLogIndex)
          .containsExactly(
              org.assertj.core.groups.Tuple.tuple("n2", 2L, 2L),
              org.assertj.core.groups.Tuple.tuple("n3", 2L, 2L));
      assertThat(of(r, RequestVote.class)).allMatch(v -> v.lastLogTerm() == 1 && !v.preVote());
    }

    /**
     * "Raft uses randomized election timeouts ... election timeouts are chosen randomly from a
     * fixed interval (e.g., 150–300ms)": here from [T, 2T) ticks.
     */
    @Test
    void electionTimeoutsAreRandomizedWithinOneToTwoTimeouts() {
      Set<Integer> seen = new HashSet<>();
      for (long seed = 0; seed < 30; seed++) {
        RaftCore c =
            new RaftCore(
                "n1",
                plain(),
                CoreNetwork.config(3),
                new MemoryLogStore(),
                HardState.INITIAL,
                null,
                new SplittableRandom(seed));
        int ticks = 0;
        while (c.role() == Role.FOLLOWER && ticks < 100) {
          c.tick();
          ticks++;
        }
        seen.add(ticks);
        assertThat(ticks).isBetween(10, 19);
      }
      assertThat(seen).hasSizeGreaterThan(3);
    }

    /**
     * "A candidate wins an election if it receives votes from a majority of the servers in the full
     * cluster for the same term."
     */
    @Test
    void candidateWithVotesOfAMajorityBecomesLeader() {
      CoreNetwork net = CoreNetwork.voters(5, plain());
      net.cut("n1", "n4");
      net.cut("n1", "n5");
      assertThat(net.campaign("n1")).isEqualTo(Role.LEADER);
      assertThat(net.core("n1").term()).isEqualTo(1);
    }

    /** The converse: two votes of five are not a majority. */
    @Test
    void candidateWithoutAMajorityDoesNotBecomeLeader() {
      CoreNetwork net = CoreNetwork.voters(5, plain());
      net.cut("n1", "n2");
      net.cut("n1", "n3");
      net.cut("n1", "n4");
      assertThat(net.campaign("n1")).isEqualTo(Role.CANDIDATE);
    }

    /** A candidate that a majority rejected gives up its candidacy and waits as a follower. */
    @Test
    void candidateRejectedByAMajorityReturnsToFollower() {
      CoreNetwork net = CoreNetwork.voters(3, plain());
      net.tick("n1", 20);
      net.core("n1").step(new RequestVoteResponse("n2", "n1", 1, false, false));
      assertThat(net.core("n1").role()).isEqualTo(Role.CANDIDATE);
      net.core("n1").step(new RequestVoteResponse("n3", "n1", 1, false, false));
      assertThat(net.core("n1").role()).isEqualTo(Role.FOLLOWER);
      assertThat(net.core("n1").term()).isEqualTo(1);
    }

    /**
     * "Each server will vote for at most one candidate in a given term, on a first-come-first-
     * served basis."
     */
    @Test
    void eachServerVotesForAtMostOneCandidatePerTerm() {
      CoreNetwork net = CoreNetwork.voters(3, plain());
      RaftCore n3 = net.core("n3");
      n3.step(new RequestVote("n1", "n3", 1, 0, 0, false, false));
      n3.step(new RequestVote("n2", "n3", 1, 0, 0, false, false));
      n3.step(new RequestVote("n1", "n3", 1, 0, 0, false, false));
      assertThat(of(net.ready("n3"), RequestVoteResponse.class))
          .extracting(RequestVoteResponse::to, RequestVoteResponse::granted)
          .containsExactly(
              org.assertj.core.groups.Tuple.tuple("n1", true),
              org.assertj.core.groups.Tuple.tuple("n2", false),
              org.assertj.core.groups.Tuple.tuple("n1", true));
      assertThat(n3.votedFor()).isEqualTo("n1");
    }

    /** A follower that knows the leader of the term does not vote for another member in it. */
    @Test
    void followerWithALeaderDoesNotVoteInTheSameTerm() {
      CoreNetwork net = CoreNetwork.voters(3, plain());
      RaftCore n3 = net.core("n3");
      n3.step(new Heartbeat("n1", "n3", 1, 0, 1));
      n3.step(new RequestVote("n2", "n3", 1, 0, 0, false, false));
      assertThat(of(net.ready("n3"), RequestVoteResponse.class))
          .singleElement()
          .satisfies(v -> assertThat(v.granted()).isFalse());
    }

    /**
     * "If the AppendEntries RPC is from another server claiming to be leader whose term is at least
     * as large as the candidate's current term, then the candidate recognizes the leader as
     * legitimate and returns to follower state."
     */
    @Test
    void candidateRecognizesALeaderOfItsTerm() {
      CoreNetwork net = CoreNetwork.voters(3, plain());
      net.tick("n1", 20);
      assertThat(net.core("n1").role()).isEqualTo(Role.CANDIDATE);
      net.core("n1").step(append("n2", "n1", 1, 0, 0, 0));
      assertThat(net.core("n1").role()).isEqualTo(Role.FOLLOWER);
      assertThat(net.core("n1").leader()).isEqualTo("n2");
      assertThat(net.core("n1").term()).isEqualTo(1);
    }

    /**
     * "When this happens [a split vote], each candidate will time out and start a new election by
     * incrementing its term and initiating another round of RequestVote RPCs."
     */
    @Test
    void candidateWithoutOutcomeStartsANewElectionInTheNextTerm() {
      CoreNetwork net = CoreNetwork.voters(3, plain());
      net.tick("n1", 20);
      assertThat(net.core("n1").term()).isEqualTo(1);
      net.dropAll();
      net.tick("n1", 20);
      assertThat(net.core("n1").role()).isEqualTo(Role.CANDIDATE);
      assertThat(net.core("n1").term()).isEqualTo(2);
      assertThat(net.take(RequestVote.class)).allMatch(v -> v.term() == 2).hasSize(2);
    }

    /**
     * "Leaders send periodic heartbeats (AppendEntries RPCs that carry no log entries) to all
     * followers in order to maintain their authority."
     */
    @Test
    void heartbeatsKeepTheLeaderInPlace() {
      CoreNetwork net = CoreNetwork.voters(3, plain());
      net.elect("n1");
      net.drainDelivered();
      net.tickAll(50);
      assertThat(net.leaders()).containsExactly("n1");
      assertThat(net.core("n2").term()).isEqualTo(1);
      assertThat(net.drainDelivered().stream().filter(m -> m instanceof Heartbeat).count())
          .isEqualTo(100);
    }

    /** A single voter elects itself at once and commits without anyone else. */
    @Test
    void singleVoterElectsItselfAndCommitsAlone() {
      CoreNetwork net = CoreNetwork.voters(1, CoreOptions.DEFAULTS);
      net.elect("n1");
      long i = net.core("n1").propose(List.of(bytes("a")));
      net.stabilize();
      assertThat(net.core("n1").commitIndex()).isEqualTo(i);
      assertThat(net.node("n1").applied).hasSize(2);
    }
  }

  @Nested
  @DisplayName("§5.3 Log replication")
  class LogReplication {

    /**
     * "The leader appends the command to its log as a new entry, then issues AppendEntries RPCs in
     * parallel to each of the other servers to replicate the entry ... Once a follower learns that
     * a log entry is committed, it applies the entry to its local state machine (in log order)."
     */
    @Test
    void proposedCommandIsReplicatedCommittedAndAppliedEverywhere() {
      CoreNetwork net = CoreNetwork.voters(3, plain());
      net.elect("n1");
      long index = net.core("n1").propose(List.of(bytes("a"), bytes("b")));
      assertThat(index).isEqualTo(2);
      net.stabilize();
      assertThat(net.core("n1").commitIndex()).isEqualTo(3);
      net.tickAll(1);
      for (String id : List.of("n1", "n2", "n3")) {
        assertThat(net.termsOf(id)).containsExactly(1L, 1L, 1L);
        assertThat(net.core(id).commitIndex()).isEqualTo(3);
        assertThat(net.node(id).applied).extracting(LogEntry::index).containsExactly(1L, 2L, 3L);
        assertThat(net.node(id).applied.get(1).payload()).isEqualTo(bytes("a"));
      }
    }

    /**
     * "If a follower does not find an entry in its log with the same index and term, then it
     * refuses the new entries."
     */
    @Test
    void followerRefusesEntriesWhosePrevLogEntryDoesNotMatch() {
      CoreNetwork net = CoreNetwork.voters(3, plain());
      net.load("n2", 1, 1, 1);
      net.core("n2").step(append("n1", "n2", 2, 2, 2, 0, 2));
      Ready r = net.ready("n2");
      assertThat(r.entries()).isEmpty();
      assertThat(net.termsOf("n2")).containsExactly(1L, 1L);
      assertThat(of(r, AppendEntriesResponse.class))
          .singleElement()
          .satisfies(
              a -> {
                assertThat(a.success()).isFalse();
                assertThat(a.rejectedIndex()).isEqualTo(2);
                assertThat(a.conflictIndex()).isEqualTo(2);
                assertThat(a.conflictTerm()).isEqualTo(1);
              });
    }

    /** §5.3: a prevLogIndex beyond the follower's log is refused with a hint at its end. */
    @Test
    void followerRefusesEntriesBeyondItsLogAndHintsAtItsEnd() {
      CoreNetwork net = CoreNetwork.voters(3, plain());
      net.load("n2", 1, 1, 1);
      net.core("n2").step(append("n1", "n2", 1, 9, 1, 0, 1));
      AppendEntriesResponse a = of(net.ready("n2"), AppendEntriesResponse.class).get(0);
      assertThat(a.success()).isFalse();
      assertThat(a.rejectedIndex()).isEqualTo(9);
      assertThat(a.conflictIndex()).isEqualTo(2);
    }

    /**
     * "If an existing entry conflicts with a new one (same index but different terms), delete the
     * existing entry and all that follow it (§5.3)."
     */
    @Test
    void conflictingSuffixIsDeletedAndReplaced() {
      CoreNetwork net = CoreNetwork.voters(3, plain());
      net.load("n2", 1, 1, 1, 1);
      net.core("n2").step(append("n1", "n2", 2, 1, 1, 0, 2));
      Ready r = net.ready("n2");
      assertThat(r.entries()).extracting(LogEntry::index).containsExactly(2L);
      assertThat(net.termsOf("n2")).containsExactly(1L, 2L);
      assertThat(net.node("n2").store.lastIndex()).isEqualTo(2);
    }

    /**
     * "Append any new entries not already in the log": a delayed, shorter AppendEntries whose
     * entries all match truncates nothing.
     */
    @Test
    void matchingEntriesAreKeptAndNothingIsTruncated() {
      CoreNetwork net = CoreNetwork.voters(3, plain());
      net.load("n2", 1, 1, 1, 1);
      net.core("n2").step(append("n1", "n2", 1, 0, 0, 0, 1));
      Ready r = net.ready("n2");
      assertThat(r.entries()).isEmpty();
      assertThat(net.termsOf("n2")).containsExactly(1L, 1L, 1L);
    }

    /**
     * Log Matching and Leader Completeness: a committed entry is never deleted, even by an
     * AppendEntries whose entries disagree with it.
     */
    @Test
    void committedEntriesAreNeverTruncated() {
      CoreNetwork net = CoreNetwork.voters(3, plain());
      net.load("n2", 1, 1, 1, 1);
      RaftCore n2 = net.core("n2");
      n2.step(append("n1", "n2", 1, 3, 1, 2));
      assertThat(n2.commitIndex()).isEqualTo(2);
      n2.step(append("n3", "n2", 2, 1, 1, 0, 2, 2));
      net.ready("n2");
      assertThat(n2.termAt(1)).isEqualTo(1);
      assertThat(n2.termAt(2)).isEqualTo(1);
      assertThat(n2.termAt(3)).isEqualTo(2);
    }

    /**
     * "If leaderCommit > commitIndex, set commitIndex = min(leaderCommit, index of last new
     * entry)": entries after the last new one are not known to match the leader.
     */
    @Test
    void followerCommitsNoFurtherThanTheLastNewEntry() {
      CoreNetwork net = CoreNetwork.voters(3, plain());
      net.load("n2", 1, 1, 1, 1);
      net.core("n2").step(append("n1", "n2", 1, 0, 0, 3, 1));
      assertThat(net.core("n2").commitIndex()).isEqualTo(1);
      net.core("n2").step(append("n1", "n2", 1, 1, 1, 3, 1, 1));
      assertThat(net.core("n2").commitIndex()).isEqualTo(3);
    }

    /**
     * "The leader can decrement nextIndex to bypass all of the conflicting entries in that term;
     * one AppendEntries RPC will be required for each term with conflicting entries, rather than
     * one RPC per entry": 50 conflicting entries of one term cost one rejection.
     */
    @Test
    void conflictHintSkipsAWholeTermInOneRoundTrip() {
      CoreNetwork net = CoreNetwork.voters(3, plain());
      long[] leaderLog = new long[51];
      long[] staleLog = new long[51];
      leaderLog[0] = 1;
      staleLog[0] = 1;
      for (int i = 1; i <= 50; i++) {
        leaderLog[i] = 3;
        staleLog[i] = 2;
      }
      net.load("n1", 3, leaderLog);
      net.load("n2", 2, staleLog);
      net.load("n3", 3, leaderLog);
      net.elect("n1");
      List<RaftMessage> seen = net.drainDelivered();
      long rejections =
          seen.stream()
              .filter(m -> m instanceof AppendEntriesResponse a && !a.success())
              .filter(m -> m.from().equals("n2"))
              .count();
      assertThat(rejections).isEqualTo(1);
      // The probe after the rejection starts right after the last entry of term <= 2: index 1.
      assertThat(seen)
          .filteredOn(m -> m instanceof AppendEntries ae && ae.to().equals("n2"))
          .extracting(m -> ((AppendEntries) m).prevLogIndex())
          .startsWith(51L, 1L);
      assertThat(net.termsOf("n2")).isEqualTo(net.termsOf("n1"));
    }

    /**
     * Thesis §10.2.1: "the leader can write to its disk in parallel with replicating to the
     * followers"; its own copy counts towards the majority only once it is durable.
     */
    @Test
    void leaderSendsBeforeItsAppendIsDurableButCountsItselfOnlyWhenPersisted() {
      CoreNetwork net = CoreNetwork.voters(3, plain());
      net.elect("n1");
      net.node("n1").autoSync = false;
      net.cut("n1", "n3");
      long index = net.core("n1").propose(List.of(bytes("a")));
      Ready r = net.ready("n1");
      assertThat(net.node("n1").store.durableIndex()).isLessThan(index);
      assertThat(of(r, AppendEntries.class))
          .extracting(AppendEntries::to)
          .containsExactlyInAnyOrder("n2", "n3");
      net.stabilize();
      assertThat(net.core("n1").progress().get("n2").match()).isEqualTo(index);
      assertThat(net.core("n1").commitIndex()).isLessThan(index);
      net.sync("n1");
      assertThat(net.core("n1").commitIndex()).isEqualTo(index);
    }

    /**
     * A follower acknowledges only entries it has persisted, so the leader's majority counts
     * durable copies.
     */
    @Test
    void followerAcknowledgesOnlyPersistedEntries() {
      CoreNetwork net = CoreNetwork.voters(3, plain());
      net.elect("n1");
      net.node("n2").autoSync = false;
      net.cut("n1", "n3");
      long index = net.core("n1").propose(List.of(bytes("a")));
      net.stabilize();
      assertThat(net.core("n2").lastIndex()).isEqualTo(index);
      assertThat(net.core("n1").progress().get("n2").match()).isEqualTo(index - 1);
      assertThat(net.core("n1").commitIndex()).isLessThan(index);
      net.sync("n2");
      net.stabilize();
      assertThat(net.core("n1").progress().get("n2").match()).isEqualTo(index);
      assertThat(net.core("n1").commitIndex()).isEqualTo(index);
    }

    /**
     * Thesis §10.2.2 pipelining: a replicating follower gets at most {@code maxInflightMessages}
     * AppendEntries that it has not acknowledged yet.
     */
    @Test
    void pipeliningStopsAtTheInflightWindow() {
      CoreNetwork net = CoreNetwork.voters(2, plain().withFlowControl(2, 1 << 20));
      net.elect("n1");
      assertThat(net.core("n1").progress().get("n2").state()).isEqualTo(Progress.State.REPLICATE);
      for (int i = 0; i < 5; i++) {
        net.core("n1").propose(List.of(bytes("p" + i)));
        net.ready("n1");
      }
      List<AppendEntries> sent = net.take(AppendEntries.class);
      assertThat(sent).hasSize(2);
      assertThat(sent.get(0).entries()).hasSize(1);
      sent.forEach(net::deliver);
      net.stabilize();
      assertThat(net.termsOf("n2")).hasSize(6);
      assertThat(net.core("n1").commitIndex()).isEqualTo(6);
    }

    /** Each AppendEntries carries at most {@code maxMessageBytes} of entries (at least one). */
    @Test
    void appendEntriesRespectTheByteBound() {
      CoreNetwork net = CoreNetwork.voters(2, plain().withFlowControl(256, 130));
      net.elect("n1");
      List<ByteBuffer> commands = new ArrayList<>();
      for (int i = 0; i < 10; i++) {
        commands.add(ByteBuffer.allocate(40));
      }
      net.core("n1").propose(commands);
      net.ready("n1");
      List<AppendEntries> sent = net.take(AppendEntries.class);
      assertThat(sent).hasSize(5);
      for (AppendEntries ae : sent) {
        assertThat(ae.entries().stream().mapToInt(LogEntry::sizeInBytes).sum()).isLessThan(131);
      }
      assertThat(sent.stream().mapToInt(ae -> ae.entries().size()).sum()).isEqualTo(10);
    }

    /** A lagging follower's catch-up, read back from the log store, keeps the byte bound too. */
    @Test
    void catchUpFromTheStoreRespectsTheByteBound() {
      CoreNetwork net = CoreNetwork.voters(3, plain().withFlowControl(256, 130));
      net.elect("n1");
      net.isolate("n3");
      List<ByteBuffer> commands = new ArrayList<>();
      for (int i = 0; i < 10; i++) {
        commands.add(ByteBuffer.allocate(40));
      }
      net.core("n1").propose(commands);
      net.stabilize();
      net.heal();
      net.drainDelivered();
      net.tickAll(25);
      List<AppendEntries> toN3 =
          net.drainDelivered().stream()
              .filter(m -> m instanceof AppendEntries ae && ae.to().equals("n3"))
              .map(AppendEntries.class::cast)
              .filter(ae -> !ae.entries().isEmpty())
              .toList();
      assertThat(toN3).isNotEmpty();
      for (AppendEntries ae : toN3) {
        assertThat(ae.entries().stream().mapToInt(LogEntry::sizeInBytes).sum()).isLessThan(131);
      }
      assertThat(net.termsOf("n3")).isEqualTo(net.termsOf("n1"));
    }

    /** The leader rejects proposals beyond {@code maxUncommittedEntries} (backpressure). */
    @Test
    void proposalsBeyondTheUncommittedLimitAreRejected() {
      CoreOptions o = plain();
      CoreOptions small =
          new CoreOptions(
              o.electionTimeoutTicks(),
              o.heartbeatTicks(),
              false,
              false,
              o.leaseDriftTicks(),
              o.maxInflightMessages(),
              o.maxMessageBytes(),
              o.maxApplyBytes(),
              3);
      CoreNetwork net = CoreNetwork.voters(3, small);
      net.elect("n1");
      net.isolate("n1");
      RaftCore n1 = net.core("n1");
      assertThat(n1.propose(List.of(bytes("a"), bytes("b")))).isEqualTo(2);
      assertThat(n1.propose(List.of(bytes("c"), bytes("d"))))
          .isEqualTo(RaftCore.REJECTED_OVERLOADED);
      assertThat(n1.propose(List.of(bytes("c")))).isEqualTo(4);
      assertThat(n1.propose(List.of(bytes("d")))).isEqualTo(RaftCore.REJECTED_OVERLOADED);
    }

    /** Only the leader accepts proposals. */
    @Test
    void followerRejectsProposals() {
      CoreNetwork net = CoreNetwork.voters(3, plain());
      net.elect("n1");
      assertThat(net.core("n2").propose(List.of(bytes("a"))))
          .isEqualTo(RaftCore.REJECTED_NOT_LEADER);
    }

    /** A follower that lost an AppendEntries is repaired: the leader probes and resends. */
    @Test
    void lostAppendEntriesAreResentAfterAProbe() {
      CoreNetwork net = CoreNetwork.voters(3, plain());
      net.elect("n1");
      net.core("n1").propose(List.of(bytes("a")));
      net.ready("n1");
      net.take(m -> m.to().equals("n3"));
      net.stabilize();
      net.core("n1").propose(List.of(bytes("b")));
      net.stabilize();
      net.tickAll(25);
      assertThat(net.termsOf("n3")).isEqualTo(net.termsOf("n1"));
      assertThat(net.core("n3").commitIndex()).isEqualTo(3);
    }
  }

  @Nested
  @DisplayName("§5.4.1 Election restriction")
  class ElectionRestriction {

    /**
     * "The voter denies its vote if its own log is more up-to-date than that of the candidate ...
     * If the logs have last entries with different terms, then the log with the later term is more
     * up-to-date. If the logs end with the same term, then whichever log is longer is more
     * up-to-date."
     */
    @Test
    void voteIsGrantedOnlyToAnAtLeastAsUpToDateLog() {
      CoreNetwork net = CoreNetwork.voters(3, plain());
      net.load("n2", 2, 1, 2);
      RaftCore n2 = net.core("n2");
      n2.step(new RequestVote("n1", "n2", 3, 5, 1, false, false)); // older last term, longer
      n2.step(new RequestVote("n1", "n2", 3, 1, 2, false, false)); // same last term, shorter
      n2.step(new RequestVote("n1", "n2", 3, 2, 2, false, false)); // same: up to date
      n2.step(new RequestVote("n3", "n2", 4, 1, 3, false, false)); // later last term, shorter
      assertThat(of(net.ready("n2"), RequestVoteResponse.class))
          .extracting(RequestVoteResponse::granted)
          .containsExactly(false, false, true, true);
    }

    /**
     * "Raft uses the voting process to prevent a candidate from winning an election unless its log
     * contains all committed entries."
     */
    @Test
    void memberWithAShorterLogCannotBeElected() {
      CoreNetwork net = CoreNetwork.voters(3, plain());
      net.load("n1", 1, 1, 1);
      net.load("n2", 1, 1, 1);
      net.load("n3", 1, 1);
      assertThat(net.campaign("n3")).isEqualTo(Role.FOLLOWER);
      assertThat(net.leaders()).isEmpty();
      assertThat(net.campaign("n2")).isEqualTo(Role.LEADER);
    }
  }

  @Nested
  @DisplayName("§5.4.2 Committing entries from previous terms")
  class CommittingPreviousTerms {

    /**
     * "Raft never commits log entries from previous terms by counting replicas. Only log entries
     * from the leader's current term are committed by counting replicas" (the Figure 8 scenario: an
     * entry of term 2 stored on a majority by the leader of term 4 is not yet committed).
     */
    @Test
    void entryOfAnEarlierTermOnAMajorityIsNotCommittedByCounting() {
      CoreNetwork net = CoreNetwork.voters(5, plain());
      net.load("n1", 3, 1, 2);
      RaftCore n1 = net.core("n1");
      net.tick("n1", 20);
      n1.step(new RequestVoteResponse("n2", "n1", 4, true, false));
      n1.step(new RequestVoteResponse("n3", "n1", 4, true, false));
      assertThat(n1.role()).isEqualTo(Role.LEADER);
      net.ready("n1");
      assertThat(n1.termAt(3)).isEqualTo(4);
      n1.step(new AppendEntriesResponse("n2", "n1", 4, true, 2, 0, 0, 0));
      n1.step(new AppendEntriesResponse("n3", "n1", 4, true, 2, 0, 0, 0));
      assertThat(n1.commitIndex()).isZero();
      n1.step(new AppendEntriesResponse("n2", "n1", 4, true, 3, 0, 0, 0));
      assertThat(n1.commitIndex()).isZero();
      n1.step(new AppendEntriesResponse("n3", "n1", 4, true, 3, 0, 0, 0));
      assertThat(n1.commitIndex()).isEqualTo(3);
    }

    /**
     * Figure 8 with the network: "a log entry is stored on a majority of servers, yet could still
     * be overwritten by a future leader". The leader of term 4 copies its term-2 entry to a
     * majority but never commits it by counting; the leader of term 5 then rightly overwrites it.
     */
    @Test
    void figureEightEntryOnAMajorityIsOverwrittenBecauseItWasNeverCommitted() {
      CoreNetwork net = CoreNetwork.voters(5, plain().withFlowControl(256, 1));
      net.load("n1", 3, 1, 2);
      net.load("n2", 2, 1, 2);
      net.load("n3", 2, 1);
      net.load("n4", 2, 1);
      net.load("n5", 4, 1, 3);
      net.cut("n1", "n4");
      net.cut("n1", "n5");
      // n3 gets the term-2 entry but never the leader's no-op at index 3 (only the first probe,
      // which n3 rejects, carrying it gets through).
      int[] probes = {0};
      net.dropIf(
          m ->
              m instanceof AppendEntries ae
                  && ae.to().equals("n3")
                  && ae.lastIndex() >= 3
                  && probes[0]++ > 0);
      assertThat(net.campaign("n1")).isEqualTo(Role.LEADER);
      RaftCore n1 = net.core("n1");
      assertThat(n1.term()).isEqualTo(4);
      assertThat(net.core("n3").termAt(2)).isEqualTo(2);
      assertThat(n1.progress().get("n3").match()).isEqualTo(2);
      assertThat(n1.progress().get("n2").match()).isEqualTo(3);
      // Entry 2 (term 2) is on n1, n2 and n3, a majority, but only counting can commit it here.
      assertThat(n1.commitIndex()).isZero();
      // n1 crashes; n5, whose last entry is of term 3, is elected by n3 and n4.
      net.heal();
      net.isolate("n1");
      assertThat(net.campaign("n5")).isEqualTo(Role.LEADER);
      assertThat(net.core("n5").term()).isEqualTo(5);
      for (String id : List.of("n2", "n3", "n4")) {
        assertThat(net.core(id).termAt(2)).isEqualTo(3);
      }
      assertThat(net.core("n5").commitIndex()).isEqualTo(3);
    }

    /**
     * Thesis §6.4 / §5.4.2: "Raft handles this by having each leader commit a blank no-op entry
     * into the log at the start of its term."
     */
    @Test
    void newLeaderAppendsANoOpOfItsTerm() {
      CoreNetwork net = CoreNetwork.voters(3, plain());
      net.load("n1", 1, 1, 1);
      net.load("n2", 1, 1, 1);
      net.elect("n1");
      RaftCore n1 = net.core("n1");
      assertThat(n1.lastIndex()).isEqualTo(3);
      assertThat(n1.termAt(3)).isEqualTo(n1.term()).isEqualTo(2);
      assertThat(net.node("n1").applied)
          .extracting(LogEntry::type)
          .containsExactly(EntryType.COMMAND, EntryType.COMMAND, EntryType.NOOP);
      assertThat(n1.commitIndex()).isEqualTo(3);
    }
  }
}
