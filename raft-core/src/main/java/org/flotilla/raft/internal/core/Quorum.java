package org.flotilla.raft.internal.core;

import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.function.ToLongFunction;
import org.flotilla.raft.cluster.Configuration;
import org.flotilla.raft.cluster.Member;

/**
 * Quorum arithmetic for simple and joint configurations (Raft §5.2, §6).
 *
 * <p>A simple configuration decides by a majority of its voters; a joint configuration
 * (C<sub>old,new</sub>) needs a majority of each half. Learners never count.
 */
public final class Quorum {

  /** The outcome of an election so far. */
  public enum VoteResult {
    /** A quorum granted. */
    WON,
    /** A quorum can no longer grant. */
    LOST,
    /** Undecided. */
    PENDING
  }

  private Quorum() {}

  /**
   * Returns the largest value that a quorum of the configuration has reached: for match indexes,
   * the highest index stored on a quorum.
   *
   * @param config the configuration
   * @param value each voter's value
   * @return the quorum value; for a joint configuration the smaller of the two halves' values
   */
  public static long committedValue(Configuration config, ToLongFunction<String> value) {
    long incoming = majorityValue(config.voters(), value);
    if (!config.isJoint()) {
      return incoming;
    }
    return Math.min(incoming, majorityValue(config.outgoing(), value));
  }

  /**
   * Returns the largest value that a majority of {@code voters} has reached.
   *
   * @param voters the voters
   * @param value each voter's value
   * @return the value; {@link Long#MIN_VALUE} for no voters (the {@linkplain Configuration#EMPTY
   *     empty configuration}), which has no majority and so reaches nothing
   */
  static long majorityValue(List<Member> voters, ToLongFunction<String> value) {
    int n = voters.size();
    if (n == 0) {
      return Long.MIN_VALUE;
    }
    long[] values = new long[n];
    for (int i = 0; i < n; i++) {
      values[i] = value.applyAsLong(voters.get(i).id());
    }
    Arrays.sort(values);
    // Sorted ascending, the value at n - (n/2 + 1) is reached by n/2 + 1 voters: a majority.
    return values[n - (n / 2 + 1)];
  }

  /**
   * Tallies votes for a configuration.
   *
   * @param config the configuration
   * @param votes the answers so far: true for granted, false for rejected
   * @return the result; for a joint configuration both halves must be won
   */
  public static VoteResult voteResult(Configuration config, Map<String, Boolean> votes) {
    VoteResult incoming = majorityVote(config.voters(), votes);
    if (!config.isJoint()) {
      return incoming;
    }
    VoteResult outgoing = majorityVote(config.outgoing(), votes);
    if (incoming == VoteResult.LOST || outgoing == VoteResult.LOST) {
      return VoteResult.LOST;
    }
    if (incoming == VoteResult.WON && outgoing == VoteResult.WON) {
      return VoteResult.WON;
    }
    return VoteResult.PENDING;
  }

  static VoteResult majorityVote(List<Member> voters, Map<String, Boolean> votes) {
    int granted = 0;
    int rejected = 0;
    for (Member m : voters) {
      Boolean v = votes.get(m.id());
      if (v == null) {
        continue;
      }
      if (v) {
        granted++;
      } else {
        rejected++;
      }
    }
    int quorum = voters.size() / 2 + 1;
    if (granted >= quorum) {
      return VoteResult.WON;
    }
    if (voters.size() - rejected < quorum) {
      return VoteResult.LOST;
    }
    return VoteResult.PENDING;
  }
}
