package org.flotilla.raft.cluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import java.util.List;
import org.junit.jupiter.api.Test;

class ConfigurationTest {

  private static final Member A = new Member("a", "127.0.0.1:1", 1);
  private static final Member B = new Member("b", "127.0.0.1:2", 5);
  private static final Member C = Member.of("c");

  @Test
  void encodeDecodeRoundTripsJointConfigurationWithLearners() {
    Configuration joint = new Configuration(List.of(A, B), List.of(A, C), List.of(Member.of("l")));
    assertThat(Configuration.decode(joint.encode())).isEqualTo(joint);
    assertThat(joint.isJoint()).isTrue();
    assertThat(joint.isVoter("c")).isTrue();
    assertThat(joint.isLearner("l")).isTrue();
    assertThat(joint.leaveJoint().isVoter("c")).isFalse();
    assertThat(joint.all()).extracting(Member::id).containsExactly("a", "b", "c", "l");
  }

  @Test
  void thePromotableLearnersRoundTripAndFollowTheLearners() {
    Configuration c =
        Configuration.ofVoters(List.of(A, B))
            .withLearner(Member.of("l1"), true)
            .withLearner(Member.of("l2"), false);
    assertThat(c.promotable()).containsExactly("l1");
    assertThat(Configuration.decode(c.encode())).isEqualTo(c);
    // Without promotable learners the configuration is written in the first format version.
    assertThat(Configuration.ofVoters(List.of(A)).encode().getInt(0)).isEqualTo(1);
    assertThat(c.encode().getInt(0)).isEqualTo(2);
    // Promoting or removing the learner ends the intent.
    Configuration promoted =
        new Configuration(
            List.of(A, B, Member.of("l1")), List.of(), List.of(Member.of("l2")), c.promotable());
    assertThat(promoted.promotable()).isEmpty();
    assertThat(c.leaveJoint().promotable()).containsExactly("l1");
    assertThatThrownBy(() -> c.withLearner(Member.of("l1"), true))
        .hasMessageContaining("already a member");
  }

  @Test
  void rejectsTruncatedOrTrailingBytes() {
    ByteBuffer bytes = Configuration.ofVoters(List.of(A, B)).encode();
    ByteBuffer truncated = bytes.duplicate().limit(bytes.limit() - 1);
    assertThatThrownBy(() -> Configuration.decode(truncated))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("truncated");
    ByteBuffer longer =
        ByteBuffer.allocate(bytes.remaining() + 1).put(bytes.duplicate()).put((byte) 0);
    assertThatThrownBy(() -> Configuration.decode(longer.flip())).hasMessageContaining("trailing");
  }

  /**
   * The empty configuration (a member that joins and has none yet) is the only one without a voter;
   * it encodes like any other, and the factories never make it.
   */
  @Test
  void theEmptyConfigurationRoundTripsAndIsTheOnlyOneWithoutAVoter() {
    assertThat(Configuration.EMPTY.isEmpty()).isTrue();
    assertThat(Configuration.EMPTY.all()).isEmpty();
    assertThat(Configuration.decode(Configuration.EMPTY.encode())).isEqualTo(Configuration.EMPTY);
    assertThat(Configuration.ofVoters(List.of(A)).isEmpty()).isFalse();
    assertThatThrownBy(() -> new Configuration(List.of(), List.of(), List.of(B)))
        .hasMessageContaining("at least one voter");
    assertThatThrownBy(() -> new Configuration(List.of(), List.of(A), List.of()))
        .hasMessageContaining("at least one voter");
    assertThatThrownBy(() -> Configuration.of(List.of(), List.of()))
        .hasMessageContaining("at least one voter");
  }

  @Test
  void rejectsInvalidMembership() {
    assertThatThrownBy(() -> Configuration.ofVoters(List.of()))
        .hasMessageContaining("at least one voter");
    assertThatThrownBy(() -> Configuration.ofVoters(List.of(A, A)))
        .hasMessageContaining("duplicate");
    assertThatThrownBy(() -> Configuration.of(List.of(A), List.of(A)))
        .hasMessageContaining("both a voter and a learner");
    assertThatThrownBy(() -> Member.of("bad id")).hasMessageContaining("member id");
  }
}
