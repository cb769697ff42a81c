package org.flotilla.raft.storage;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;
import java.util.stream.Stream;
import org.flotilla.raft.message.EntryType;
import org.flotilla.raft.message.LogEntry;
import org.flotilla.raft.spi.DurableMark;
import org.flotilla.raft.spi.HardState;
import org.flotilla.raft.spi.LogStore;
import org.flotilla.raft.spi.MetaStore;
import org.flotilla.raft.spi.StorageException;
import org.flotilla.raft.testkit.RecordingListener;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The shared log's own behaviour: group commit across threads, torn tails and corruption, lost
 * tails per group, injected disk failures, and garbage collection.
 */
@Timeout(120)
class SharedLogTest {

  private static final Duration WAIT = Duration.ofSeconds(20);
  private static final SharedLog.Options SMALL =
      SharedLog.Options.defaults().withSegmentSize(16 << 10).withPreallocate(false);

  @TempDir Path dir;

  /** An entry whose payload carries a marker and has no zero byte. */
  static LogEntry entry(long index, long term, String marker) {
    byte[] m = marker.getBytes(StandardCharsets.UTF_8);
    byte[] p = new byte[m.length + 24];
    System.arraycopy(m, 0, p, 0, m.length);
    for (int i = m.length; i < p.length; i++) {
      p[i] = (byte) (1 + (index * 7 + i) % 250);
    }
    return new LogEntry(index, term, EntryType.COMMAND, ByteBuffer.wrap(p));
  }

  static byte[] bytes(LogEntry e) {
    ByteBuffer p = e.payloadView();
    byte[] b = new byte[p.remaining()];
    p.get(b);
    return b;
  }

  static List<LogEntry> entries(long from, long to, long term, String marker) {
    List<LogEntry> list = new ArrayList<>();
    for (long i = from; i <= to; i++) {
      list.add(entry(i, term, marker));
    }
    return list;
  }

  static void await(BooleanSupplier condition, String what) {
    long deadline = System.nanoTime() + WAIT.toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("timed out waiting for " + what);
      }
      LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(1));
    }
  }

  /** Appends durably to a group and closes its view. */
  static void write(SharedLog wal, String group, long from, long to, long term, String marker)
      throws InterruptedException {
    LogStore log = wal.logStore(group);
    RecordingListener l = new RecordingListener();
    log.setListener(l);
    log.append(entries(from, to, term, marker));
    l.awaitDurable(to, term, WAIT);
    log.close();
  }

  static Path copyOf(Path from, Path to) throws IOException {
    Files.createDirectories(to);
    try (Stream<Path> files = Files.list(from)) {
      for (Path p : (Iterable<Path>) files::iterator) {
        if (Files.isRegularFile(p)) {
          Files.copy(p, to.resolve(p.getFileName()));
        }
      }
    }
    return to;
  }

  /** Returns the offset of the first occurrence of {@code needle} in the file, or -1. */
  static long find(Path file, byte[] needle) throws IOException {
    byte[] all = Files.readAllBytes(file);
    outer:
    for (int i = 0; i + needle.length <= all.length; i++) {
      for (int j = 0; j < needle.length; j++) {
        if (all[i + j] != needle[j]) {
          continue outer;
        }
      }
      return i;
    }
    return -1;
  }

  static List<Path> segmentFiles(Path dir) throws IOException {
    return new ArrayList<>(WalRecovery.list(dir).values());
  }

  @Nested
  class GroupCommit {

    /**
     * Several event loops append to their own groups at once, on a disk whose force takes 2 ms:
     * every append is reported durable, and one force covers the appends of many groups.
     */
    @Test
    void oneForceCoversTheAppendsOfManyGroups() throws Exception {
      FaultyChannel.Faults faults = new FaultyChannel.Faults();
      faults.forceDelayMillis = 2;
      int threads = 4;
      int groupsPerThread = 8;
      int rounds = 50;
      try (SharedLog wal = SharedLog.open(dir, SMALL.withSegmentSize(1 << 20), faults.factory())) {
        AtomicReference<Throwable> error = new AtomicReference<>();
        List<Thread> loops = new ArrayList<>();
        List<RecordingListener> listeners = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
          List<LogStore> logs = new ArrayList<>();
          for (int k = 0; k < groupsPerThread; k++) {
            LogStore log = wal.logStore("g-" + t + "-" + k);
            RecordingListener l = new RecordingListener();
            log.setListener(l);
            listeners.add(l);
            logs.add(log);
          }
          Thread loop =
              new Thread(
                  () -> {
                    try {
                      for (long i = 1; i <= rounds; i++) {
                        for (LogStore log : logs) {
                          log.append(List.of(entry(i, 1, "c")));
                        }
                      }
                    } catch (Throwable e) {
                      error.set(e);
                    }
                  });
          loop.start();
          loops.add(loop);
        }
        for (Thread loop : loops) {
          loop.join(WAIT.toMillis());
        }
        assertThat(error.get()).isNull();
        for (RecordingListener l : listeners) {
          l.awaitDurable(rounds, 1, WAIT);
        }
        long appends = (long) threads * groupsPerThread * rounds;
        long forces = wal.groupCommits.get();
        assertThat((long) faults.segmentForces.get()).isGreaterThanOrEqualTo(forces);
        // 1600 appends; a force takes 2 ms, so each one covers many appends of many groups
        assertThat(forces).as("forces for %d appends", appends).isLessThan(appends / 10);
      }
    }

    /** A save joins the group commit: durable on return, and it survives a reopen. */
    @Test
    void saveIsDurableOnReturnAndSurvivesReopen() throws Exception {
      try (SharedLog wal = SharedLog.open(dir, SMALL)) {
        MetaStore meta = wal.metaStore("a");
        long before = wal.groupCommits.get();
        meta.save(new HardState(3, "n2"));
        assertThat(wal.groupCommits.get()).isGreaterThan(before);
        meta.close();
      }
      try (SharedLog wal = SharedLog.open(dir, SMALL)) {
        assertThat(wal.metaStore("a").load()).isEqualTo(new HardState(3, "n2"));
        assertThat(wal.groups()).containsExactly("a");
      }
    }

    @Test
    void aSecondViewOfTheSameGroupIsRefusedUntilTheFirstCloses() {
      try (SharedLog wal = SharedLog.open(dir, SMALL)) {
        LogStore log = wal.logStore("a");
        assertThatThrownBy(() -> wal.logStore("a")).isInstanceOf(IllegalStateException.class);
        log.close();
        wal.logStore("a").close();
      }
    }

    @Test
    void aSecondSharedLogOnTheSameDirectoryIsRefused() {
      try (SharedLog wal = SharedLog.open(dir, SMALL)) {
        assertThat(wal.directory()).isEqualTo(dir);
        assertThatThrownBy(() -> SharedLog.open(dir, SMALL))
            .isInstanceOf(StorageException.class)
            .hasMessageContaining(SharedLog.LOCK);
      }
    }
  }

  @Nested
  class TornTailsAndCorruption {

    @Test
    void aFlippedByteInANonLastSegmentRefusesToOpenNamingFileAndOffset() throws Exception {
      try (SharedLog wal = SharedLog.open(dir, SMALL)) {
        write(wal, "a", 1, 1000, 1, "flip");
        write(wal, "b", 1, 10, 1, "other");
      }
      List<Path> files = segmentFiles(dir);
      assertThat(files.size()).isGreaterThan(2);
      Path victim = files.get(0);
      long at = find(victim, "flip".getBytes(StandardCharsets.UTF_8));
      long middle = at + 2000;
      try (FileChannel ch = FileChannel.open(victim, StandardOpenOption.WRITE)) {
        ch.write(ByteBuffer.wrap(new byte[] {(byte) 0xFF}), middle);
      }
      assertThatThrownBy(() -> SharedLog.open(dir, SMALL))
          .isInstanceOf(StorageException.class)
          .hasMessageContaining(victim.toString())
          .hasMessageContaining("at offset ")
          .hasMessageContaining("valid records follow");
      // the operator option moves the segments aside and starts empty
      try (SharedLog wal = SharedLog.open(dir, SMALL.withDiscardCorruptLog(true))) {
        LogStore a = wal.logStore("a");
        assertThat(a.lastIndex()).isZero();
        // the mark survives: the member knows it lost entries it acknowledged
        assertThat(a.durableMark()).isEqualTo(new DurableMark(1000, 1));
      }
    }

    /** A crash image whose last record is half written: truncated, and durable entries intact. */
    @Test
    void aTornLastRecordIsTruncatedAndDurableEntriesStay() throws Exception {
      Path image;
      try (SharedLog wal = SharedLog.open(dir, SMALL)) {
        write(wal, "a", 1, 20, 1, "keep");
        LogStore b = wal.logStore("b");
        RecordingListener l = new RecordingListener();
        b.setListener(l);
        b.append(entries(1, 5, 1, "torn"));
        l.awaitDurable(5, 1, WAIT);
        image = copyOf(dir, dir.resolveSibling(dir.getFileName() + "-image"));
        b.close();
      }
      List<Path> files = segmentFiles(image);
      Path last = files.get(files.size() - 1);
      long fifth = find(last, bytes(entry(5, 1, "torn")));
      // cut the last record in half: the tail of the file is zeros (preallocated space)
      try (FileChannel ch = FileChannel.open(last, StandardOpenOption.WRITE)) {
        ch.write(ByteBuffer.allocate(64), fifth + 4);
      }
      try (SharedLog wal = SharedLog.open(image, SMALL)) {
        LogStore a = wal.logStore("a");
        assertThat(a.lastIndex()).isEqualTo(20);
        assertThat(a.entries(1, 21, Long.MAX_VALUE)).isEqualTo(entries(1, 20, 1, "keep"));
        LogStore b = wal.logStore("b");
        assertThat(b.lastIndex()).isEqualTo(4);
        assertThat(b.entries(1, 5, Long.MAX_VALUE)).isEqualTo(entries(1, 4, 1, "torn"));
      }
    }

    /**
     * A zeroed tail of the log that held entries reported durable (a lost write): the group whose
     * entries it held finds its log short of its durable mark; the other group's is covered.
     */
    @Test
    void aLostTailIsDetectedForEachGroupWhoseEntriesItHeld() throws Exception {
      Path image;
      try (SharedLog wal = SharedLog.open(dir, SMALL)) {
        write(wal, "a", 1, 10, 1, "safe");
        LogStore b = wal.logStore("b");
        RecordingListener l = new RecordingListener();
        b.setListener(l);
        b.append(entries(1, 6, 2, "lost"));
        l.awaitDurable(6, 2, WAIT);
        await(() -> b.durableMark().equals(new DurableMark(6, 2)), "b's mark");
        image = copyOf(dir, dir.resolveSibling(dir.getFileName() + "-image"));
        b.close();
      }
      List<Path> files = segmentFiles(image);
      Path last = files.get(files.size() - 1);
      long third = find(last, bytes(entry(3, 2, "lost"))) - WalRecord.ENTRY_HEADER;
      try (FileChannel ch = FileChannel.open(last, StandardOpenOption.WRITE)) {
        ch.truncate(third);
      }
      try (SharedLog wal = SharedLog.open(image, SMALL)) {
        LogStore a = wal.logStore("a");
        LogStore b = wal.logStore("b");
        assertThat(b.lastIndex()).isEqualTo(2);
        assertThat(b.durableMark()).isEqualTo(new DurableMark(6, 2));
        assertThat(b.durableMark().coveredBy(b.lastIndex(), b.term(b.lastIndex()))).isFalse();
        assertThat(a.durableMark().coveredBy(a.lastIndex(), a.term(a.lastIndex()))).isTrue();
      }
    }

    @Test
    void aMissingSegmentRefusesToOpen() throws Exception {
      try (SharedLog wal = SharedLog.open(dir, SMALL)) {
        write(wal, "a", 1, 600, 1, "gap");
      }
      List<Path> files = segmentFiles(dir);
      assertThat(files.size()).isGreaterThan(2);
      Files.delete(files.get(1));
      assertThatThrownBy(() -> SharedLog.open(dir, SMALL))
          .isInstanceOf(StorageException.class)
          .hasMessageContaining("missing segment")
          .hasMessageContaining(files.get(0).toString());
    }
  }

  @Nested
  class Faults {

    /** A failed force fails every group with pending work, and the log refuses every write. */
    @Test
    void aFailedForceFailsEveryGroupAndRefusesWrites() throws Exception {
      FaultyChannel.Faults faults = new FaultyChannel.Faults();
      try (SharedLog wal = SharedLog.open(dir, SMALL, faults.factory())) {
        List<RecordingListener> listeners = new ArrayList<>();
        List<LogStore> logs = new ArrayList<>();
        for (int k = 0; k < 3; k++) {
          LogStore log = wal.logStore("g" + k);
          RecordingListener l = new RecordingListener();
          log.setListener(l);
          listeners.add(l);
          logs.add(log);
        }
        MetaStore meta = wal.metaStore("g0");
        faults.failForce = true;
        // The first append's force may fail before the next append is made: that append is then
        // refused at once. Either way no group is told its entries are durable.
        List<RecordingListener> pending = new ArrayList<>();
        for (int k = 0; k < logs.size(); k++) {
          try {
            logs.get(k).append(entries(1, 3, 1, "x"));
            pending.add(listeners.get(k));
          } catch (StorageException refused) {
            assertThat(k).as("the first append is taken before any force").isPositive();
            assertThat(wal.failed()).isTrue();
          }
        }
        assertThat(pending).isNotEmpty();
        for (RecordingListener l : pending) {
          assertThat(l.awaitFailure(WAIT)).isInstanceOf(StorageException.class);
        }
        for (RecordingListener l : listeners) {
          assertThat(l.reports()).isEmpty();
        }
        assertThat(wal.failed()).isTrue();
        assertThatThrownBy(() -> logs.get(1).append(entries(4, 4, 1, "x")))
            .isInstanceOf(StorageException.class);
        assertThatThrownBy(() -> meta.save(new HardState(1, "")))
            .isInstanceOf(StorageException.class);
        assertThatThrownBy(() -> wal.logStore("new")).isInstanceOf(StorageException.class);
      }
    }

    @Test
    void aFailedWriteFailsTheLog() throws Exception {
      FaultyChannel.Faults faults = new FaultyChannel.Faults();
      try (SharedLog wal = SharedLog.open(dir, SMALL, faults.factory())) {
        LogStore log = wal.logStore("a");
        RecordingListener l = new RecordingListener();
        log.setListener(l);
        faults.failWrite = true;
        assertThatThrownBy(() -> log.append(entries(1, 1, 1, "x")))
            .isInstanceOf(StorageException.class);
        assertThat(l.awaitFailure(WAIT)).isInstanceOf(StorageException.class);
        assertThat(wal.failed()).isTrue();
      }
    }
  }

  @Nested
  class GarbageCollection {

    private final SharedLog.Options bounded = SMALL.withSegmentSize(8 << 10).withMaxSegments(4);

    /** Groups that compact free their old segments: the oldest files are deleted. */
    @Test
    void groupsThatCompactFreeOldSegments() throws Exception {
      try (SharedLog wal = SharedLog.open(dir, bounded)) {
        LogStore a = wal.logStore("a");
        LogStore b = wal.logStore("b");
        RecordingListener la = new RecordingListener();
        a.setListener(la);
        b.setListener(new RecordingListener());
        for (long i = 1; i <= 2000; i += 20) {
          a.append(entries(i, i + 19, 1, "a"));
          b.append(entries(i, i + 19, 1, "b"));
          a.compact(i + 9);
          b.compact(i + 9);
        }
        la.awaitDurable(2000, 1, WAIT);
        Path first = dir.resolve(WalSegment.fileName(1));
        await(() -> !Files.exists(first), "the first segment deleted");
        await(() -> wal.segmentCount() <= 3, "old segments deleted");
        assertThat(wal.rewrites.get()).isZero();
        assertThat(a.entries(1991, 2001, Long.MAX_VALUE)).isEqualTo(entries(1991, 2000, 1, "a"));
      }
    }

    /** A group that never compacts does not pin the segments: its records are rewritten. */
    @Test
    void aGroupThatNeverCompactsDoesNotPinSegments() throws Exception {
      try (SharedLog wal = SharedLog.open(dir, bounded)) {
        write(wal, "idle", 1, 30, 1, "idle");
        MetaStore idleMeta = wal.metaStore("idle");
        idleMeta.save(new HardState(4, "n1"));
        idleMeta.close();
        LogStore busy = wal.logStore("busy");
        RecordingListener l = new RecordingListener();
        busy.setListener(l);
        for (long i = 1; i <= 4000; i += 20) {
          busy.append(entries(i, i + 19, 1, "busy"));
          busy.compact(i + 9);
        }
        l.awaitDurable(4000, 1, WAIT);
        await(() -> wal.segmentCount() <= 5, "segments bounded");
        assertThat(wal.rewrites.get()).isPositive();
        assertThat(Files.exists(dir.resolve(WalSegment.fileName(1)))).isFalse();
        busy.close();
      }
      try (SharedLog wal = SharedLog.open(dir, bounded)) {
        LogStore idle = wal.logStore("idle");
        assertThat(idle.entries(1, 31, Long.MAX_VALUE)).isEqualTo(entries(1, 30, 1, "idle"));
        assertThat(wal.metaStore("idle").load()).isEqualTo(new HardState(4, "n1"));
      }
    }

    /** After removal and a collection, no byte of the group's data is in any file. */
    @Test
    void aRemovedGroupLeavesNothingBehind() throws Exception {
      String unique = "REMOVED-GROUP-PAYLOAD-7f3a9c";
      String id = "removed-group-51d2";
      try (SharedLog wal = SharedLog.open(dir, bounded)) {
        write(wal, "kept", 1, 50, 1, "kept");
        write(wal, id, 1, 300, 1, unique);
        MetaStore meta = wal.metaStore(id);
        meta.save(new HardState(9, "voted-for-" + unique));
        meta.close();
        write(wal, "kept", 51, 60, 1, "kept");
        await(() -> filesContaining(unique) > 0, "the payload on disk");
        wal.removeGroup(id);
        assertThat(wal.groups()).doesNotContain(id);
        wal.collectGarbage();
        assertThat(filesContaining(unique)).isZero();
        assertThat(filesContaining(id)).isZero();
      }
      assertThat(filesContaining(unique)).isZero();
      try (SharedLog wal = SharedLog.open(dir, bounded)) {
        assertThat(wal.groups()).containsExactly("kept");
        LogStore kept = wal.logStore("kept");
        assertThat(kept.entries(1, 61, Long.MAX_VALUE)).isEqualTo(entries(1, 60, 1, "kept"));
        // the id can be used again, for a new empty group
        assertThat(wal.logStore(id).lastIndex()).isZero();
        assertThat(wal.metaStore(id).load()).isEqualTo(HardState.INITIAL);
      }
    }

    private long filesContaining(String text) {
      try {
        return countFiles(text);
      } catch (IOException e) {
        throw new java.io.UncheckedIOException(e);
      }
    }

    private long countFiles(String text) throws IOException {
      byte[] needle = text.getBytes(StandardCharsets.UTF_8);
      long n = 0;
      try (Stream<Path> files = Files.walk(dir)) {
        for (Path p : (Iterable<Path>) files::iterator) {
          if (Files.isRegularFile(p) && find(p, needle) >= 0) {
            n++;
          }
        }
      }
      return n;
    }
  }
}
