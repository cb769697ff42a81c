package org.flotilla.raft.message;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import java.util.List;
import org.junit.jupiter.api.Test;

class MessageValidationTest {

  @Test
  void appendEntriesRequiresConsecutiveEntriesAfterPrevLogIndex() {
    LogEntry e5 = LogEntry.noop(5, 2);
    LogEntry e7 = LogEntry.noop(7, 2);
    assertThatThrownBy(() -> new AppendEntries("a", "b", 2, 4, 1, 0, List.of(e5, e7)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("not consecutive");
    assertThat(new AppendEntries("a", "b", 2, 4, 1, 0, List.of(e5)).lastIndex()).isEqualTo(5);
  }

  @Test
  void appendEntriesRejectsEntriesFromAFutureTerm() {
    assertThatThrownBy(() -> new AppendEntries("a", "b", 2, 0, 0, 0, List.of(LogEntry.noop(1, 3))))
        .hasMessageContaining("above the message term");
  }

  @Test
  void logEntryPayloadIsReadOnly() {
    LogEntry e = new LogEntry(1, 1, EntryType.COMMAND, ByteBuffer.wrap(new byte[] {1, 2}));
    assertThat(e.payload().isReadOnly()).isTrue();
    assertThat(e.sizeInBytes()).isEqualTo(2 + LogEntry.OVERHEAD_BYTES);
  }

  @Test
  void snapshotChunkMustStayWithinTheSnapshot() {
    assertThatThrownBy(
            () ->
                new InstallSnapshot(
                    "a",
                    "b",
                    1,
                    10,
                    1,
                    org.flotilla.raft.cluster.Configuration.ofVoters(
                        List.of(org.flotilla.raft.cluster.Member.of("a"))),
                    4,
                    0,
                    2,
                    ByteBuffer.allocate(3),
                    false))
        .hasMessageContaining("beyond size");
  }

  @Test
  void headersAreChecked() {
    assertThatThrownBy(() -> new TimeoutNow("", "b", 1)).hasMessageContaining("sender");
    assertThatThrownBy(() -> new Heartbeat("a", "b", -1, 0, 0)).hasMessageContaining("term");
  }
}
