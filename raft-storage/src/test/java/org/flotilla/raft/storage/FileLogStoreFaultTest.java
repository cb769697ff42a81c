package org.flotilla.raft.storage;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.flotilla.raft.message.EntryType;
import org.flotilla.raft.message.LogEntry;
import org.flotilla.raft.spi.StorageException;
import org.flotilla.raft.testkit.RecordingListener;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** Fault tests of {@link FileLogStore}: torn tails, flipped bits, missing files, failing disks. */
@Timeout(120)
class FileLogStoreFaultTest {

  private static final Duration WAIT = Duration.ofSeconds(20);
  static final FileLogStore.Options SMALL =
      FileLogStore.Options.defaults().withSegmentSize(16 << 10);
  private static final int PAYLOAD = 40;
  private static final int RECORD = LogRecord.HEADER + PAYLOAD;
  private static final String FIRST_SEGMENT = Segment.fileName(1);

  @TempDir Path tmp;

  /** An entry whose payload has no zero byte, so a zeroed tail always changes it. */
  static LogEntry entry(long index, long term) {
    byte[] p = new byte[PAYLOAD];
    for (int i = 0; i < p.length; i++) {
      p[i] = (byte) (1 + (index * 7 + i) % 250);
    }
    return new LogEntry(index, term, EntryType.COMMAND, ByteBuffer.wrap(p));
  }

  static List<LogEntry> entries(long from, long to, long term) {
    List<LogEntry> list = new ArrayList<>();
    for (long i = from; i <= to; i++) {
      list.add(entry(i, term));
    }
    return list;
  }

  /** Writes entries 1..n (term 1) durably into dir and closes the store. */
  static void writeLog(Path dir, int n, FileLogStore.Options options) throws Exception {
    try (FileLogStore store = FileLogStore.open(dir, options)) {
      RecordingListener l = new RecordingListener();
      store.setListener(l);
      store.append(entries(1, n, 1));
      l.awaitDurable(n, 1, WAIT);
    }
  }

  static long recordOffset(long index) {
    return LogRecord.SEGMENT_HEADER + (index - 1) * RECORD;
  }

  static Path copyOf(Path from, Path to) throws IOException {
    Files.createDirectories(to);
    try (Stream<Path> files = Files.list(from)) {
      for (Path p : (Iterable<Path>) files::iterator) {
        Files.copy(p, to.resolve(p.getFileName()));
      }
    }
    return to;
  }

  static void overwrite(Path file, long offset, byte[] bytes) throws IOException {
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
      ch.write(ByteBuffer.wrap(bytes), offset);
    }
  }

  static byte readByte(Path file, long offset) throws IOException {
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
      ByteBuffer b = ByteBuffer.allocate(1);
      ch.read(b, offset);
      return b.get(0);
    }
  }

  private static void assertIntact(FileLogStore store, long last) {
    assertThat(store.lastIndex()).isEqualTo(last);
    if (last > 0) {
      assertThat(store.entries(1, last + 1, Long.MAX_VALUE)).isEqualTo(entries(1, last, 1));
    }
  }

  @Test
  void tornTailAtEveryByteOfTheLastRecordIsTruncated() throws Exception {
    int n = 20;
    Path base = tmp.resolve("base");
    writeLog(base, n, SMALL);
    long last = recordOffset(n);
    for (int k = 0; k < RECORD; k++) {
      // the unwritten rest of the record reads as the preallocated zeros
      Path zeroed = copyOf(base, tmp.resolve("zeroed-" + k));
      overwrite(zeroed.resolve(FIRST_SEGMENT), last + k, new byte[RECORD - k]);
      try (FileLogStore store = FileLogStore.open(zeroed, SMALL)) {
        assertIntact(store, n - 1);
        store.append(List.of(entry(n, 2)));
        assertThat(store.term(n)).isEqualTo(2);
      }
      // the file ends in the middle of the record
      Path cut = copyOf(base, tmp.resolve("cut-" + k));
      try (FileChannel ch =
          FileChannel.open(cut.resolve(FIRST_SEGMENT), StandardOpenOption.WRITE)) {
        ch.truncate(last + k);
      }
      try (FileLogStore store = FileLogStore.open(cut, SMALL)) {
        assertIntact(store, n - 1);
      }
      try (FileLogStore store = FileLogStore.open(cut, SMALL)) {
        assertIntact(store, n - 1);
      }
    }
  }

  @Test
  void flippedBitInEveryFieldOfAMiddleRecordRefusesToOpen() throws Exception {
    int n = 20;
    Path base = tmp.resolve("base");
    writeLog(base, n, SMALL);
    long middle = recordOffset(10);
    for (int k = 0; k < RECORD; k++) {
      for (int bit : new int[] {0, 7}) {
        Path dir = copyOf(base, tmp.resolve("flip-" + k + "-" + bit));
        Path file = dir.resolve(FIRST_SEGMENT);
        overwrite(file, middle + k, new byte[] {(byte) (readByte(file, middle + k) ^ (1 << bit))});
        assertThatThrownBy(() -> FileLogStore.open(dir, SMALL).close())
            .as("bit %d of byte %d of record 10", bit, k)
            .isInstanceOf(StorageException.class)
            .hasMessageContaining(file.toString())
            .hasMessageContaining("offset " + middle);
      }
    }
  }

  @Test
  void operatorOptionDiscardsACorruptLog() throws Exception {
    Path dir = tmp.resolve("log");
    writeLog(dir, 20, SMALL);
    Path file = dir.resolve(FIRST_SEGMENT);
    overwrite(
        file, recordOffset(5) + 30, new byte[] {(byte) (readByte(file, recordOffset(5) + 30) ^ 1)});
    assertThatThrownBy(() -> FileLogStore.open(dir, SMALL).close())
        .isInstanceOf(StorageException.class);
    try (FileLogStore store = FileLogStore.open(dir, SMALL.withDiscardCorruptLog(true))) {
      assertThat(store.lastIndex()).isZero();
      store.append(entries(1, 2, 3));
    }
    try (Stream<Path> files = Files.list(dir)) {
      assertThat(files.map(p -> p.getFileName().toString()))
          .anyMatch(s -> s.startsWith("discarded-"));
    }
  }

  @Test
  void missingSegmentInTheMiddleRefusesToOpen() throws Exception {
    Path dir = tmp.resolve("log");
    writeLog(dir, 2000, SMALL);
    List<Path> segments;
    try (Stream<Path> files = Files.list(dir)) {
      segments = files.filter(p -> p.toString().endsWith(".log")).sorted().toList();
    }
    assertThat(segments.size()).isGreaterThan(3);
    Files.delete(segments.get(2));
    assertThatThrownBy(() -> FileLogStore.open(dir, SMALL).close())
        .isInstanceOf(StorageException.class)
        .hasMessageContaining("missing entries")
        .hasMessageContaining(segments.get(1).toString());
  }

  @Test
  void outOfOrderIndexRefusesToOpen() throws Exception {
    Path dir = tmp.resolve("log");
    writeLog(dir, 20, SMALL);
    Path file = dir.resolve(FIRST_SEGMENT);
    // make record 7 claim index 8, with a correct checksum
    long off = recordOffset(7);
    ByteBuffer record = ByteBuffer.allocate(RECORD);
    try (FileChannel ch =
        FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
      ch.read(record, off);
      record.putLong(16, 8);
      record.putInt(4, LogRecord.checksum(record, 0, RECORD));
      ch.write(record.flip(), off);
    }
    assertThatThrownBy(() -> FileLogStore.open(dir, SMALL).close())
        .isInstanceOf(StorageException.class)
        .hasMessageContaining("out-of-order index 8")
        .hasMessageContaining("offset " + off);
  }

  @Test
  void unknownSegmentVersionIsAClearError() throws Exception {
    Path dir = tmp.resolve("log");
    writeLog(dir, 5, SMALL);
    overwrite(dir.resolve(FIRST_SEGMENT), 4, new byte[] {0, 0, 0, 9});
    assertThatThrownBy(() -> FileLogStore.open(dir, SMALL).close())
        .isInstanceOf(StorageException.class)
        .hasMessageContaining("unknown format version 9")
        .hasMessageContaining(FIRST_SEGMENT);
  }

  @Test
  void notASegmentIsAClearError() throws Exception {
    Path dir = tmp.resolve("log");
    writeLog(dir, 5, SMALL);
    overwrite(
        dir.resolve(FIRST_SEGMENT),
        0,
        "JUNKJUNK".getBytes(java.nio.charset.StandardCharsets.US_ASCII));
    assertThatThrownBy(() -> FileLogStore.open(dir, SMALL).close())
        .isInstanceOf(StorageException.class)
        .hasMessageContaining(FIRST_SEGMENT);
  }

  @Test
  void newSegmentWithATornHeaderIsDeleted() throws Exception {
    Path dir = tmp.resolve("log");
    writeLog(dir, 20, SMALL);
    Path next = dir.resolve(Segment.fileName(21));
    Files.write(next, new byte[] {0x46, 0x4C, 0, 0, 0, 0, 0, 0, 0, 0});
    try (FileLogStore store = FileLogStore.open(dir, SMALL)) {
      assertIntact(store, 20);
    }
    assertThat(next).doesNotExist();
  }

  @Test
  void interruptedResetIsCompletedAtOpen() throws Exception {
    Path dir = tmp.resolve("log");
    writeLog(dir, 20, SMALL);
    // the new log reached the disk under its temporary name, then the node crashed
    Files.write(dir.resolve("reset.tmp"), LogRecord.segmentHeader(101, 5).array());
    try (FileLogStore store = FileLogStore.open(dir, SMALL)) {
      assertThat(store.baseIndex()).isEqualTo(100);
      assertThat(store.baseTerm()).isEqualTo(5);
      assertThat(store.lastIndex()).isEqualTo(100);
    }
  }

  @Test
  void resetWhoseTemporarySegmentIsTornNeverHappened() throws Exception {
    Path dir = tmp.resolve("log");
    writeLog(dir, 20, SMALL);
    Files.write(dir.resolve("reset.tmp"), new byte[] {0x46, 0x4C, 0x53});
    try (FileLogStore store = FileLogStore.open(dir, SMALL)) {
      assertIntact(store, 20);
    }
    assertThat(dir.resolve("reset.tmp")).doesNotExist();
  }

  @Test
  void compactionDeletesWholeSegmentsOnly() throws Exception {
    Path dir = tmp.resolve("log");
    writeLog(dir, 2000, SMALL);
    long base;
    try (FileLogStore store = FileLogStore.open(dir, SMALL)) {
      store.compact(1000);
      base = store.baseIndex();
      assertThat(base).isBetween(1L, 1000L);
      assertThat(store.term(base)).isEqualTo(1);
      assertThat(store.entries(base + 1, 2001, Long.MAX_VALUE))
          .isEqualTo(entries(base + 1, 2000, 1));
    }
    try (Stream<Path> files = Files.list(dir)) {
      List<String> names = files.map(p -> p.getFileName().toString()).sorted().toList();
      assertThat(names).doesNotContain(FIRST_SEGMENT).contains(Segment.fileName(base + 1));
    }
    try (FileLogStore store = FileLogStore.open(dir, SMALL)) {
      assertThat(store.baseIndex()).isEqualTo(base);
      assertThat(store.baseTerm()).isEqualTo(1);
      assertThat(store.lastIndex()).isEqualTo(2000);
    }
  }

  @Test
  void appendBlocksWhileTooMuchIsUnsynced() throws Exception {
    FaultyChannel.Faults faults = new FaultyChannel.Faults();
    FileLogStore store =
        FileLogStore.open(tmp.resolve("log"), SMALL.withMaxUnsyncedBytes(1000), faults.factory());
    try {
      RecordingListener l = new RecordingListener();
      store.setListener(l);
      CountDownLatch release = new CountDownLatch(1);
      faults.holdForce = release;
      Thread loop =
          new Thread(
              () -> {
                store.append(entries(1, 10, 1));
                store.append(entries(11, 40, 1));
              },
              "test-event-loop");
      loop.start();
      assertThat(faults.forceEntered.await(20, TimeUnit.SECONDS)).isTrue();
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
      while (loop.getState() != Thread.State.TIMED_WAITING) {
        assertThat(System.nanoTime()).as("append blocked in time").isLessThan(deadline);
        Thread.onSpinWait();
      }
      assertThat(loop.isAlive()).isTrue();
      faults.holdForce = null;
      release.countDown();
      loop.join(20_000);
      assertThat(loop.isAlive()).isFalse();
      l.awaitDurable(40, 1, WAIT);
    } finally {
      store.close();
    }
  }

  @Test
  void failedFsyncIsFatalAndNeverRetried() throws Exception {
    FaultyChannel.Faults faults = new FaultyChannel.Faults();
    Path dir = tmp.resolve("log");
    FileLogStore store = FileLogStore.open(dir, SMALL, faults.factory());
    try {
      RecordingListener l = new RecordingListener();
      store.setListener(l);
      store.append(entries(1, 5, 1));
      l.awaitDurable(5, 1, WAIT);
      faults.failForce = true;
      int before = faults.forces.get();
      store.append(entries(6, 10, 1));
      Throwable cause = l.awaitFailure(WAIT);
      assertThat(cause)
          .isInstanceOf(StorageException.class)
          .hasStackTraceContaining("injected fsync failure");
      assertThat(store.failed()).isTrue();
      assertThat(l.last()).isEqualTo(new RecordingListener.Report(5, 1));
      assertThat(store.durableIndex()).isEqualTo(5);
      assertThatThrownBy(() -> store.append(entries(11, 11, 1)))
          .isInstanceOf(StorageException.class)
          .hasMessageContaining("has failed");
      // never retried: exactly one more force was attempted, and none after the failure
      assertThat(faults.forces.get()).isEqualTo(before + 1);
    } finally {
      store.close();
    }
    assertThat(faults.forces.get()).isPositive();
  }

  @Test
  void failedWriteIsFatal() throws Exception {
    FaultyChannel.Faults faults = new FaultyChannel.Faults();
    FileLogStore store = FileLogStore.open(tmp.resolve("log"), SMALL, faults.factory());
    try {
      RecordingListener l = new RecordingListener();
      store.setListener(l);
      faults.failWrite = true;
      assertThatThrownBy(() -> store.append(entries(1, 1, 1)))
          .isInstanceOf(StorageException.class)
          .hasStackTraceContaining("injected write failure");
      assertThat(l.failure()).isNotNull();
      faults.failWrite = false;
      assertThatThrownBy(() -> store.append(entries(1, 1, 1))).isInstanceOf(StorageException.class);
    } finally {
      store.close();
    }
  }

  @Test
  void truncationDuringASyncIsNeverReportedWithTheReplacedEntry() throws Exception {
    FaultyChannel.Faults faults = new FaultyChannel.Faults();
    FileLogStore store = FileLogStore.open(tmp.resolve("log"), SMALL, faults.factory());
    try {
      RecordingListener l = new RecordingListener();
      store.setListener(l);
      CountDownLatch release = new CountDownLatch(1);
      faults.holdForce = release;
      store.append(entries(1, 10, 1));
      assertThat(faults.forceEntered.await(20, TimeUnit.SECONDS)).isTrue();
      // the sync thread is inside force() for 1..10@1; replace 5..10 meanwhile
      store.append(entries(5, 6, 2));
      faults.holdForce = null;
      release.countDown();
      l.awaitDurable(6, 2, WAIT);
      assertThat(l.reports()).noneMatch(r -> r.index() >= 5 && r.term() == 1);
    } finally {
      store.close();
    }
  }

  @Test
  void groupCommitCoversManyAppendsWithOneForce() throws Exception {
    FaultyChannel.Faults faults = new FaultyChannel.Faults();
    FileLogStore store = FileLogStore.open(tmp.resolve("log"), SMALL, faults.factory());
    try {
      RecordingListener l = new RecordingListener();
      store.setListener(l);
      CountDownLatch release = new CountDownLatch(1);
      faults.holdForce = release;
      store.append(entries(1, 1, 1));
      assertThat(faults.forceEntered.await(20, TimeUnit.SECONDS)).isTrue();
      int forcesBefore = faults.segmentForces.get();
      for (long i = 2; i <= 100; i++) {
        store.append(List.of(entry(i, 1)));
      }
      faults.holdForce = null;
      release.countDown();
      l.awaitDurable(100, 1, WAIT);
      // one force for the held target, one for all 99 appends made while it was held
      assertThat(faults.segmentForces.get() - forcesBefore).isEqualTo(1);
      assertThat(l.reports()).hasSize(2);
    } finally {
      store.close();
    }
  }

  @Test
  void rollTakesThePreallocatedSegment() throws Exception {
    Path dir = tmp.resolve("log");
    try (FileLogStore store = FileLogStore.open(dir, SMALL)) {
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
      while (!store.spareReady()) {
        assertThat(System.nanoTime()).as("spare segment prepared in time").isLessThan(deadline);
        Thread.onSpinWait();
      }
      RecordingListener l = new RecordingListener();
      store.setListener(l);
      store.append(entries(1, 300, 1));
      l.awaitDurable(300, 1, WAIT);
      assertThat(dir.resolve("spare-0" + SegmentPreallocator.SUFFIX)).doesNotExist();
    }
    try (FileLogStore store = FileLogStore.open(dir, SMALL)) {
      assertIntact(store, 300);
    }
    try (Stream<Path> files = Files.list(dir)) {
      assertThat(files.map(p -> p.getFileName().toString()))
          .contains(Segment.fileName(1))
          .noneMatch(n -> n.endsWith(SegmentPreallocator.SUFFIX));
    }
  }

  @Test
  void recentEntriesAreServedFromTheCacheAndOldOnesFromTheFile() throws Exception {
    Path dir = tmp.resolve("log");
    try (FileLogStore store = FileLogStore.open(dir, SMALL.withCacheEntries(8))) {
      RecordingListener l = new RecordingListener();
      store.setListener(l);
      store.append(entries(1, 100, 1));
      l.awaitDurable(100, 1, WAIT);
      // the newest entries are the very objects appended
      assertThat(store.entries(100, 101, Long.MAX_VALUE).get(0).payload())
          .isSameAs(store.entries(100, 101, Long.MAX_VALUE).get(0).payload());
      // an old entry is read back from its segment file, and the file is checked
      assertThat(store.entries(3, 4, Long.MAX_VALUE)).containsExactly(entry(3, 1));
      Path file = dir.resolve(FIRST_SEGMENT);
      overwrite(
          file,
          recordOffset(3) + 30,
          new byte[] {(byte) (readByte(file, recordOffset(3) + 30) ^ 4)});
      assertThatThrownBy(() -> store.entries(3, 4, Long.MAX_VALUE))
          .isInstanceOf(StorageException.class)
          .hasMessageContaining("checksum mismatch")
          .hasMessageContaining("offset " + recordOffset(3));
    }
  }
}
