package org.flotilla.raft.storage;

import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * One segment file of the log: its channel and the in-memory index of its records' positions.
 *
 * <p>Not thread-safe; confined to the store's event loop, except {@link #channel} (forced and
 * finally closed by the sync thread, which only reads the final {@link #path} and {@link
 * #deleted}).
 */
final class Segment {
  final Path path;
  final FileChannel channel;
  final long firstIndex;
  final long prevTerm;
  // offsets[i] is the file position of the record for index firstIndex + i; i < count
  private long[] offsets;
  private int count;
  // position after the last record: where the next one is written
  private long end;
  volatile boolean deleted;

  Segment(Path path, FileChannel channel, long firstIndex, long prevTerm) {
    this.path = path;
    this.channel = channel;
    this.firstIndex = firstIndex;
    this.prevTerm = prevTerm;
    this.offsets = new long[64];
    this.end = LogRecord.SEGMENT_HEADER;
  }

  Segment(
      Path path,
      FileChannel channel,
      long firstIndex,
      long prevTerm,
      long[] offsets,
      int count,
      long end) {
    this.path = path;
    this.channel = channel;
    this.firstIndex = firstIndex;
    this.prevTerm = prevTerm;
    this.offsets = offsets.length == 0 ? new long[64] : offsets;
    this.count = count;
    this.end = end;
  }

  /**
   * Returns the file name of the segment whose first index is given.
   *
   * @param firstIndex the first index
   * @return the name
   */
  static String fileName(long firstIndex) {
    return String.format("%020d.log", firstIndex);
  }

  int count() {
    return count;
  }

  long end() {
    return end;
  }

  /** Returns the last index held, {@code firstIndex - 1} when empty. */
  long lastIndex() {
    return firstIndex + count - 1;
  }

  long offset(long index) {
    return offsets[(int) (index - firstIndex)];
  }

  /** Records that the next index has a record at {@code position} of {@code size} bytes. */
  void add(long position, int size) {
    if (count == offsets.length) {
      offsets = Arrays.copyOf(offsets, count * 2);
    }
    offsets[count++] = position;
    end = position + size;
  }

  /** Forgets every record from {@code index} on; returns the position they started at. */
  long truncateFrom(long index) {
    int k = (int) (index - firstIndex);
    end = k < count ? offsets[k] : end;
    count = Math.min(count, k);
    return end;
  }

  @Override
  public String toString() {
    return path + " [" + firstIndex + ", " + lastIndex() + "]";
  }
}
