package org.flotilla.raft.internal.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import org.flotilla.raft.memory.MemoryLogStore;
import org.flotilla.raft.message.EntryType;
import org.flotilla.raft.message.LogEntry;
import org.flotilla.raft.spi.SnapshotMeta;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/** The core's log view alone: unstable tail over the store, marks, truncation (§5.3). */
@DisplayName("§5.3 The core's log")
class RaftLogTest {

  /** Entries of 30 bytes each (20 overhead + 10 payload) at indexes from, from + 1, .... */
  static List<LogEntry> entries(long from, long... terms) {
    List<LogEntry> out = new ArrayList<>();
    for (int i = 0; i < terms.length; i++) {
      out.add(new LogEntry(from + i, terms[i], EntryType.COMMAND, ByteBuffer.allocate(10)));
    }
    return out;
  }

  /** A log whose store holds 1..3 of term 1 (durable) and whose unstable tail is 4..5. */
  static RaftLog storedAndUnstable(MemoryLogStore store) {
    store.append(entries(1, 1, 1, 1));
    RaftLog log = new RaftLog(store, 0);
    log.append(entries(4, 2, 2));
    return log;
  }

  /** Unstable entries shadow the store; the term of index 0 is 0 and beyond the end is -1. */
  @Test
  void termsComeFromTheUnstableTailThenTheStore() {
    RaftLog log = storedAndUnstable(new MemoryLogStore());
    assertThat(log.lastIndex()).isEqualTo(5);
    assertThat(log.lastTerm()).isEqualTo(2);
    assertThat(log.term(0)).isZero();
    assertThat(log.term(3)).isEqualTo(1);
    assertThat(log.term(4)).isEqualTo(2);
    assertThat(log.term(6)).isEqualTo(-1);
    assertThat(log.persisted()).isEqualTo(3);
    assertThat(log.firstIndex()).isEqualTo(1);
    assertThat(log.hasUnstable()).isTrue();
  }

  /** Reads span the store and the unstable tail and stop at the byte budget (at least one). */
  @Test
  void entriesSpanStoreAndTailWithinTheBudget() {
    RaftLog log = storedAndUnstable(new MemoryLogStore());
    assertThat(log.entries(2, 6, 1000)).extracting(LogEntry::index).containsExactly(2L, 3L, 4L, 5L);
    assertThat(log.entries(2, 6, 60)).extracting(LogEntry::index).containsExactly(2L, 3L);
    assertThat(log.entries(3, 6, 60)).extracting(LogEntry::index).containsExactly(3L, 4L);
    assertThat(log.entries(4, 6, 59)).extracting(LogEntry::index).containsExactly(4L);
    assertThat(log.entries(4, 6, 60)).extracting(LogEntry::index).containsExactly(4L, 5L);
    assertThat(log.entries(4, 6, 1)).extracting(LogEntry::index).containsExactly(4L);
    assertThat(log.entries(3, 3, 100)).isEmpty();
    assertThat(log.entries(5, 6, 100)).extracting(LogEntry::index).containsExactly(5L);
    assertThatThrownBy(() -> log.entries(0, 2, 100)).isInstanceOf(IndexOutOfBoundsException.class);
    assertThatThrownBy(() -> log.entries(1, 7, 100)).isInstanceOf(IndexOutOfBoundsException.class);
    assertThat(log.entries(1, 6, 100)).hasSize(3);
  }

  /** §5.3 Log Matching: entries attach right after an existing entry, never past the end. */
  @Test
  void appendMustAttachToTheLog() {
    RaftLog log = storedAndUnstable(new MemoryLogStore());
    assertThatThrownBy(() -> log.append(entries(7, 2)))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("do not attach");
    log.append(entries(6, 2));
    assertThat(log.lastIndex()).isEqualTo(6);
    log.append(List.of());
    assertThat(log.lastIndex()).isEqualTo(6);
  }

  /** §7: entries covered by the snapshot cannot be replaced. */
  @Test
  void appendAtOrBelowTheBaseIsRefused() {
    MemoryLogStore store = new MemoryLogStore();
    store.reset(5, 1);
    RaftLog log = new RaftLog(store, 5);
    assertThatThrownBy(() -> log.append(entries(5, 1)))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("do not attach");
    log.append(entries(6, 1));
    assertThat(log.lastIndex()).isEqualTo(6);
    assertThat(log.committed()).isEqualTo(5);
    assertThat(log.applied()).isEqualTo(5);
  }

  /** §5.4 Leader Completeness: truncating a committed entry is a safety violation. */
  @Test
  void truncatingACommittedEntryIsASafetyViolation() {
    RaftLog log = storedAndUnstable(new MemoryLogStore());
    log.commitTo(3);
    assertThatThrownBy(() -> log.append(entries(3, 5)))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("safety violation");
    log.append(entries(4, 5));
    assertThat(log.lastIndex()).isEqualTo(4);
    assertThat(log.term(4)).isEqualTo(5);
  }

  /** A truncation inside the unstable tail keeps its prefix; one into the store replaces it. */
  @Test
  void truncationReplacesTheSuffixAndLowersThePersistedMark() {
    MemoryLogStore store = new MemoryLogStore();
    RaftLog log = storedAndUnstable(store);
    log.append(entries(5, 3, 3));
    assertThat(log.lastIndex()).isEqualTo(6);
    assertThat(log.term(4)).isEqualTo(2);
    assertThat(log.term(5)).isEqualTo(3);
    log.append(entries(4, 4));
    assertThat(log.lastIndex()).isEqualTo(4);
    assertThat(log.takeUnstable()).extracting(LogEntry::term).containsExactly(4L);
    assertThat(log.persisted()).isEqualTo(3);
    log.append(entries(3, 5));
    assertThat(log.persisted()).isEqualTo(2);
    assertThat(log.term(2)).isEqualTo(1);
    assertThat(log.term(3)).isEqualTo(5);
    assertThat(log.lastIndex()).isEqualTo(3);
    assertThat(log.takeUnstable()).extracting(LogEntry::index).containsExactly(3L);
    assertThat(log.takeUnstable()).isEmpty();
  }

  /** A truncation into the store drops the whole unstable tail after it. */
  @Test
  void truncationIntoTheStoreDropsTheUnstableTail() {
    RaftLog log = storedAndUnstable(new MemoryLogStore());
    log.append(entries(3, 7));
    assertThat(log.lastIndex()).isEqualTo(3);
    assertThat(log.term(3)).isEqualTo(7);
    assertThat(log.term(4)).isEqualTo(-1);
    assertThat(log.takeUnstable()).extracting(LogEntry::index).containsExactly(3L);
  }

  /** The persisted mark moves only forward, and only for the entry actually in the log. */
  @Test
  void persistedMarkFollowsOnlyTheCurrentEntries() {
    MemoryLogStore store = new MemoryLogStore();
    RaftLog log = storedAndUnstable(store);
    assertThat(log.persistedTo(3, 1)).isFalse();
    assertThat(log.persistedTo(4, 1)).isFalse();
    assertThat(log.persistedTo(6, 2)).isFalse();
    assertThat(log.persistedTo(4, 2)).isTrue();
    assertThat(log.persisted()).isEqualTo(4);
    assertThat(log.persistedTo(5, 2)).isTrue();
    assertThat(log.persistedTo(5, 2)).isFalse();
  }

  /** Only committed and persisted entries are handed out for applying, within a budget. */
  @Test
  void nextCommittedNeedsCommitAndDurability() {
    RaftLog log = storedAndUnstable(new MemoryLogStore());
    log.commitTo(5);
    assertThat(log.nextCommitted(1000)).extracting(LogEntry::index).containsExactly(1L, 2L, 3L);
    log.appliedTo(3);
    assertThat(log.nextCommitted(1000)).isEmpty();
    log.persistedTo(5, 2);
    assertThat(log.nextCommitted(30)).extracting(LogEntry::index).containsExactly(4L);
    log.appliedTo(5);
    log.appliedTo(4);
    assertThat(log.applied()).isEqualTo(5);
    log.commitTo(2);
    assertThat(log.committed()).isEqualTo(5);
  }

  /** §7: a snapshot from the leader replaces the whole log until the store is reset. */
  @Test
  void restoreShadowsTheStoreUntilTheSnapshotIsHandedOut() {
    MemoryLogStore store = new MemoryLogStore();
    RaftLog log = storedAndUnstable(store);
    SnapshotMeta meta = new SnapshotMeta(10, 4, CoreNetwork.config(3));
    log.restore(meta);
    assertThat(log.baseIndex()).isEqualTo(10);
    assertThat(log.lastIndex()).isEqualTo(10);
    assertThat(log.term(10)).isEqualTo(4);
    assertThat(log.term(3)).isEqualTo(-1);
    assertThat(log.committed()).isEqualTo(10);
    assertThat(log.applied()).isEqualTo(10);
    assertThat(log.persisted()).isEqualTo(10);
    assertThat(log.hasUnstable()).isTrue();
    assertThat(log.takeUnstable()).isEmpty();
    log.append(entries(11, 4));
    assertThat(log.term(11)).isEqualTo(4);
    assertThat(log.entries(11, 12, 100)).hasSize(1);
    assertThat(log.takeSnapshot()).isEqualTo(meta);
    assertThat(log.takeSnapshot()).isNull();
  }

  /** §5.3 fast backtracking: the last index at or below a given term, searched backwards. */
  @Test
  void lastIndexAtOrBelowTermSkipsWholeTerms() {
    MemoryLogStore store = new MemoryLogStore();
    store.append(entries(1, 1, 1, 2, 2, 3, 3));
    RaftLog log = new RaftLog(store, 0);
    assertThat(log.lastIndexAtOrBelowTerm(6, 3)).isEqualTo(6);
    assertThat(log.lastIndexAtOrBelowTerm(6, 2)).isEqualTo(4);
    assertThat(log.lastIndexAtOrBelowTerm(99, 1)).isEqualTo(2);
    assertThat(log.lastIndexAtOrBelowTerm(6, 0)).isZero();
    store.compact(2);
    RaftLog compacted = new RaftLog(store, 2);
    assertThat(compacted.lastIndexAtOrBelowTerm(6, 0)).isEqualTo(2);
  }

  /** §5.4.1 up-to-date comparison: later last term wins, then the longer log. */
  @Test
  void upToDateComparesLastTermThenLength() {
    MemoryLogStore store = new MemoryLogStore();
    store.append(entries(1, 1, 2));
    RaftLog log = new RaftLog(store, 0);
    assertThat(log.isUpToDate(2, 2)).isTrue();
    assertThat(log.isUpToDate(3, 2)).isTrue();
    assertThat(log.isUpToDate(1, 2)).isFalse();
    assertThat(log.isUpToDate(1, 3)).isTrue();
    assertThat(log.isUpToDate(9, 1)).isFalse();
  }
}
