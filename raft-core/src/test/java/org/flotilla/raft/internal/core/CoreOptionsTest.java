package org.flotilla.raft.internal.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

/** {@link CoreOptions} refuses bad values with a message that names the setting and the value. */
class CoreOptionsTest {

  private static CoreOptions options(
      int election, int heartbeat, int drift, int inflight, int msgBytes, int apply, int maxUnc) {
    return new CoreOptions(
        election, heartbeat, true, true, drift, inflight, msgBytes, apply, maxUnc);
  }

  /** The documented defaults: T = 10 ticks, heartbeat every tick, pre-vote and check-quorum on. */
  @Test
  void defaultsAreValidAndAsDocumented() {
    CoreOptions d = CoreOptions.DEFAULTS;
    assertThat(d.electionTimeoutTicks()).isEqualTo(10);
    assertThat(d.heartbeatTicks()).isEqualTo(1);
    assertThat(d.preVote()).isTrue();
    assertThat(d.checkQuorum()).isTrue();
  }

  /** The boundaries of each range are accepted: a drift of 0 and of T - 1, limits of 1. */
  @Test
  void smallestValidValuesAreAccepted() {
    CoreOptions o = options(2, 1, 0, 1, 1, 1, 1);
    assertThat(o.leaseDriftTicks()).isZero();
    assertThat(options(2, 1, 1, 1, 1, 1, 1).leaseDriftTicks()).isEqualTo(1);
  }

  /** "heartbeatTicks must be >= 1", naming the bad value. */
  @Test
  void heartbeatBelowOneIsRejected() {
    assertThatThrownBy(() -> options(10, 0, 2, 1, 1, 1, 1))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("heartbeatTicks")
        .hasMessageContaining("0");
  }

  /**
   * The election timeout must exceed the heartbeat interval (thesis §3.4: broadcastTime <<
   * electionTimeout).
   */
  @Test
  void electionTimeoutNotAboveHeartbeatIsRejected() {
    assertThatThrownBy(() -> options(3, 3, 0, 1, 1, 1, 1))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("electionTimeoutTicks (3)")
        .hasMessageContaining("heartbeatTicks (3)");
  }

  /**
   * The lease drift margin must be in [0, T): a lease of no ticks or negative ticks is meaningless.
   */
  @Test
  void leaseDriftOutsideTheElectionTimeoutIsRejected() {
    assertThatThrownBy(() -> options(10, 1, -1, 1, 1, 1, 1))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("leaseDriftTicks")
        .hasMessageContaining("-1");
    assertThatThrownBy(() -> options(10, 1, 10, 1, 1, 1, 1))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("leaseDriftTicks")
        .hasMessageContaining("10");
  }

  /** Every flow-control limit must allow at least one message, byte or entry. */
  @Test
  void flowControlLimitsBelowOneAreRejected() {
    assertThatThrownBy(() -> options(10, 1, 2, 0, 1, 1, 1))
        .hasMessageContaining("maxInflightMessages")
        .hasMessageContaining("0");
    assertThatThrownBy(() -> options(10, 1, 2, 1, 0, 1, 1))
        .hasMessageContaining("maxMessageBytes")
        .hasMessageContaining("0");
    assertThatThrownBy(() -> options(10, 1, 2, 1, 1, -7, 1))
        .hasMessageContaining("maxApplyBytes")
        .hasMessageContaining("-7");
    assertThatThrownBy(() -> options(10, 1, 2, 1, 1, 1, 0))
        .hasMessageContaining("maxUncommittedEntries")
        .hasMessageContaining("0");
  }

  /** The with* copies change only their own settings (and keep the drift below the timeout). */
  @Test
  void copiesChangeOnlyWhatTheySay() {
    CoreOptions d = CoreOptions.DEFAULTS;
    CoreOptions t = d.withTimeouts(2, 1);
    assertThat(t.electionTimeoutTicks()).isEqualTo(2);
    assertThat(t.heartbeatTicks()).isEqualTo(1);
    assertThat(t.leaseDriftTicks()).isEqualTo(1);
    assertThat(t.maxInflightMessages()).isEqualTo(d.maxInflightMessages());
    assertThat(d.withTimeouts(20, 2).leaseDriftTicks()).isEqualTo(d.leaseDriftTicks());
    CoreOptions p = d.withPreVoteAndCheckQuorum(false, true);
    assertThat(p.preVote()).isFalse();
    assertThat(p.checkQuorum()).isTrue();
    assertThat(p.electionTimeoutTicks()).isEqualTo(d.electionTimeoutTicks());
    CoreOptions f = d.withFlowControl(3, 99);
    assertThat(f.maxInflightMessages()).isEqualTo(3);
    assertThat(f.maxMessageBytes()).isEqualTo(99);
    assertThat(f.maxApplyBytes()).isEqualTo(d.maxApplyBytes());
    assertThat(f.maxUncommittedEntries()).isEqualTo(d.maxUncommittedEntries());
  }
}
