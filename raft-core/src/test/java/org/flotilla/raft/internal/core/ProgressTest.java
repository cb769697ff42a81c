package org.flotilla.raft.internal.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/** The leader's per-follower flow control (thesis §4.2.1, §10.2.2) alone. */
@DisplayName("§5.3 / thesis §10.2 Follower progress")
class ProgressTest {

  private static Progress replicating(long match, int window) {
    Progress p = new Progress("n2", match + 1, window, 0);
    p.maybeUpdate(match, 0);
    p.becomeReplicate();
    return p;
  }

  /** A probing leader sends one AppendEntries and waits for its answer. */
  @Test
  void probeSendsOneMessageAtATime() {
    Progress p = new Progress("n2", 5, 4, 0);
    assertThat(p.state()).isEqualTo(Progress.State.PROBE);
    assertThat(p.canSend()).isTrue();
    p.sent(6, true, 0);
    assertThat(p.canSend()).isFalse();
    assertThat(p.next()).isEqualTo(5);
    p.resumeProbe();
    assertThat(p.canSend()).isTrue();
  }

  /** Pipelining stops at the window and resumes as acknowledgements free slots. */
  @Test
  void replicateWindowFillsAndFrees() {
    Progress p = replicating(4, 2);
    assertThat(p.next()).isEqualTo(5);
    p.sent(6, true, 1);
    p.sent(8, true, 1);
    assertThat(p.next()).isEqualTo(9);
    assertThat(p.inflightCount()).isEqualTo(2);
    assertThat(p.canSend()).isFalse();
    assertThat(p.maybeUpdate(6, 2)).isTrue();
    assertThat(p.inflightCount()).isEqualTo(1);
    assertThat(p.canSend()).isTrue();
    assertThat(p.match()).isEqualTo(6);
    assertThat(p.lastProgressTick()).isEqualTo(2);
    assertThat(p.maybeUpdate(8, 3)).isTrue();
    assertThat(p.inflightCount()).isZero();
  }

  /** A heartbeat-only send (no entries) does not use the window or move next. */
  @Test
  void emptySendUsesNoWindow() {
    Progress p = replicating(4, 1);
    p.sent(4, false, 1);
    assertThat(p.inflightCount()).isZero();
    assertThat(p.next()).isEqualTo(5);
    assertThat(p.canSend()).isTrue();
  }

  /** Old or duplicate acknowledgements change nothing. */
  @Test
  void staleAcknowledgementDoesNotMoveMatchBack() {
    Progress p = replicating(4, 8);
    p.sent(7, true, 0);
    assertThat(p.maybeUpdate(3, 5)).isFalse();
    assertThat(p.maybeUpdate(4, 5)).isFalse();
    assertThat(p.match()).isEqualTo(4);
    assertThat(p.next()).isEqualTo(8);
    assertThat(p.lastProgressTick()).isZero();
    assertThat(p.inflightCount()).isEqualTo(1);
    assertThat(p.maybeUpdate(7, 5)).isTrue();
    assertThat(p.next()).isEqualTo(8);
    assertThat(p.inflightCount()).isZero();
  }

  /** A probe rejection never moves next to or below match. */
  @Test
  void probeRejectionStaysAboveMatch() {
    Progress p = new Progress("n2", 10, 4, 0);
    p.maybeUpdate(5, 0);
    p.sent(12, true, 0);
    assertThat(p.maybeDecrement(9, 2)).isTrue();
    assertThat(p.next()).isEqualTo(6);
  }

  /** An acknowledgement of next itself moves next past it. */
  @Test
  void acknowledgementOfNextMovesNextPastIt() {
    Progress p = new Progress("n2", 9, 4, 0);
    p.maybeUpdate(9, 1);
    assertThat(p.next()).isEqualTo(10);
  }

  /** The stall clock starts when the window goes from empty to busy, not on every send. */
  @Test
  void stallClockStartsWithTheFirstMessageInFlight() {
    Progress p = replicating(4, 8);
    p.sent(5, true, 5);
    assertThat(p.lastProgressTick()).isEqualTo(5);
    p.sent(6, true, 7);
    assertThat(p.lastProgressTick()).isEqualTo(5);
  }

  /** An acknowledgement beyond next moves next past it. */
  @Test
  void acknowledgementBeyondNextMovesNext() {
    Progress p = new Progress("n2", 3, 4, 0);
    p.maybeUpdate(9, 1);
    assertThat(p.next()).isEqualTo(10);
    assertThat(p.match()).isEqualTo(9);
  }

  /**
   * §5.3 "After a rejection, the leader decrements nextIndex and retries": a rejection while
   * replicating drops back to probing at the hint, never below match + 1.
   */
  @Test
  void rejectionWhileReplicatingFallsBackToProbeAtTheHint() {
    Progress p = replicating(4, 8);
    p.sent(10, true, 0);
    assertThat(p.maybeDecrement(5, 1)).isTrue();
    assertThat(p.state()).isEqualTo(Progress.State.PROBE);
    assertThat(p.inflightCount()).isZero();
    assertThat(p.next()).isEqualTo(5);
    Progress q = replicating(4, 8);
    q.sent(10, true, 0);
    assertThat(q.maybeDecrement(9, 7)).isTrue();
    assertThat(q.next()).isEqualTo(7);
    Progress r = replicating(4, 8);
    r.sent(10, true, 0);
    assertThat(r.maybeDecrement(6, 9)).isTrue();
    assertThat(r.next()).isEqualTo(6);
  }

  /**
   * A rejection at or below match means the follower lost entries it acknowledged (a lost disk
   * write found at restart) or is older than its acknowledgements: match drops to what the follower
   * still holds and replication probes from there, so the lost entries are sent again. Before this
   * rule a follower that lost its last durable record was never repaired (issue 14, finding 3).
   */
  @Test
  void rejectionAtOrBelowMatchLowersMatchAndProbesFromTheFollowersEnd() {
    Progress p = replicating(4, 8);
    p.sent(10, true, 0);
    assertThat(p.maybeDecrement(4, 3)).isTrue();
    assertThat(p.match()).isEqualTo(2);
    assertThat(p.state()).isEqualTo(Progress.State.PROBE);
    assertThat(p.next()).isEqualTo(3);
    assertThat(p.inflightCount()).isZero();
    // while probing at match, the follower's answer that it ends before match moves both back
    Progress q = replicating(4, 8);
    q.becomeProbe();
    assertThat(q.next()).isEqualTo(5);
    q.sent(4, false, 0);
    assertThat(q.maybeDecrement(4, 4)).isTrue();
    assertThat(q.match()).isEqualTo(3);
    assertThat(q.next()).isEqualTo(4);
    assertThat(q.canSend()).isTrue();
  }

  /** While probing only the answer to the probe in flight counts. */
  @Test
  void probeCountsOnlyTheAnswerToItsProbe() {
    Progress p = new Progress("n2", 10, 4, 0);
    p.sent(12, true, 0);
    assertThat(p.maybeDecrement(5, 3)).isFalse();
    assertThat(p.canSend()).isFalse();
    assertThat(p.maybeDecrement(9, 4)).isTrue();
    assertThat(p.next()).isEqualTo(4);
    assertThat(p.canSend()).isTrue();
    p.sent(5, true, 0);
    assertThat(p.maybeDecrement(3, 99)).isTrue();
    assertThat(p.next()).isEqualTo(3);
  }

  /** A snapshot in flight ignores rejections and ends in a probe after it. */
  @Test
  void snapshotStateIgnoresRejectionsAndProbesAfterTheSnapshot() {
    Progress p = replicating(2, 8);
    p.sent(5, true, 0);
    p.becomeSnapshot(20, 7);
    assertThat(p.inflightCount()).isZero();
    assertThat(p.canSend()).isFalse();
    assertThat(p.pendingSnapshot()).isEqualTo(20);
    assertThat(p.lastProgressTick()).isEqualTo(7);
    assertThat(p.maybeDecrement(10, 1)).isFalse();
    p.snapshotProgress(9);
    assertThat(p.lastProgressTick()).isEqualTo(9);
    assertThatThrownBy(() -> p.sent(3, true, 0)).isInstanceOf(IllegalStateException.class);
    p.becomeProbe();
    assertThat(p.state()).isEqualTo(Progress.State.PROBE);
    assertThat(p.next()).isEqualTo(21);
    assertThat(p.pendingSnapshot()).isZero();
  }

  /** After a snapshot the probe starts past whichever is later: match or the snapshot. */
  @Test
  void probeAfterSnapshotStartsPastMatchIfLater() {
    Progress p = new Progress("n2", 3, 4, 0);
    p.becomeSnapshot(5, 0);
    p.maybeUpdate(8, 1);
    p.becomeProbe();
    assertThat(p.next()).isEqualTo(9);
  }

  /** Leaving replicate or probe empties the window. */
  @Test
  void stateChangesEmptyTheWindow() {
    Progress p = replicating(1, 4);
    p.sent(3, true, 0);
    p.becomeProbe();
    assertThat(p.inflightCount()).isZero();
    assertThat(p.next()).isEqualTo(2);
    p.sent(3, true, 0);
    p.becomeReplicate();
    assertThat(p.canSend()).isTrue();
    p.sent(3, true, 0);
    assertThat(p.inflightCount()).isEqualTo(1);
    p.becomeReplicate();
    assertThat(p.inflightCount()).isZero();
  }

  /** Heartbeat rounds and lease ticks only move forward. */
  @Test
  void roundsAndLeaseTicksOnlyMoveForward() {
    Progress p = new Progress("n2", 1, 4, 0);
    assertThat(p.leaseTick()).isEqualTo(Long.MIN_VALUE);
    p.ackRound(5, 50);
    p.ackRound(3, 30);
    assertThat(p.ackedRound()).isEqualTo(5);
    assertThat(p.leaseTick()).isEqualTo(50);
    p.ackRound(6, 60);
    assertThat(p.ackedRound()).isEqualTo(6);
    assertThat(p.leaseTick()).isEqualTo(60);
    assertThat(p.toString()).contains("n2").contains("PROBE");
    assertThat(p.id()).isEqualTo("n2");
  }
}
