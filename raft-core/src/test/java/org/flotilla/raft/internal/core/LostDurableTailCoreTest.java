package org.flotilla.raft.internal.core;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.SplittableRandom;
import org.flotilla.raft.memory.MemoryLogStore;
import org.flotilla.raft.message.AppendEntriesResponse;
import org.flotilla.raft.message.Heartbeat;
import org.flotilla.raft.message.RequestVote;
import org.flotilla.raft.message.RequestVoteResponse;
import org.flotilla.raft.spi.DurableMark;
import org.flotilla.raft.spi.HardState;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * A member whose disk lost entries it had reported durable (Protocol-Aware Recovery, Alagappan et
 * al., FAST 2018): it must not vote on a log it no longer has, and the leader must repair it.
 */
@DisplayName("Protocol-aware recovery of a lost durable tail")
class LostDurableTailCoreTest {

  private final MemoryLogStore store = new MemoryLogStore(MemoryLogStore.Durability.MANUAL);

  /** n2 held entries 1..5 of term 1 durably, then lost 4 and 5 in a crash. */
  private RaftCore damaged() {
    store.append(RaftPaperTest.append("n1", "n2", 1, 0, 0, 0, 1, 1, 1, 1, 1).entries());
    store.syncAll();
    assertThat(store.loseDurableTail(2)).isEqualTo(2);
    RaftCore core =
        new RaftCore(
            "n2",
            CoreOptions.DEFAULTS,
            CoreNetwork.config(3),
            store,
            new HardState(1, "n1"),
            null,
            new SplittableRandom(7));
    assertThat(core.durableMark()).isEqualTo(new DurableMark(5, 1));
    assertThat(core.lastIndex()).isEqualTo(3);
    return core;
  }

  /** It never campaigns while its log does not cover what it may have acknowledged. */
  @Test
  void aMemberThatLostItsTailDoesNotCampaign() {
    RaftCore n2 = damaged();
    assertThat(n2.awaitingRepair()).isTrue();
    for (int i = 0; i < 20 * CoreOptions.DEFAULTS.electionTimeoutTicks(); i++) {
      n2.tick();
    }
    assertThat(RaftPaperTest.of(n2.ready(), RequestVote.class)).isEmpty();
  }

  /**
   * It votes as if it still held the lost entries: not for a candidate whose log is as long as its
   * shortened one (that candidate may lack an entry committed with its acknowledgement), but for
   * one whose log covers the mark.
   */
  @Test
  void itVotesOnlyForLogsThatCoverItsMark() {
    RaftCore n2 = damaged();
    passTheRestartLease(n2);
    n2.step(new RequestVote("n3", "n2", 2, 3, 1, false, false));
    assertThat(RaftPaperTest.of(n2.ready(), RequestVoteResponse.class))
        .singleElement()
        .satisfies(v -> assertThat(v.granted()).isFalse());
    RaftCore again = new LostDurableTailCoreTest().damaged();
    passTheRestartLease(again);
    again.step(new RequestVote("n1", "n2", 2, 5, 1, false, false));
    assertThat(RaftPaperTest.of(again.ready(), RequestVoteResponse.class))
        .singleElement()
        .satisfies(v -> assertThat(v.granted()).isTrue());
  }

  /**
   * A heartbeat whose commit index (the leader's min(commit, match)) is beyond its log makes it say
   * where its log ends; once the leader re-sends the lost entries it votes and campaigns again.
   */
  @Test
  void theLeaderLearnsAtTheNextHeartbeatAndItsEntriesRepairIt() {
    RaftCore n2 = damaged();
    n2.step(new Heartbeat("n1", "n2", 1, 5, 1));
    assertThat(RaftPaperTest.of(n2.ready(), AppendEntriesResponse.class))
        .singleElement()
        .satisfies(
            r -> {
              assertThat(r.success()).isFalse();
              assertThat(r.rejectedIndex()).isEqualTo(5);
              assertThat(r.conflictIndex()).isEqualTo(3);
            });
    n2.step(RaftPaperTest.append("n1", "n2", 1, 3, 1, 5, 1, 1));
    store.append(n2.ready().entries());
    assertThat(n2.awaitingRepair()).isFalse();
  }

  /** A restarted member ignores votes for one election timeout (it may have promised a lease). */
  private static void passTheRestartLease(RaftCore core) {
    for (int i = 0; i <= CoreOptions.DEFAULTS.electionTimeoutTicks(); i++) {
      core.tick();
    }
    core.ready();
  }
}
