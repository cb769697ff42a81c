package org.flotilla.raft.examples;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import org.junit.jupiter.api.Test;

class KvStateMachineTest {

  private static byte[] b(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  private static byte[] get(KvStateMachine sm, String key) {
    ByteBuffer r = sm.query(KvStateMachine.encodeGet(key));
    return KvStateMachine.decodeFound(r) ? KvStateMachine.decodeValue(r) : null;
  }

  @Test
  void putGetDeleteAndCasFollowTheRegisterSemantics() {
    KvStateMachine sm = new KvStateMachine(Map.of());
    assertThat(get(sm, "k")).isNull();
    sm.apply(1, KvStateMachine.encodePut("k", b("v1")));
    assertThat(get(sm, "k")).isEqualTo(b("v1"));

    ByteBuffer failed = sm.apply(2, KvStateMachine.encodeCas("k", b("other"), b("v2")));
    assertThat(KvStateMachine.decodeFlag(failed)).isFalse();
    assertThat(KvStateMachine.decodeValue(failed)).isEqualTo(b("v1"));
    ByteBuffer swapped = sm.apply(3, KvStateMachine.encodeCas("k", b("v1"), b("v2")));
    assertThat(KvStateMachine.decodeFlag(swapped)).isTrue();
    assertThat(get(sm, "k")).isEqualTo(b("v2"));

    assertThat(KvStateMachine.decodeFlag(sm.apply(4, KvStateMachine.encodeDelete("k")))).isTrue();
    assertThat(KvStateMachine.decodeFlag(sm.apply(5, KvStateMachine.encodeDelete("k")))).isFalse();
    ByteBuffer absentFails = sm.apply(6, KvStateMachine.encodeCas("k", b("v2"), b("v3")));
    assertThat(KvStateMachine.decodeFlag(absentFails)).isFalse();
    assertThat(KvStateMachine.decodeValue(absentFails)).isNull();
    ByteBuffer createIfAbsent = sm.apply(7, KvStateMachine.encodeCas("k", null, b("v4")));
    assertThat(KvStateMachine.decodeFlag(createIfAbsent)).isTrue();
    assertThat(get(sm, "k")).isEqualTo(b("v4"));
  }

  @Test
  void snapshotRestoresDataAndHttpAddressesIntoAnotherMachine() throws IOException {
    KvStateMachine sm = new KvStateMachine(Map.of("n1", "127.0.0.1:8001"));
    sm.apply(1, KvStateMachine.encodePut("a", b("1")));
    sm.apply(2, KvStateMachine.encodePut("b", new byte[0]));
    sm.apply(3, KvStateMachine.encodeSetHttp("n4", "127.0.0.1:8004"));
    var snapshot = sm.snapshot();
    sm.apply(4, KvStateMachine.encodePut("a", b("after the snapshot")));
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    snapshot.writeTo(out);

    KvStateMachine restored = new KvStateMachine(Map.of());
    restored.apply(1, KvStateMachine.encodePut("stale", b("x")));
    restored.restore(1, 1, new ByteArrayInputStream(out.toByteArray()));
    assertThat(get(restored, "a")).isEqualTo(b("1"));
    assertThat(get(restored, "b")).isEmpty();
    assertThat(get(restored, "stale")).isNull();
    assertThat(restored.httpAddresses())
        .containsEntry("n1", "127.0.0.1:8001")
        .containsEntry("n4", "127.0.0.1:8004");
  }

  @Test
  void restoreRefusesBytesThatAreNotASnapshot() {
    KvStateMachine sm = new KvStateMachine(Map.of());
    assertThatThrownBy(() -> sm.restore(1, 1, new ByteArrayInputStream(b("garbage!"))))
        .isInstanceOf(IOException.class)
        .hasMessageContaining("not a key-value snapshot");
    assertThatThrownBy(() -> sm.restore(1, 1, new ByteArrayInputStream(new byte[0])))
        .isInstanceOf(IOException.class);
  }

  @Test
  void keysAreCheckedAndUnknownCommandsStopTheNode() {
    assertThatThrownBy(() -> KvStateMachine.encodePut("", b("v")))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> KvStateMachine.encodeGet("x".repeat(1025)))
        .hasMessageContaining("1 to 1024 bytes");
    KvStateMachine sm = new KvStateMachine(Map.of());
    assertThatThrownBy(() -> sm.apply(9, ByteBuffer.wrap(new byte[] {'Z'})))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("index 9");
  }
}
