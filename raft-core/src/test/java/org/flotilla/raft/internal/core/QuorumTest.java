package org.flotilla.raft.internal.core;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Map;
import org.flotilla.raft.cluster.Configuration;
import org.flotilla.raft.cluster.Member;
import org.flotilla.raft.internal.core.Quorum.VoteResult;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/** Quorum arithmetic alone (§5.2 majorities, §6 joint majorities, learners never count). */
@DisplayName("§5.2 / §6 Quorum arithmetic")
class QuorumTest {

  private static final Configuration THREE = CoreNetwork.config(3);
  private static final Configuration FOUR = CoreNetwork.config(4);
  private static final Configuration JOINT =
      new Configuration(
          List.of(Member.of("n1"), Member.of("n4"), Member.of("n5")),
          List.of(Member.of("n1"), Member.of("n2"), Member.of("n3")),
          List.of(Member.of("n6")));

  private static long value(String id, Map<String, Long> values) {
    return values.getOrDefault(id, 0L);
  }

  /** "A majority of the servers": the value that at least n/2 + 1 voters reached. */
  @Test
  void committedValueIsTheHighestValueAMajorityReached() {
    Map<String, Long> v = Map.of("n1", 5L, "n2", 3L, "n3", 9L);
    assertThat(Quorum.committedValue(THREE, id -> value(id, v))).isEqualTo(5);
    Map<String, Long> w = Map.of("n1", 5L, "n2", 3L, "n3", 9L, "n4", 1L);
    assertThat(Quorum.committedValue(FOUR, id -> value(id, w))).isEqualTo(3);
    assertThat(Quorum.committedValue(CoreNetwork.config(1), id -> 7)).isEqualTo(7);
  }

  /** §6: joint decisions need a majority of both halves: the smaller of the two values. */
  @Test
  void jointValueIsTheSmallerOfTheTwoHalves() {
    Map<String, Long> v = Map.of("n1", 9L, "n2", 9L, "n3", 9L, "n4", 2L, "n5", 1L, "n6", 99L);
    assertThat(Quorum.committedValue(JOINT, id -> value(id, v))).isEqualTo(2);
    Map<String, Long> w = Map.of("n1", 9L, "n4", 9L, "n5", 9L, "n6", 99L);
    assertThat(Quorum.committedValue(JOINT, id -> value(id, w))).isZero();
  }

  /** Learners never count, whatever their values or votes. */
  @Test
  void learnersNeverCount() {
    Configuration c =
        Configuration.of(List.of(Member.of("n1"), Member.of("n2")), List.of(Member.of("n3")));
    Map<String, Long> v = Map.of("n1", 5L, "n3", 5L);
    assertThat(Quorum.committedValue(c, id -> value(id, v))).isZero();
    assertThat(Quorum.voteResult(c, Map.of("n1", true, "n3", true))).isEqualTo(VoteResult.PENDING);
  }

  /**
   * §5.2: "A candidate wins an election if it receives votes from a majority"; it has lost once a
   * majority can no longer grant.
   */
  @Test
  void simpleVotesAreWonLostOrPending() {
    assertThat(Quorum.voteResult(THREE, Map.of("n1", true))).isEqualTo(VoteResult.PENDING);
    assertThat(Quorum.voteResult(THREE, Map.of("n1", true, "n2", true))).isEqualTo(VoteResult.WON);
    assertThat(Quorum.voteResult(THREE, Map.of("n1", true, "n2", false)))
        .isEqualTo(VoteResult.PENDING);
    assertThat(Quorum.voteResult(THREE, Map.of("n2", false, "n3", false)))
        .isEqualTo(VoteResult.LOST);
    assertThat(Quorum.voteResult(FOUR, Map.of("n1", true, "n2", true)))
        .isEqualTo(VoteResult.PENDING);
    assertThat(Quorum.voteResult(FOUR, Map.of("n1", true, "n2", false, "n3", false)))
        .isEqualTo(VoteResult.LOST);
  }

  /** §6: an election in the joint phase is won only with both majorities, lost with either. */
  @Test
  void jointVotesNeedBothHalves() {
    assertThat(Quorum.voteResult(JOINT, Map.of("n1", true, "n2", true)))
        .isEqualTo(VoteResult.PENDING);
    assertThat(Quorum.voteResult(JOINT, Map.of("n1", true, "n2", true, "n4", true)))
        .isEqualTo(VoteResult.WON);
    assertThat(Quorum.voteResult(JOINT, Map.of("n1", true, "n4", true)))
        .isEqualTo(VoteResult.PENDING);
    assertThat(Quorum.voteResult(JOINT, Map.of("n4", false, "n5", false)))
        .isEqualTo(VoteResult.LOST);
    assertThat(Quorum.voteResult(JOINT, Map.of("n2", false, "n3", false, "n4", true)))
        .isEqualTo(VoteResult.LOST);
  }

  /**
   * The empty configuration of a member that joins (it has none of its own yet) has no majority: no
   * election under it is ever won, and no value is ever reached, whatever the votes and values
   * (etcd-raft's convention that the empty configuration wins is exactly what a joining member must
   * not inherit).
   */
  @Test
  void theEmptyConfigurationNeverWinsAndReachesNothing() {
    assertThat(Quorum.voteResult(Configuration.EMPTY, Map.of())).isEqualTo(VoteResult.LOST);
    assertThat(Quorum.voteResult(Configuration.EMPTY, Map.of("n1", true)))
        .isEqualTo(VoteResult.LOST);
    assertThat(Quorum.committedValue(Configuration.EMPTY, id -> Long.MAX_VALUE))
        .isEqualTo(Long.MIN_VALUE);
  }
}
