package org.flotilla.raft.storage;

import java.nio.ByteBuffer;
import java.util.zip.CRC32C;
import org.flotilla.raft.message.EntryType;
import org.flotilla.raft.message.LogEntry;

/**
 * The on-disk layout of one log record and of a segment file's header (docs/storage-format.md).
 *
 * <pre>
 * record:  0 int32 payload length | 4 int32 CRC32C | 8 int64 term | 16 int64 index | 24 int8 type
 *          | 25 payload
 * header:  0 int32 magic "FLSG" | 4 int32 version | 8 int64 first index | 16 int64 previous term
 *          | 24 int32 reserved (0) | 28 int32 CRC32C of bytes 0..27
 * </pre>
 *
 * <p>The record CRC32C covers the length field and every byte from the term to the end of the
 * payload. All integers are big-endian.
 */
final class LogRecord {
  private LogRecord() {}

  /** Bytes of a record before its payload. */
  static final int HEADER = 25;

  /** The largest payload accepted (and believed when reading a length). */
  static final int MAX_PAYLOAD = 256 << 20;

  /** Segment file magic number: "FLSG". */
  static final int SEGMENT_MAGIC = 0x464C5347;

  /** Segment file format version written and understood. */
  static final int SEGMENT_VERSION = 1;

  /** How many entry types there are (codes 0 .. TYPES - 1). */
  private static final int TYPES = EntryType.values().length;

  /** Bytes of a segment file's header. */
  static final int SEGMENT_HEADER = 32;

  /**
   * Returns the size of the record for an entry.
   *
   * @param e the entry
   * @return header plus payload bytes
   */
  static int size(LogEntry e) {
    return HEADER + e.payload().remaining();
  }

  /**
   * Encodes an entry at the buffer's position, advancing it.
   *
   * @param e the entry
   * @param out a big-endian buffer with at least {@link #size(LogEntry)} bytes remaining
   */
  static void encode(LogEntry e, ByteBuffer out) {
    int start = out.position();
    ByteBuffer payload = e.payload().duplicate();
    out.putInt(payload.remaining());
    out.putInt(0);
    out.putLong(e.term());
    out.putLong(e.index());
    out.put((byte) e.type().code());
    out.put(payload);
    out.putInt(start + 4, checksum(out, start, out.position()));
  }

  /**
   * Computes the checksum of the record in {@code buf[start, end)}.
   *
   * @param buf the buffer
   * @param start where the record starts
   * @param end where it ends
   * @return the CRC32C over the length field and bytes 8 to the end
   */
  static int checksum(ByteBuffer buf, int start, int end) {
    CRC32C crc = new CRC32C();
    Crc.update(crc, buf, start, start + 4);
    Crc.update(crc, buf, start + 8, end);
    return (int) crc.getValue();
  }

  /**
   * Checks the record at {@code pos} and returns why it is not valid, or null if it is.
   *
   * @param buf the bytes (absolute positions)
   * @param pos where the record starts
   * @param limit where the readable bytes end
   * @param expectedIndex the index the record must have, or -1 for any
   * @return the reason it is not a valid record, or null
   */
  static String invalidReason(ByteBuffer buf, int pos, int limit, long expectedIndex) {
    if (limit - pos < HEADER) {
      return "incomplete record header (" + (limit - pos) + " bytes)";
    }
    int len = buf.getInt(pos);
    if (len < 0 || len > MAX_PAYLOAD) {
      return "bad payload length " + len;
    }
    if ((long) pos + HEADER + len > limit) {
      return "incomplete record (" + (HEADER + len) + " bytes claimed, " + (limit - pos) + " left)";
    }
    if (buf.getInt(pos + 4) != checksum(buf, pos, pos + HEADER + len)) {
      return "checksum mismatch";
    }
    long index = buf.getLong(pos + 16);
    if (expectedIndex >= 0 && index != expectedIndex) {
      return "out-of-order index " + index + " (expected " + expectedIndex + ")";
    }
    if (buf.getLong(pos + 8) < 1) {
      return "bad term " + buf.getLong(pos + 8);
    }
    int type = buf.get(pos + 24);
    if (type < 0 || type >= TYPES) {
      return "unknown entry type " + type;
    }
    return null;
  }

  /**
   * Decodes a record already checked by {@link #invalidReason}.
   *
   * @param buf the bytes (absolute positions)
   * @param pos where the record starts
   * @return the entry, with a copy of the payload
   */
  static LogEntry decode(ByteBuffer buf, int pos) {
    int len = buf.getInt(pos);
    byte[] payload = new byte[len];
    buf.get(pos + HEADER, payload);
    return new LogEntry(
        buf.getLong(pos + 16),
        buf.getLong(pos + 8),
        EntryType.fromCode(buf.get(pos + 24)),
        ByteBuffer.wrap(payload));
  }

  /**
   * Returns a segment header.
   *
   * @param firstIndex the index of the segment's first record
   * @param prevTerm the term of the entry at {@code firstIndex - 1} (0 if none)
   * @return the header bytes, flipped
   */
  static ByteBuffer segmentHeader(long firstIndex, long prevTerm) {
    ByteBuffer b = ByteBuffer.allocate(SEGMENT_HEADER);
    b.putInt(SEGMENT_MAGIC).putInt(SEGMENT_VERSION).putLong(firstIndex).putLong(prevTerm).putInt(0);
    b.putInt(Crc.of(b, 0, 28));
    return b.flip();
  }
}
