package org.flotilla.raft.internal.runtime;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.flotilla.raft.internal.runtime.Sessions.Status;
import org.flotilla.raft.message.CommandEnvelope;
import org.junit.jupiter.api.Test;

class SessionsTest {

  private static final long TIMEOUT = 60_000;

  private final List<String> applied = new ArrayList<>();

  private Sessions.Outcome apply(Sessions s, String client, long seq, long time, String cmd) {
    ByteBuffer payload =
        CommandEnvelope.encode(client, seq, ByteBuffer.wrap(cmd.getBytes(StandardCharsets.UTF_8)));
    payload.putLong(CommandEnvelope.TIMESTAMP_OFFSET, time);
    return s.apply(
        CommandEnvelope.decode(payload),
        c -> {
          String text = StandardCharsets.UTF_8.decode(c).toString();
          applied.add(text);
          return ByteBuffer.wrap(("r:" + text).getBytes(StandardCharsets.UTF_8));
        });
  }

  private static String text(ByteBuffer b) {
    return StandardCharsets.UTF_8.decode(b.duplicate()).toString();
  }

  @Test
  void aRetryGetsTheFirstResultAndIsNotAppliedAgain() {
    Sessions s = new Sessions(TIMEOUT, 10);
    assertThat(apply(s, "c", 1, 0, "a").status()).isEqualTo(Status.APPLIED);
    Sessions.Outcome retry = apply(s, "c", 1, 5, "a");
    assertThat(retry.status()).isEqualTo(Status.DUPLICATE);
    assertThat(text(retry.result())).isEqualTo("r:a");
    assertThat(apply(s, "c", 2, 6, "b").status()).isEqualTo(Status.APPLIED);
    assertThat(apply(s, "c", 1, 7, "a").status()).isEqualTo(Status.SUPERSEDED);
    assertThat(applied).containsExactly("a", "b");
  }

  @Test
  void aSessionOpensOnlyWithSequenceOne() {
    Sessions s = new Sessions(TIMEOUT, 10);
    assertThat(apply(s, "c", 5, 0, "x").status()).isEqualTo(Status.NO_SESSION);
    assertThat(applied).isEmpty();
    assertThat(apply(s, "c", 1, 0, "y").status()).isEqualTo(Status.APPLIED);
  }

  @Test
  void aRetryAfterTheSessionExpiredIsRefusedNotAppliedTwice() {
    Sessions s = new Sessions(TIMEOUT, 10);
    apply(s, "c", 1, 0, "a");
    apply(s, "c", 2, 1_000, "b");
    // Another client's command moves log time past c's timeout.
    apply(s, "other", 1, 1_000 + TIMEOUT + 1, "o");
    assertThat(s.size()).isEqualTo(1);
    assertThat(apply(s, "c", 2, 1_000 + TIMEOUT + 2, "b").status()).isEqualTo(Status.NO_SESSION);
    assertThat(apply(s, "c", 3, 1_000 + TIMEOUT + 3, "c").status()).isEqualTo(Status.NO_SESSION);
    assertThat(applied).containsExactly("a", "b", "o");
  }

  @Test
  void aSessionUsedWithinTheTimeoutStays() {
    Sessions s = new Sessions(TIMEOUT, 10);
    apply(s, "c", 1, 0, "a");
    apply(s, "c", 2, TIMEOUT - 1, "b");
    apply(s, "other", 1, 2 * TIMEOUT - 2, "o");
    assertThat(apply(s, "c", 2, 2 * TIMEOUT - 1, "b").status()).isEqualTo(Status.DUPLICATE);
  }

  @Test
  void logTimeNeverGoesBackwards() {
    Sessions s = new Sessions(TIMEOUT, 10);
    apply(s, null, 0, 5_000, "a");
    apply(s, null, 0, 10, "b");
    assertThat(s.logTime()).isEqualTo(5_000);
  }

  @Test
  void aFullTableRefusesNewSessionsAndNeverForgetsALiveOne() {
    Sessions s = new Sessions(TIMEOUT, 2);
    apply(s, "a", 1, 0, "a1");
    apply(s, "b", 1, 0, "b1");
    assertThat(apply(s, "c", 1, 0, "c1").status()).isEqualTo(Status.SESSIONS_FULL);
    assertThat(s.size()).isEqualTo(2);
    // Found by the runtime simulator (seed 70): with least-recently-used eviction, "a" was
    // forgotten to make room, and the retry of its first command opened it again and applied a1
    // twice.
    assertThat(apply(s, "a", 1, 0, "a1").status()).isEqualTo(Status.DUPLICATE);
    assertThat(apply(s, "b", 1, 0, "b1").status()).isEqualTo(Status.DUPLICATE);
    assertThat(applied).containsExactly("a1", "b1");
    // once a session (a, last used at 0) expires, there is room again; b has not expired
    apply(s, "b", 2, TIMEOUT / 2, "b2");
    assertThat(apply(s, "c", 1, TIMEOUT + 1, "c1").status()).isEqualTo(Status.APPLIED);
    assertThat(apply(s, "a", 2, TIMEOUT + 1, "a2").status()).isEqualTo(Status.NO_SESSION);
    assertThat(apply(s, "b", 2, TIMEOUT + 1, "b2").status()).isEqualTo(Status.DUPLICATE);
  }

  @Test
  void theTableSurvivesASnapshotRoundTrip() throws IOException {
    Sessions s = new Sessions(TIMEOUT, 10);
    apply(s, "a", 1, 100, "a1");
    apply(s, "b", 1, 200, "b1");
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    try (DataOutputStream out = new DataOutputStream(bytes)) {
      s.copy().writeTo(out);
    }
    Sessions restored = new Sessions(TIMEOUT, 10);
    restored.readFrom(new DataInputStream(new ByteArrayInputStream(bytes.toByteArray())));
    assertThat(restored.size()).isEqualTo(2);
    assertThat(restored.logTime()).isEqualTo(200);
    Sessions.Outcome retry = apply(restored, "a", 1, 300, "a1");
    assertThat(retry.status()).isEqualTo(Status.DUPLICATE);
    assertThat(text(retry.result())).isEqualTo("r:a1");
    assertThat(applied).containsExactly("a1", "b1");
  }
}
