package org.flotilla.raft.internal.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.flotilla.raft.internal.core.CoreNetwork.bytes;

import java.util.List;
import org.flotilla.raft.cluster.Role;
import org.flotilla.raft.message.Heartbeat;
import org.flotilla.raft.message.HeartbeatResponse;
import org.flotilla.raft.message.RaftMessage;
import org.flotilla.raft.message.RequestVote;
import org.junit.jupiter.api.Test;

/**
 * Quiescence in the core (docs/architecture.md, "Quiescence"): an idle group's leader quiesces it
 * with a heartbeat, after which no member counts ticks or sends anything; any input wakes a member;
 * a host failure wakes the members that depend on it; and a leader that wakes holds no lease and
 * gets a fresh CheckQuorum window, since the ticks it did not count say nothing about how long ago
 * its followers answered.
 */
class QuiescenceCoreTest {

  private static final int T = CoreOptions.DEFAULTS.electionTimeoutTicks();
  private static final int H = CoreOptions.DEFAULTS.heartbeatTicks();
  private static final List<String> IDS = List.of("n1", "n2", "n3");

  /**
   * Three voters, n1 leading with a lease, one command committed everywhere, all allowed to
   * quiesce.
   */
  private static CoreNetwork idleGroup() {
    CoreNetwork net = CoreNetwork.voters(3, CoreOptions.DEFAULTS);
    net.elect("n1");
    net.core("n1").propose(List.of(bytes("x")));
    net.stabilize();
    // Heartbeat rounds the followers acknowledge: the leader holds a lease from them.
    net.tickAll(2);
    net.core("n1").readIndex(0, true);
    assertThat(net.ready("n1").readStates()).hasSize(1);
    for (String id : IDS) {
      net.core(id).allowQuiescence(() -> true);
    }
    return net;
  }

  /** Ticks every member until the group has quiesced; fails if it does not within 3T ticks. */
  private static void quiesce(CoreNetwork net) {
    for (int i = 0; i < 3 * T && !IDS.stream().allMatch(id -> net.core(id).quiesced()); i++) {
      net.tickAll(1);
    }
    assertThat(IDS).allMatch(id -> net.core(id).quiesced(), "quiesced");
  }

  @Test
  void anIdleGroupQuiescesAtAHeartbeatAndThenSendsNothingAndCountsNoTicks() {
    CoreNetwork net = idleGroup();
    quiesce(net);
    long[] now = IDS.stream().mapToLong(id -> net.core(id).now()).toArray();
    net.drainDelivered();
    net.tickAll(10 * T);
    assertThat(net.drainDelivered()).isEmpty();
    assertThat(IDS.stream().mapToLong(id -> net.core(id).now()).toArray()).containsExactly(now);
    assertThat(net.core("n1").role()).isEqualTo(Role.LEADER);
    assertThat(net.core("n2").leader()).isEqualTo("n1");
  }

  @Test
  void aGroupDoesNotQuiesceWhileItsDriverHasWorkInFlight() {
    CoreNetwork net = idleGroup();
    net.core("n1").allowQuiescence(() -> false);
    net.tickAll(3 * H);
    assertThat(IDS).noneMatch(id -> net.core(id).quiesced());
    // A follower whose driver is busy stays awake, and its answer wakes the leader, which goes
    // on heartbeating it rather than leave it to time out.
    net.core("n1").allowQuiescence(() -> true);
    net.core("n3").allowQuiescence(() -> false);
    net.tickAll(H);
    assertThat(net.core("n2").quiesced()).isTrue();
    assertThat(net.core("n3").quiesced()).isFalse();
    assertThat(net.core("n1").quiesced()).isFalse();
    net.drainDelivered();
    net.tickAll(H);
    assertThat(net.drainDelivered()).anyMatch(m -> m instanceof Heartbeat && m.to().equals("n3"));
    // Once n3 is idle too, the next heartbeat quiesces everyone.
    net.core("n3").allowQuiescence(() -> true);
    net.tickAll(H);
    assertThat(IDS).allMatch(id -> net.core(id).quiesced(), "quiesced");
  }

  @Test
  void anAnswerToARoundSentBeforeTheWakeGivesNoLease() {
    CoreNetwork net = idleGroup();
    for (int i = 0; i < T && !net.core("n1").quiesced(); i++) {
      net.core("n1").tick();
      net.ready("n1");
    }
    List<Heartbeat> quiescing = net.take(Heartbeat.class);
    // The followers cannot quiesce: their answers, held back here, will say so.
    net.core("n2").allowQuiescence(() -> false);
    net.core("n3").allowQuiescence(() -> false);
    quiescing.forEach(net::deliver);
    net.ready("n2");
    net.ready("n3");
    List<RaftMessage> answers = net.take(m -> m instanceof HeartbeatResponse);
    assertThat(answers).hasSize(2);
    // Long after (the leader counts no ticks meanwhile), the answers arrive and wake it: they
    // confirm nothing about the time since, so no lease comes from them.
    answers.forEach(net::deliver);
    assertThat(net.core("n1").quiesced()).isFalse();
    net.core("n1").readIndex(9, true);
    Ready r = net.ready("n1");
    assertThat(r.readStates()).isEmpty();
    assertThat(RaftPaperTest.of(r, Heartbeat.class)).hasSize(2);
  }

  @Test
  void aGroupWithAnUncommittedOrUnreplicatedEntryDoesNotQuiesce() {
    CoreNetwork net = idleGroup();
    net.cut("n1", "n3");
    net.core("n1").propose(List.of(bytes("y")));
    net.tickAll(3 * H);
    // n3 lacks the entry: the leader must keep replicating to it.
    assertThat(net.core("n1").quiesced()).isFalse();
    net.heal();
    quiesce(net);
    assertThat(net.core("n3").commitIndex()).isEqualTo(net.core("n1").lastIndex());
  }

  @Test
  void aProposalWakesTheLeaderAndItsAppendWakesTheFollowers() {
    CoreNetwork net = idleGroup();
    quiesce(net);
    long index = net.core("n1").propose(List.of(bytes("y")));
    assertThat(index).isPositive();
    assertThat(net.core("n1").quiesced()).isFalse();
    net.stabilize();
    assertThat(IDS).noneMatch(id -> net.core(id).quiesced());
    assertThat(net.core("n2").commitIndex()).isGreaterThanOrEqualTo(index - 1);
    // Idle again: the group quiesces again.
    quiesce(net);
    assertThat(net.core("n3").commitIndex()).isEqualTo(index);
  }

  @Test
  void theAnswersToTheQuiescingHeartbeatDoNotWakeTheLeader() {
    CoreNetwork net = idleGroup();
    for (int i = 0; i < T && !net.core("n1").quiesced(); i++) {
      net.core("n1").tick();
      net.ready("n1");
    }
    assertThat(net.core("n1").quiesced()).isTrue();
    List<Heartbeat> quiescing = net.take(Heartbeat.class);
    assertThat(quiescing).hasSize(2).allMatch(Heartbeat::quiesce);
    quiescing.forEach(net::deliver);
    net.stabilize();
    assertThat(IDS).allMatch(id -> net.core(id).quiesced(), "quiesced");
  }

  /**
   * The safety rule of waking: a leader that quiesced, was cut off, and was replaced while it did
   * not count time must not answer a lease read from before. Without the lease reset of {@code
   * Replication.wake}, its last acknowledged round looks fresh (no tick passed) and it answers at
   * once with a read index that misses the new leader's write: a stale read.
   */
  @Test
  void aLeaderWakingFromQuiescenceHoldsNoLeaseFromBefore() {
    CoreNetwork net = idleGroup();
    quiesce(net);
    net.isolate("n1");
    // n1's host is down for the others: they wake, and n2 wins an election and commits a write.
    net.core("n2").hostDown("n1");
    net.core("n3").hostDown("n1");
    assertThat(net.core("n2").quiesced()).isFalse();
    // Both wait out their election timers (n3 refuses votes until its own runs out).
    for (int i = 0; i < 6 * T && net.leaders().stream().noneMatch(l -> !l.equals("n1")); i++) {
      net.core("n2").tick();
      net.core("n3").tick();
      net.stabilize();
    }
    String newLeader =
        net.leaders().stream().filter(l -> !l.equals("n1")).findFirst().orElseThrow();
    long write = net.core(newLeader).propose(List.of(bytes("new")));
    net.stabilize();
    assertThat(net.core(newLeader).commitIndex()).isEqualTo(write);

    // The old leader wakes for a read that allows the lease: it must confirm with a round first.
    net.core("n1").readIndex(7, true);
    assertThat(net.core("n1").quiesced()).isFalse();
    Ready r = net.ready("n1");
    assertThat(r.readStates()).isEmpty();
    assertThat(RaftPaperTest.of(r, Heartbeat.class)).isNotEmpty();
    // The round is never acknowledged; CheckQuorum steps n1 down within its fresh window.
    net.tick("n1", T);
    assertThat(net.core("n1").role()).isNotEqualTo(Role.LEADER);
    assertThat(net.node("n1").reads)
        .filteredOn(s -> s.context() == 7)
        .containsExactly(new ReadState(7, ReadState.FAILED));
  }

  @Test
  void aWakingLeaderGetsAFullCheckQuorumWindowAndLeasesAgainFromNewRounds() {
    CoreNetwork net = idleGroup();
    quiesce(net);
    net.core("n1").readIndex(1, true);
    net.stabilize();
    // Answered after a fresh round, and the fresh round gives a lease again.
    assertThat(net.node("n1").reads).extracting(ReadState::context).containsExactly(0L, 1L);
    net.core("n1").readIndex(2, true);
    Ready r = net.ready("n1");
    assertThat(r.readStates()).extracting(ReadState::context).containsExactly(2L);
    // Awake with followers answering, CheckQuorum keeps it leader.
    net.tickAll(T);
    assertThat(net.core("n1").role()).isEqualTo(Role.LEADER);
  }

  @Test
  void aHostFailureWakesOnlyTheMembersThatDependOnThatHost() {
    CoreNetwork net = idleGroup();
    quiesce(net);
    net.core("n2").hostDown("n3"); // a fellow follower: n2 does not depend on it
    assertThat(net.core("n2").quiesced()).isTrue();
    net.core("n2").hostDown("n1"); // its leader
    assertThat(net.core("n2").quiesced()).isFalse();
    net.core("n1").hostDown("n3"); // the leader's follower
    assertThat(net.core("n1").quiesced()).isFalse();
    net.core("n3").hostDown("n2");
    assertThat(net.core("n3").quiesced()).isTrue();
  }

  @Test
  void aWokenFollowerWaitsOutItsTimerBeforeItCampaigns() {
    CoreNetwork net = idleGroup();
    quiesce(net);
    net.isolate("n1");
    net.core("n2").hostDown("n1");
    int ticks = 0;
    while (net.core("n2").role() == Role.FOLLOWER && ticks < 4 * T) {
      net.core("n2").tick();
      net.ready("n2");
      ticks++;
    }
    assertThat(net.core("n2").role()).isIn(Role.PRE_CANDIDATE, Role.CANDIDATE);
    // It had heard its leader at most a heartbeat interval before it quiesced.
    assertThat(ticks).isGreaterThanOrEqualTo(T - H).isLessThanOrEqualTo(2 * T);
    // The quiesced n3 still believes in n1 and wakes on n2's request without granting it.
    List<RaftMessage> asks = net.take(m -> m instanceof RequestVote && m.to().equals("n3"));
    assertThat(asks).hasSize(1);
    net.deliver(asks.get(0));
    assertThat(net.core("n3").quiesced()).isFalse();
    net.ready("n3");
    assertThat(net.core("n2").role()).isNotEqualTo(Role.LEADER);
  }
}
