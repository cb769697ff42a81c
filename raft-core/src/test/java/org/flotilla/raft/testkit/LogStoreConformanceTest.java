package org.flotilla.raft.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.flotilla.raft.message.EntryType;
import org.flotilla.raft.message.LogEntry;
import org.flotilla.raft.spi.LogStore;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The contract of {@link LogStore}, written once and run against every implementation: a subclass
 * says how to open a store over the test's storage, and inherits the tests.
 *
 * <p>A subclass's {@link #open()} opens the store over the same storage each time it is called
 * within one test (the first call sees empty storage), so that the tests can close and reopen it as
 * a restart would.
 */
@Timeout(60)
public abstract class LogStoreConformanceTest {

  /** How long a test waits for a durability report. */
  protected static final Duration WAIT = Duration.ofSeconds(20);

  /** The store under test. */
  protected LogStore store;

  /** The listener registered on {@link #store}. */
  protected RecordingListener listener;

  /**
   * Opens the store over this test's storage: empty at the first call, whatever the last store
   * closed left at later calls.
   *
   * @return the store
   * @throws Exception if it cannot be opened
   */
  protected abstract LogStore open() throws Exception;

  @BeforeEach
  void openStore() throws Exception {
    store = open();
    listener = new RecordingListener();
    store.setListener(listener);
  }

  @AfterEach
  void closeStore() {
    store.close();
  }

  /**
   * Closes the store and opens it again over the same storage.
   *
   * @throws Exception if it cannot be reopened
   */
  protected void reopen() throws Exception {
    store.close();
    store = open();
    listener = new RecordingListener();
    store.setListener(listener);
  }

  /**
   * Returns an entry whose payload is derived from its index and term.
   *
   * @param index the index
   * @param term the term
   * @return the entry
   */
  protected static LogEntry entry(long index, long term) {
    int size = (int) ((index * 31 + term * 7) % 97);
    byte[] payload = new byte[size];
    for (int i = 0; i < size; i++) {
      payload[i] = (byte) (index + term + i);
    }
    return new LogEntry(index, term, EntryType.COMMAND, ByteBuffer.wrap(payload));
  }

  /**
   * Returns consecutive entries of one term.
   *
   * @param from the first index
   * @param toInclusive the last index
   * @param term the term
   * @return the entries
   */
  protected static List<LogEntry> entries(long from, long toInclusive, long term) {
    List<LogEntry> list = new ArrayList<>();
    for (long i = from; i <= toInclusive; i++) {
      list.add(entry(i, term));
    }
    return list;
  }

  private List<LogEntry> readAll() {
    List<LogEntry> all = new ArrayList<>();
    long next = store.firstIndex();
    while (next <= store.lastIndex()) {
      List<LogEntry> chunk = store.entries(next, store.lastIndex() + 1, Long.MAX_VALUE);
      assertThat(chunk).isNotEmpty();
      all.addAll(chunk);
      next += chunk.size();
    }
    return all;
  }

  private void appendDurably(List<LogEntry> list) throws InterruptedException {
    store.append(list);
    LogEntry last = list.get(list.size() - 1);
    listener.awaitDurable(last.index(), last.term(), WAIT);
  }

  @Test
  void newStoreIsEmpty() {
    assertThat(store.baseIndex()).isZero();
    assertThat(store.baseTerm()).isZero();
    assertThat(store.firstIndex()).isEqualTo(1);
    assertThat(store.lastIndex()).isZero();
    assertThat(store.term(0)).isZero();
    assertThat(store.term(1)).isEqualTo(-1);
    assertThat(store.durableIndex()).isZero();
  }

  @Test
  void appendedEntriesAreVisibleAtOnce() {
    store.append(entries(1, 3, 1));
    assertThat(store.lastIndex()).isEqualTo(3);
    assertThat(store.term(2)).isEqualTo(1);
    assertThat(store.term(4)).isEqualTo(-1);
    assertThat(store.entries(1, 4, Long.MAX_VALUE)).isEqualTo(entries(1, 3, 1));
  }

  @Test
  void appendIsReportedDurableWithItsTerm() throws Exception {
    store.append(entries(1, 5, 2));
    listener.awaitDurable(5, 2, WAIT);
    assertThat(store.durableIndex()).isEqualTo(5);
    assertThat(listener.reports()).allSatisfy(r -> assertThat(r.index()).isBetween(1L, 5L));
  }

  @Test
  void durableReportsNeverGoBackwardsWithoutTruncation() throws Exception {
    for (long i = 1; i <= 200; i++) {
      store.append(List.of(entry(i, 1)));
    }
    listener.awaitDurable(200, 1, WAIT);
    long previous = 0;
    for (RecordingListener.Report r : listener.reports()) {
      assertThat(r.index()).isGreaterThan(previous);
      assertThat(r.term()).isEqualTo(1);
      previous = r.index();
    }
  }

  @Test
  void entriesRespectMaxBytesButReturnAtLeastOne() {
    List<LogEntry> list = entries(1, 10, 1);
    store.append(list);
    assertThat(store.entries(1, 11, 0)).containsExactly(list.get(0));
    long twoEntries = (long) list.get(2).sizeInBytes() + list.get(3).sizeInBytes();
    assertThat(store.entries(3, 11, twoEntries)).containsExactly(list.get(2), list.get(3));
    assertThat(store.entries(4, 6, Long.MAX_VALUE)).containsExactly(list.get(3), list.get(4));
  }

  @Test
  void entriesOutsideTheLogAreRejected() {
    store.append(entries(1, 3, 1));
    assertThatThrownBy(() -> store.entries(0, 2, Long.MAX_VALUE))
        .isInstanceOf(IndexOutOfBoundsException.class);
    assertThatThrownBy(() -> store.entries(2, 5, Long.MAX_VALUE))
        .isInstanceOf(IndexOutOfBoundsException.class);
    assertThatThrownBy(() -> store.entries(4, 5, Long.MAX_VALUE))
        .isInstanceOf(IndexOutOfBoundsException.class);
  }

  @Test
  void appendThatDoesNotAttachIsRejected() {
    store.append(entries(1, 3, 1));
    assertThatThrownBy(() -> store.append(entries(5, 6, 1)))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> store.append(List.of(entry(4, 1), entry(6, 1))))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> store.append(List.of())).isInstanceOf(IllegalArgumentException.class);
    assertThat(store.lastIndex()).isEqualTo(3);
  }

  @Test
  void appendWithADecreasingTermIsRejected() {
    store.append(entries(1, 3, 2));
    assertThatThrownBy(() -> store.append(entries(4, 4, 1)))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> store.append(List.of(entry(4, 3), entry(5, 2))))
        .isInstanceOf(IllegalArgumentException.class);
    assertThat(store.lastIndex()).isEqualTo(3);
  }

  @Test
  void appendTruncatesTheConflictingSuffix() throws Exception {
    appendDurably(entries(1, 5, 1));
    store.append(entries(3, 4, 2));
    assertThat(store.lastIndex()).isEqualTo(4);
    assertThat(store.term(2)).isEqualTo(1);
    assertThat(store.term(3)).isEqualTo(2);
    assertThat(store.term(5)).isEqualTo(-1);
    listener.awaitDurable(4, 2, WAIT);
    List<LogEntry> expected = new ArrayList<>(entries(1, 2, 1));
    expected.addAll(entries(3, 4, 2));
    assertThat(readAll()).isEqualTo(expected);
  }

  @Test
  void truncationOfAnUnsyncedSuffixIsNeverReportedWithTheOldTerm() throws Exception {
    store.append(entries(1, 50, 1));
    store.append(entries(10, 60, 2));
    store.append(entries(20, 30, 3));
    listener.awaitDurable(30, 3, WAIT);
    // every report names an entry that was appended with that term
    for (RecordingListener.Report r : listener.reports()) {
      long i = r.index();
      boolean appended =
          (r.term() == 1 && i <= 50) || (r.term() == 2 && i >= 10 && i <= 60) || r.term() == 3;
      assertThat(appended).as("report %s", r).isTrue();
      if (r.term() == 3) {
        assertThat(i).isBetween(20L, 30L);
      }
    }
    reopen();
    assertThat(store.lastIndex()).isEqualTo(30);
    assertThat(store.term(9)).isEqualTo(1);
    assertThat(store.term(19)).isEqualTo(2);
    assertThat(store.term(30)).isEqualTo(3);
  }

  @Test
  void compactMovesTheBaseAndKeepsLaterEntries() throws Exception {
    appendDurably(entries(1, 100, 1));
    appendDurably(entries(101, 200, 2));
    store.compact(150);
    assertThat(store.baseIndex()).isBetween(0L, 150L);
    assertThat(store.term(store.baseIndex())).isEqualTo(store.baseTerm());
    assertThat(store.lastIndex()).isEqualTo(200);
    assertThat(store.term(151)).isEqualTo(2);
    assertThat(store.entries(151, 201, Long.MAX_VALUE)).isEqualTo(entries(151, 200, 2));
    appendDurably(entries(201, 210, 3));
    assertThat(store.term(210)).isEqualTo(3);
  }

  @Test
  void compactOfTheWholeLogLeavesItEmptyAfterTheBase() throws Exception {
    appendDurably(entries(1, 10, 1));
    store.compact(10);
    assertThat(store.lastIndex()).isEqualTo(10);
    assertThat(store.term(10)).isEqualTo(1);
    appendDurably(entries(11, 12, 2));
    assertThat(store.entries(11, 13, Long.MAX_VALUE)).isEqualTo(entries(11, 12, 2));
  }

  @Test
  void resetStartsAnEmptyLogAfterTheGivenPoint() throws Exception {
    appendDurably(entries(1, 10, 1));
    store.reset(1000, 7);
    assertThat(store.baseIndex()).isEqualTo(1000);
    assertThat(store.baseTerm()).isEqualTo(7);
    assertThat(store.lastIndex()).isEqualTo(1000);
    assertThat(store.term(1000)).isEqualTo(7);
    assertThat(store.term(5)).isEqualTo(-1);
    assertThat(store.durableIndex()).isGreaterThanOrEqualTo(1000);
    appendDurably(entries(1001, 1003, 8));
    assertThat(store.entries(1001, 1004, Long.MAX_VALUE)).isEqualTo(entries(1001, 1003, 8));
  }

  @Test
  void resetIsDurableOnReturn() throws Exception {
    appendDurably(entries(1, 10, 1));
    store.reset(500, 4);
    reopen();
    assertThat(store.baseIndex()).isEqualTo(500);
    assertThat(store.baseTerm()).isEqualTo(4);
    assertThat(store.lastIndex()).isEqualTo(500);
  }

  @Test
  void durableEntriesSurviveReopen() throws Exception {
    List<LogEntry> list = entries(1, 300, 1);
    appendDurably(list);
    reopen();
    assertThat(store.baseIndex()).isZero();
    assertThat(store.lastIndex()).isEqualTo(300);
    assertThat(store.durableIndex()).isEqualTo(300);
    assertThat(readAll()).isEqualTo(list);
    appendDurably(entries(301, 302, 2));
    assertThat(store.term(302)).isEqualTo(2);
  }

  @Test
  void closeMakesAppendedEntriesDurable() throws Exception {
    store.append(entries(1, 20, 1));
    reopen();
    assertThat(readAll()).isEqualTo(entries(1, 20, 1));
  }

  @Test
  void truncationSurvivesReopen() throws Exception {
    appendDurably(entries(1, 10, 1));
    appendDurably(entries(6, 7, 2));
    reopen();
    assertThat(store.lastIndex()).isEqualTo(7);
    assertThat(store.term(5)).isEqualTo(1);
    assertThat(store.term(7)).isEqualTo(2);
  }

  @Test
  void compactionIsSafeAcrossReopen() throws Exception {
    appendDurably(entries(1, 300, 1));
    store.compact(200);
    long base = store.baseIndex();
    reopen();
    assertThat(store.baseIndex()).isBetween(0L, 200L);
    assertThat(store.baseIndex()).isLessThanOrEqualTo(Math.max(base, 200));
    assertThat(store.lastIndex()).isEqualTo(300);
    assertThat(store.entries(201, 301, Long.MAX_VALUE)).isEqualTo(entries(201, 300, 1));
    store.compact(250);
    assertThat(store.term(260)).isEqualTo(1);
  }

  @Test
  void everyEntryTypeAndPayloadViewRoundTrips() throws Exception {
    ByteBuffer framed = ByteBuffer.wrap(new byte[] {9, 8, 1, 2, 3, 7});
    framed.position(2).limit(5);
    List<LogEntry> list =
        List.of(
            new LogEntry(1, 1, EntryType.COMMAND, framed),
            LogEntry.noop(2, 1),
            new LogEntry(3, 1, EntryType.CONFIGURATION, ByteBuffer.wrap(new byte[] {1})),
            new LogEntry(
                4,
                1,
                EntryType.COMMAND,
                ByteBuffer.allocateDirect(3).put(new byte[] {4, 5, 6}).flip()));
    appendDurably(list);
    assertThat(store.entries(1, 5, Long.MAX_VALUE)).isEqualTo(list);
    reopen();
    assertThat(readAll()).isEqualTo(list);
    assertThat(store.entries(1, 2, Long.MAX_VALUE).get(0).payloadView().remaining()).isEqualTo(3);
  }

  @Test
  void manyEntriesOfRandomSizesRoundTrip() throws Exception {
    SplittableRandom random = new SplittableRandom(42);
    List<LogEntry> list = new ArrayList<>();
    long term = 1;
    for (long i = 1; i <= 3000; i++) {
      if (random.nextInt(500) == 0) {
        term++;
      }
      byte[] payload = new byte[random.nextInt(random.nextInt(20) == 0 ? 20_000 : 200)];
      random.nextBytes(payload);
      list.add(new LogEntry(i, term, EntryType.COMMAND, ByteBuffer.wrap(payload)));
    }
    for (int from = 0; from < list.size(); from += 100) {
      store.append(list.subList(from, from + 100));
    }
    LogEntry last = list.get(list.size() - 1);
    listener.awaitDurable(last.index(), last.term(), WAIT);
    assertThat(readAll()).isEqualTo(list);
    reopen();
    assertThat(readAll()).isEqualTo(list);
    for (int k = 0; k < 50; k++) {
      long from = 1L + random.nextInt(list.size());
      long to = from + 1 + random.nextInt((int) (list.size() - from + 1));
      assertThat(store.entries(from, to, Long.MAX_VALUE))
          .isEqualTo(list.subList((int) from - 1, (int) to - 1));
    }
  }
}
