package org.flotilla.raft.storage;

import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

/**
 * One segment file of the shared log: its channel, where the next record goes, how many of its
 * bytes some group still needs, and which groups declared themselves in it.
 *
 * <p>Thread-safety: {@link #end} and {@link #declared} are guarded by the shared log's append lock
 * while the segment is active; once it is sealed (a roll, under that lock) they no longer change
 * and the garbage collector reads them. {@link #live} is atomic: every thread that makes a record
 * live or dead adjusts it. {@link #channel} is read by any thread (positional reads and writes),
 * forced by the sync thread (and at the roll), and closed only by the garbage collector after the
 * segment is deleted.
 */
final class WalSegment {
  final long sequence;
  final Path path;
  final FileChannel channel;
  // position after the last record: where the next one is written (append lock)
  long end;
  // the groups with a GROUP record here (append lock while active)
  final List<WalGroup> declared = new ArrayList<>();
  // bytes of records here that some group needs (entries in its log, its latest metadata, its
  // latest statement of its base)
  final AtomicLong live = new AtomicLong();
  volatile boolean sealed;

  WalSegment(long sequence, Path path, FileChannel channel, long end) {
    this.sequence = sequence;
    this.path = path;
    this.channel = channel;
    this.end = end;
  }

  /** Returns the file name of the segment with this sequence number. */
  static String fileName(long sequence) {
    return String.format("%020d.wal", sequence);
  }

  /** Packs a record's place: the segment's sequence in the high 32 bits, the offset below. */
  static long place(long sequence, long offset) {
    return (sequence << 32) | offset;
  }

  static long sequenceOf(long place) {
    return place >>> 32;
  }

  static long offsetOf(long place) {
    return place & 0xFFFF_FFFFL;
  }

  @Override
  public String toString() {
    return path + " (live " + live.get() + " of " + end + " bytes)";
  }
}
