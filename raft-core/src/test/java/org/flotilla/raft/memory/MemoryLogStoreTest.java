package org.flotilla.raft.memory;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import org.flotilla.raft.message.LogEntry;
import org.flotilla.raft.spi.StorageException;
import org.flotilla.raft.testkit.RecordingListener;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The manual durability, crash and failure controls of {@link MemoryLogStore}. */
class MemoryLogStoreTest {

  private final MemoryLogStore store = new MemoryLogStore(MemoryLogStore.Durability.MANUAL);
  private final RecordingListener listener = new RecordingListener();

  @BeforeEach
  void setUp() {
    store.setListener(listener);
  }

  private static List<LogEntry> noops(long from, long to, long term) {
    List<LogEntry> list = new ArrayList<>();
    for (long i = from; i <= to; i++) {
      list.add(LogEntry.noop(i, term));
    }
    return list;
  }

  @Test
  void manualModeReportsNothingUntilSynced() {
    store.append(noops(1, 5, 1));
    assertThat(listener.reports()).isEmpty();
    assertThat(store.durableIndex()).isZero();
    store.syncTo(3);
    assertThat(listener.reports()).containsExactly(new RecordingListener.Report(3, 1));
    store.syncAll();
    assertThat(listener.last()).isEqualTo(new RecordingListener.Report(5, 1));
    store.syncAll();
    assertThat(listener.reports()).hasSize(2);
    assertThat(store.syncCount()).isEqualTo(2);
  }

  @Test
  void immediateModeReportsSynchronously() {
    MemoryLogStore immediate = new MemoryLogStore();
    RecordingListener l = new RecordingListener();
    immediate.setListener(l);
    immediate.append(noops(1, 2, 1));
    assertThat(l.last()).isEqualTo(new RecordingListener.Report(2, 1));
    assertThat(immediate.durableIndex()).isEqualTo(2);
  }

  @Test
  void crashDropsEntriesThatWereNeverSynced() {
    store.append(noops(1, 5, 1));
    store.syncTo(2);
    store.append(noops(6, 8, 1));
    store.crash();
    assertThat(store.lastIndex()).isEqualTo(2);
    assertThat(store.term(3)).isEqualTo(-1);
    store.append(noops(3, 3, 2));
    assertThat(store.term(3)).isEqualTo(2);
  }

  @Test
  void truncationLowersTheDurableIndexUntilTheReplacementIsSynced() {
    store.append(noops(1, 5, 1));
    store.syncAll();
    store.append(noops(3, 4, 2));
    assertThat(store.durableIndex()).isEqualTo(2);
    store.crash();
    assertThat(store.lastIndex()).isEqualTo(2);
    assertThat(listener.reports()).containsExactly(new RecordingListener.Report(5, 1));
  }

  @Test
  void syncBeyondTheLogIsRejected() {
    store.append(noops(1, 2, 1));
    assertThatThrownBy(() -> store.syncTo(3)).isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void failureIsReportedAndEveryLaterAppendRejected() {
    store.append(noops(1, 2, 1));
    IllegalStateException cause = new IllegalStateException("disk on fire");
    store.fail(cause);
    assertThat(listener.failure()).isSameAs(cause);
    assertThat(store.failed()).isTrue();
    assertThatThrownBy(() -> store.append(noops(3, 3, 1)))
        .isInstanceOf(StorageException.class)
        .hasMessageContaining("disk on fire");
    assertThatThrownBy(store::syncAll).isInstanceOf(StorageException.class);
  }

  @Test
  void closedStoreRejectsAppendsUntilReopenedByCrash() {
    store.append(noops(1, 2, 1));
    store.close();
    assertThatThrownBy(() -> store.append(noops(3, 3, 1)))
        .isInstanceOf(IllegalStateException.class);
    store.crash();
    assertThat(store.lastIndex()).isEqualTo(2);
    store.append(noops(3, 3, 1));
    assertThat(store.lastIndex()).isEqualTo(3);
  }
}
