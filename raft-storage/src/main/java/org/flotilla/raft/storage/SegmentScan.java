package org.flotilla.raft.storage;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import org.flotilla.raft.spi.StorageException;

/**
 * The result of reading one segment file at recovery: its header, the position of every valid
 * record, and where and why reading stopped. Applies none of the recovery rules itself; {@link
 * FileLogStore} decides from it whether the segment is clean, has a torn tail, or is corrupt. The
 * walk over records ({@link #records}) is shared with the shared log's segments, so that both
 * formats tell a torn tail from corruption by the same rule.
 */
final class SegmentScan {
  /** Why the scan stopped. */
  enum End {
    /** Every byte after the last record is zero (or the file ends there). */
    CLEAN,
    /** An invalid record (or non-zero bytes) with no valid record after it. */
    TORN,
    /** An invalid record with a valid record for a later index after it. */
    CORRUPT,
    /** The header is missing or torn and the rest of the file is zeros. */
    TORN_HEADER
  }

  final Path path;
  final long firstIndex;
  final long prevTerm;
  long[] offsets = new long[1024];
  int count;
  long lastTerm;
  long end;
  End ending = End.CLEAN;
  String reason;
  long fileSize;

  private SegmentScan(Path path, long firstIndex, long prevTerm) {
    this.path = path;
    this.firstIndex = firstIndex;
    this.prevTerm = prevTerm;
    this.lastTerm = prevTerm;
    this.end = LogRecord.SEGMENT_HEADER;
  }

  long lastIndex() {
    return firstIndex + count - 1;
  }

  /**
   * Applies the recovery rules to this scan, given the scan of the segment before it: returns why
   * the log cannot be opened because of this segment, or null if it can. Not errors, because
   * recovery repairs them: a torn tail of the last segment (it is truncated) and a torn header of
   * the last segment when it is not the only one or starts at index 1 (it is deleted). Shared by
   * {@link FileLogStore}'s recovery and {@link LogInspector}, so that a verified log is one that
   * opens.
   *
   * @param previous the previous segment's scan, or null for the first segment
   * @param last whether this is the last segment
   * @return the error, naming the file and offset, or null
   */
  String error(SegmentScan previous, boolean last) {
    if (ending == End.TORN_HEADER) {
      if (!last) {
        return "segment " + path + " has a torn header (offset 0) but later segments follow";
      }
      if (previous == null && firstIndex != 1) {
        return "the only segment " + path + " has a torn header (offset 0): its base term is lost";
      }
      return null;
    }
    if (previous != null) {
      if (firstIndex != previous.lastIndex() + 1) {
        return "missing entries: segment "
            + previous.path
            + " ends at index "
            + previous.lastIndex()
            + " but the next segment "
            + path
            + " starts at "
            + firstIndex;
      }
      if (prevTerm != previous.lastTerm) {
        return "segment "
            + path
            + " (offset 16) says the previous term is "
            + prevTerm
            + " but "
            + previous.path
            + " ends with term "
            + previous.lastTerm;
      }
    }
    if (ending == End.CORRUPT || (ending == End.TORN && !last)) {
      return "corrupt log segment "
          + path
          + " at offset "
          + end
          + " (index "
          + (lastIndex() + 1)
          + "): "
          + reason
          + (ending == End.CORRUPT
              ? "; valid records follow, so this is not a torn write"
              : "; it is not the last segment");
    }
    return null;
  }

  /**
   * Reads a segment file.
   *
   * @param path the file
   * @param channel an open channel on it
   * @param nameIndex the first index its name claims
   * @param terms where the terms of the valid records are appended
   * @return the scan
   * @throws IOException if it cannot be read
   * @throws StorageException if its header names another format or version
   */
  static SegmentScan scan(Path path, FileChannel channel, long nameIndex, TermRuns terms)
      throws IOException {
    long size = channel.size();
    if (size > Integer.MAX_VALUE) {
      throw new StorageException("segment " + path + " is larger than 2 GiB: " + size + " bytes");
    }
    MappedByteBuffer buf = channel.map(FileChannel.MapMode.READ_ONLY, 0, size);
    int limit = (int) size;
    boolean headerOk = limit >= LogRecord.SEGMENT_HEADER && Crc.of(buf, 0, 28) == buf.getInt(28);
    if (!headerOk) {
      if (allZero(buf, Math.min(limit, LogRecord.SEGMENT_HEADER), limit)) {
        SegmentScan s = new SegmentScan(path, nameIndex, -1);
        s.ending = End.TORN_HEADER;
        s.reason = "torn segment header";
        s.fileSize = size;
        return s;
      }
      if (limit >= 8 && buf.getInt(0) == LogRecord.SEGMENT_MAGIC) {
        checkVersion(path, buf.getInt(4));
      }
      throw new StorageException(
          "segment " + path + " has a corrupt header (offset 0): bad magic or checksum");
    }
    if (buf.getInt(0) != LogRecord.SEGMENT_MAGIC) {
      throw new StorageException(
          "segment "
              + path
              + " is not a Flotilla log segment: magic "
              + Integer.toHexString(buf.getInt(0)));
    }
    checkVersion(path, buf.getInt(4));
    long firstIndex = buf.getLong(8);
    if (firstIndex != nameIndex) {
      throw new StorageException(
          "segment "
              + path
              + " holds first index "
              + firstIndex
              + " but its name says "
              + nameIndex);
    }
    SegmentScan s = new SegmentScan(path, firstIndex, buf.getLong(16));
    s.fileSize = size;
    RecordFormat format =
        new RecordFormat() {
          long expected = firstIndex;

          @Override
          public String invalidReason(ByteBuffer b, int pos, int lim) {
            String why = LogRecord.invalidReason(b, pos, lim, expected);
            if (why == null && b.getLong(pos + 8) < s.lastTerm) {
              why = "term " + b.getLong(pos + 8) + " lower than the previous term " + s.lastTerm;
            }
            return why;
          }

          @Override
          public int size(ByteBuffer b, int pos) {
            return LogRecord.HEADER + b.getInt(pos);
          }

          @Override
          public boolean validAt(ByteBuffer b, int o, int lim) {
            long index = b.getLong(o + 16);
            return (index == expected || index == expected + 1)
                && LogRecord.invalidReason(b, o, lim, -1) == null;
          }

          @Override
          public void accept(ByteBuffer b, int pos) {
            if (s.count == s.offsets.length) {
              s.offsets = java.util.Arrays.copyOf(s.offsets, s.count * 2);
            }
            s.offsets[s.count++] = pos;
            s.lastTerm = b.getLong(pos + 8);
            terms.append(expected, s.lastTerm);
            expected++;
          }
        };
    Stop stop = records(buf, LogRecord.SEGMENT_HEADER, limit, LogRecord.HEADER, format);
    s.end = stop.end();
    s.ending = stop.ending();
    s.reason = stop.reason();
    return s;
  }

  /**
   * How {@link #records} reads one format of records. The rules that tell the end of the records, a
   * torn tail and corruption apart are {@link #records}'s, shared by the log's segments and the
   * shared log's ({@code SharedLog}).
   */
  interface RecordFormat {
    /** Returns why the record at {@code pos} is not valid, or null if it is. */
    String invalidReason(ByteBuffer buf, int pos, int limit);

    /** Returns the size in bytes of the valid record at {@code pos}. */
    int size(ByteBuffer buf, int pos);

    /**
     * Tells whether a valid record that the scan would have read next starts at {@code pos}: found
     * after an invalid record, it proves corruption rather than a torn write.
     */
    boolean validAt(ByteBuffer buf, int pos, int limit);

    /** Takes the valid record at {@code pos}, the next in the file. */
    void accept(ByteBuffer buf, int pos);
  }

  /**
   * Where and why a walk over records stopped.
   *
   * @param end the position after the last valid record
   * @param ending why it stopped ({@link End#CLEAN}, {@link End#TORN} or {@link End#CORRUPT})
   * @param reason what was wrong with the record at {@code end}, or null for a clean end
   */
  record Stop(int end, End ending, String reason) {}

  /**
   * Reads records back to back from {@code start}: stops cleanly where the rest of the file is
   * zeros (or at its end); at an invalid record, stops with {@link End#CORRUPT} if a valid record
   * follows it somewhere in the file, else with {@link End#TORN}.
   *
   * @param buf the file's bytes (absolute positions)
   * @param start the first record's position
   * @param limit the end of the bytes
   * @param minHeader the size of a record's fixed header (the smallest record)
   * @param format the record format
   * @return where and why it stopped
   */
  static Stop records(ByteBuffer buf, int start, int limit, int minHeader, RecordFormat format) {
    int pos = start;
    while (pos != limit) {
      boolean zeroHead = limit - pos >= 8 ? buf.getLong(pos) == 0L : allZero(buf, pos, limit);
      if (zeroHead && allZero(buf, pos, limit)) {
        // a zero length and checksum, and only zeros after: the end of the records
        break;
      }
      String why = format.invalidReason(buf, pos, limit);
      if (why != null) {
        boolean corrupt = false;
        for (int o = pos + 1; o + minHeader <= limit && !corrupt; o++) {
          corrupt = format.validAt(buf, o, limit);
        }
        return new Stop(pos, corrupt ? End.CORRUPT : End.TORN, why);
      }
      int next = pos + format.size(buf, pos);
      format.accept(buf, pos);
      pos = next;
    }
    return new Stop(pos, End.CLEAN, null);
  }

  private static void checkVersion(Path path, int version) {
    if (version != LogRecord.SEGMENT_VERSION) {
      throw new StorageException(
          "segment "
              + path
              + " has unknown format version "
              + version
              + " (this build reads version "
              + LogRecord.SEGMENT_VERSION
              + ")");
    }
  }

  static boolean allZero(ByteBuffer buf, int from, int limit) {
    int i = from;
    for (; i + 8 <= limit; i += 8) {
      if (buf.getLong(i) != 0) {
        return false;
      }
    }
    for (; i < limit; i++) {
      if (buf.get(i) != 0) {
        return false;
      }
    }
    return true;
  }
}
