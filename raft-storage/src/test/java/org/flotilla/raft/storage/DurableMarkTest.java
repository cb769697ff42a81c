package org.flotilla.raft.storage;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.Arrays;
import java.util.concurrent.locks.LockSupport;
import org.flotilla.raft.spi.DurableMark;
import org.flotilla.raft.spi.StorageException;
import org.flotilla.raft.testkit.RecordingListener;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The log's durable mark ({@code durable.mark}): the last entry reported durable, kept apart from
 * the segments so that a lost or zeroed tail record is noticed at the next open.
 */
@Timeout(60)
class DurableMarkTest {

  private static final Duration WAIT = Duration.ofSeconds(20);
  private static final FileLogStore.Options SMALL =
      FileLogStore.Options.defaults().withSegmentSize(16 << 10);
  private static final int RECORD = LogRecord.HEADER + 40;

  @TempDir Path dir;

  private void writeLog(int n) throws InterruptedException {
    try (FileLogStore store = FileLogStore.open(dir, SMALL)) {
      RecordingListener l = new RecordingListener();
      store.setListener(l);
      store.append(FileLogStoreFaultTest.entries(1, n, 1));
      l.awaitDurable(n, 1, WAIT);
    }
  }

  @Test
  void aNewLogHasNoMarkAndAClosedOneCoversItsLastEntry() throws Exception {
    try (FileLogStore store = FileLogStore.open(dir, SMALL)) {
      assertThat(store.durableMark()).isEqualTo(DurableMark.NONE);
    }
    writeLog(5);
    try (FileLogStore store = FileLogStore.open(dir, SMALL)) {
      assertThat(store.durableMark()).isEqualTo(new DurableMark(5, 1));
      assertThat(store.lastIndex()).isEqualTo(5);
    }
  }

  /** The sync thread records the mark when it goes idle, without waiting for close. */
  @Test
  void theMarkFollowsTheDurableReportsWhileTheStoreRuns() throws Exception {
    try (FileLogStore store = FileLogStore.open(dir, SMALL)) {
      RecordingListener l = new RecordingListener();
      store.setListener(l);
      store.append(FileLogStoreFaultTest.entries(1, 7, 1));
      l.awaitDurable(7, 1, WAIT);
      long deadline = System.nanoTime() + WAIT.toNanos();
      while (!store.durableMark().equals(new DurableMark(7, 1)) && System.nanoTime() < deadline) {
        LockSupport.parkNanos(1_000_000);
      }
      assertThat(store.durableMark()).isEqualTo(new DurableMark(7, 1));
    }
  }

  /**
   * Issue 14, finding 3: a follower's last durable record zeroed after a crash looked like the end
   * of the log, and nothing noticed that entries it had acknowledged were gone.
   */
  @Test
  void aZeroedLastRecordLeavesTheLogShortOfItsMark() throws Exception {
    writeLog(5);
    Path segment = dir.resolve(Segment.fileName(1));
    try (FileChannel ch = FileChannel.open(segment, StandardOpenOption.WRITE)) {
      ch.write(ByteBuffer.allocate(RECORD), LogRecord.SEGMENT_HEADER + 4L * RECORD);
      ch.force(false);
    }
    try (FileLogStore store = FileLogStore.open(dir, SMALL)) {
      assertThat(store.lastIndex()).isEqualTo(4);
      assertThat(store.durableMark()).isEqualTo(new DurableMark(5, 1));
      assertThat(store.durableMark().coveredBy(store.lastIndex(), store.term(4))).isFalse();
    }
  }

  @Test
  void aTornSlotFallsBackToTheOtherOne() throws Exception {
    writeLog(3);
    try (FileLogStore store = FileLogStore.open(dir, SMALL)) {
      RecordingListener l = new RecordingListener();
      store.setListener(l);
      store.append(FileLogStoreFaultTest.entries(4, 6, 2));
      l.awaitDurable(6, 2, WAIT);
    }
    // the newest slot holds 6@2, the other one 3@1; tear the newest
    DurableMark newest;
    try (FileLogStore store = FileLogStore.open(dir, SMALL)) {
      newest = store.durableMark();
    }
    assertThat(newest).isEqualTo(new DurableMark(6, 2));
    Path mark = dir.resolve(DurableMarkFile.FILE);
    int newestSlot = slotHolding(mark, 6);
    try (FileChannel ch = FileChannel.open(mark, StandardOpenOption.WRITE)) {
      ch.write(ByteBuffer.wrap(new byte[] {1, 2, 3}), newestSlot * (long) DurableMarkFile.SLOT + 3);
    }
    try (FileLogStore store = FileLogStore.open(dir, SMALL)) {
      assertThat(store.durableMark()).isEqualTo(new DurableMark(3, 1));
    }
  }

  @Test
  void aMarkFileWithNoValidSlotIsRefused() throws Exception {
    writeLog(3);
    try (FileChannel ch =
        FileChannel.open(dir.resolve(DurableMarkFile.FILE), StandardOpenOption.WRITE)) {
      byte[] junk = new byte[2 * DurableMarkFile.SLOT];
      Arrays.fill(junk, (byte) 0x5A);
      ch.write(ByteBuffer.wrap(junk), 0);
    }
    assertThatThrownBy(() -> FileLogStore.open(dir, SMALL))
        .isInstanceOf(StorageException.class)
        .hasMessageContaining(DurableMarkFile.FILE)
        .hasMessageContaining("corrupt");
  }

  private static int slotHolding(Path mark, long index) throws Exception {
    try (FileChannel ch = FileChannel.open(mark, StandardOpenOption.READ)) {
      for (int slot = 0; slot < 2; slot++) {
        ByteBuffer b = ByteBuffer.allocate(8);
        ch.read(b, (long) slot * DurableMarkFile.SLOT);
        if (b.getLong(0) == index) {
          return slot;
        }
      }
    }
    throw new AssertionError("no slot holds " + index);
  }
}
