package org.flotilla.raft.internal.core;

/**
 * Test-only switches that re-introduce known Raft bugs into the protocol core, so that the
 * deterministic simulator can prove it catches them (the bug catalogue in docs/testing.md).
 *
 * <p>Never set outside tests: every field is false in production, and the correct code path is the
 * one taken then. Tests set them through {@code CoreMutants} in the test sources and reset them in
 * a {@code finally}. The fields are plain statics, not volatile: the simulator runs on one thread
 * and the tests that set them run one after another in one JVM.
 */
final class Mutations {

  /**
   * A follower acknowledges entries it has appended but not yet made durable: its AppendEntries
   * response carries the appended index instead of the durable one. Breaks Figure 2's rule that a
   * follower answers only once the entries are on stable storage (§5.3, thesis §3.8: a leader may
   * count a copy a crash then loses).
   */
  static boolean ACK_BEFORE_DURABLE;

  /**
   * A leader commits an entry of an older term by counting its replicas (the Figure 8 bug). Breaks
   * §5.4.2: "Raft never commits log entries from previous terms by counting replicas."
   */
  static boolean COMMIT_OLDER_TERM;

  /**
   * A vote is granted without the election restriction's log comparison. Breaks §5.4.1: vote only
   * for a candidate whose log is at least as up to date as the voter's.
   */
  static boolean VOTE_WITHOUT_LOG_CHECK;

  /**
   * The vote is left out of the hard state handed to the driver, so a member that crashes after
   * voting forgets its vote and may vote again in the same term. Breaks Figure 2: votedFor is
   * persistent state, saved before the member answers (§5.2, at most one vote per term).
   */
  static boolean VOTE_NOT_PERSISTED;

  /**
   * A leader answers a ReadIndex request with its commit index at once, without the heartbeat round
   * that confirms it still leads. Breaks thesis §6.4 step 3; a deposed leader serves stale reads.
   */
  static boolean READ_INDEX_WITHOUT_ROUND;

  /**
   * A leader treats its lease as valid whenever check-quorum is on, without a quorum-acknowledged
   * heartbeat round within the lease period. Breaks thesis §6.4.1: the lease must start from a
   * heartbeat round that a quorum acknowledged.
   */
  static boolean LEASE_WITHOUT_QUORUM;

  /**
   * A follower appends only the entries beyond its last index and keeps existing entries that
   * conflict with the leader's. Breaks §5.3: "If an existing entry conflicts with a new one (same
   * index but different terms), delete the existing entry and all that follow it."
   */
  static boolean KEEP_CONFLICTING_ENTRIES;

  /**
   * A follower truncates its log at the first entry of every AppendEntries, even where its entries
   * match the leader's, so a stale (delayed) AppendEntries drops entries it already acknowledged.
   * Breaks §5.3, which truncates only at a conflict (and thesis §3.5's note on stale messages).
   */
  static boolean TRUNCATE_MATCHING_ENTRIES;

  /**
   * A follower installs a snapshot that its log already covers (a stale or duplicated
   * InstallSnapshot), resetting its log, commit and applied index to it. Breaks §7: a snapshot
   * describing a prefix of the log must keep the entries that follow it, and a committed entry is
   * never undone.
   */
  static boolean STALE_SNAPSHOT_INSTALLED;

  /**
   * A member uses a configuration only once it knows it committed, instead of as soon as it is in
   * its log. Breaks §6 and thesis §4.1: "a server always uses the latest configuration in its log,
   * regardless of whether the entry is committed."
   */
  static boolean CONFIG_WHEN_COMMITTED;

  /**
   * A leader accepts a membership change while another is still uncommitted or a joint
   * configuration is in force. Breaks thesis §4.1 (one change at a time) and §6 (a new change only
   * after C<sub>new</sub> commits).
   */
  static boolean TWO_CHANGES_IN_FLIGHT;

  /**
   * The log hands out for applying every persisted entry, committed or not. Breaks Figure 2: apply
   * only entries up to commitIndex (§5.3, state machine safety §5.4.3).
   */
  static boolean APPLY_BEFORE_COMMIT;

  /**
   * A follower sets its commit index to the leader's commit bounded by its own last index, not by
   * the last entry the AppendEntries verified, so it commits stale entries beyond the matching
   * prefix. Breaks Figure 2: "set commitIndex = min(leaderCommit, index of last new entry)".
   */
  static boolean COMMIT_BEYOND_MATCH;

  /**
   * A leader or candidate that sees a higher term adopts it but keeps its role. Breaks §5.1: "If a
   * candidate or leader discovers that its term is out of date, it immediately reverts to follower
   * state."
   */
  static boolean NO_STEP_DOWN_ON_HIGHER_TERM;

  private Mutations() {}
}
