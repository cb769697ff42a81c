package org.flotilla.raft;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** {@link RaftOptions#toBuilder()} copies every option. */
class RaftOptionsTest {

  /** Every option set to a value other than its default. */
  private static RaftOptions everyOptionChanged() {
    return RaftOptions.builder()
        .tickInterval(Duration.ofMillis(5))
        .electionTimeout(Duration.ofSeconds(2))
        .heartbeatInterval(Duration.ofMillis(200))
        .leaseDriftMargin(Duration.ofMillis(150))
        .preVote(false)
        .checkQuorum(false)
        .maxInflightAppends(64)
        .maxAppendBytes(512 << 10)
        .maxMessageBytes(8 << 20)
        .maxPendingProposals(1_000)
        .maxPendingBytes(32L << 20)
        .maxApplyBatchBytes(2 << 20)
        .snapshotThresholdEntries(5_000)
        .snapshotThresholdBytes(128L << 20)
        .snapshotTrailingEntries(500)
        .snapshotChunkBytes(256 << 10)
        .sessionTimeout(Duration.ofMinutes(5))
        .maxSessions(1_000)
        .forwardToLeader(true)
        .autoPromoteLagEntries(100)
        .inboundQueueCapacity(4_096)
        .build();
  }

  /** The options' accessors: every public no-argument instance method but the Object ones. */
  private static List<Method> accessors() {
    List<Method> accessors = new ArrayList<>();
    for (Method m : RaftOptions.class.getDeclaredMethods()) {
      if (Modifier.isPublic(m.getModifiers())
          && !Modifier.isStatic(m.getModifiers())
          && m.getParameterCount() == 0
          && !List.of("toBuilder", "toString", "hashCode").contains(m.getName())) {
        accessors.add(m);
      }
    }
    return accessors;
  }

  @Test
  void theTestChangesEveryOption() throws ReflectiveOperationException {
    // A new option must be added to everyOptionChanged, or the round trip below cannot see it.
    RaftOptions changed = everyOptionChanged();
    RaftOptions defaults = RaftOptions.defaults();
    assertThat(accessors()).hasSizeGreaterThanOrEqualTo(21);
    for (Method m : accessors()) {
      assertThat(m.invoke(changed)).as(m.getName()).isNotEqualTo(m.invoke(defaults));
    }
  }

  @Test
  void toBuilderCopiesEveryOption() throws ReflectiveOperationException {
    RaftOptions changed = everyOptionChanged();
    RaftOptions copy = changed.toBuilder().build();
    for (Method m : accessors()) {
      assertThat(m.invoke(copy)).as(m.getName()).isEqualTo(m.invoke(changed));
    }
  }
}
