package org.flotilla.raft.storage;

import java.nio.ByteBuffer;
import java.util.zip.CRC32C;
import org.flotilla.raft.message.EntryType;
import org.flotilla.raft.message.LogEntry;

/**
 * The on-disk layout of the shared log's records and of its segment header (docs/storage-format.md,
 * "The shared log"). Every record is tagged with a group number that a {@link #GROUP} record
 * earlier in the same segment maps to the group's id, so that every segment can be read on its own.
 *
 * <pre>
 * record:  0 int32 body length | 4 int32 CRC32C | 8 int8 kind | 9 int32 group number | 13 body
 * header:  0 int32 magic "FLWL" | 4 int32 version | 8 int64 sequence | 16 int64 reserved (0)
 *          | 24 int32 reserved (0) | 28 int32 CRC32C of bytes 0..27
 * </pre>
 *
 * <p>The record CRC32C covers the length field and every byte from the kind to the end of the body.
 * All integers are big-endian. Stateless.
 */
final class WalRecord {
  private WalRecord() {}

  /** Bytes of a record before its body. */
  static final int HEADER = 13;

  /** Bytes of an entry record before its payload. */
  static final int ENTRY_HEADER = HEADER + 17;

  /** The largest body accepted (and believed when reading a length). */
  static final int MAX_BODY = LogRecord.MAX_PAYLOAD + 17;

  /** Segment file magic number: "FLWL". */
  static final int SEGMENT_MAGIC = 0x464C574C;

  /** Segment format version written and understood. */
  static final int SEGMENT_VERSION = 1;

  /** Bytes of a segment header. */
  static final int SEGMENT_HEADER = 32;

  /** Declares a group number in this segment: base index (8), base term (8), id (UTF-8). */
  static final byte GROUP = 1;

  /** An appended entry: term, index, type, payload; removes the group's entries from index on. */
  static final byte ENTRY = 2;

  /** An entry copied by garbage collection: same body as {@link #ENTRY}, removes nothing. */
  static final byte REWRITE = 3;

  /** The group's metadata: the bytes of a {@code FileMetaStore} file (term, vote, config). */
  static final byte META = 4;

  /** The group's entries up to index (8) are compacted; the term (8) of that entry. */
  static final byte COMPACT = 5;

  /** The group's log is replaced by an empty one after index (8), term (8). */
  static final byte RESET = 6;

  /** The group is removed: its earlier records are dead. Empty body. */
  static final byte REMOVE = 7;

  private static final int TYPES = EntryType.values().length;

  /** Returns the size of an entry record. */
  static int entrySize(LogEntry e) {
    return ENTRY_HEADER + e.payload().remaining();
  }

  /** Encodes an entry record ({@link #ENTRY} or {@link #REWRITE}) at the buffer's position. */
  static void encodeEntry(ByteBuffer out, byte kind, int group, LogEntry e) {
    int start = out.position();
    ByteBuffer payload = e.payload().duplicate();
    out.putInt(17 + payload.remaining()).putInt(0).put(kind).putInt(group);
    out.putLong(e.term()).putLong(e.index()).put((byte) e.type().code()).put(payload);
    seal(out, start);
  }

  /** Encodes a {@link #GROUP} declaration. */
  static void encodeGroup(ByteBuffer out, int group, long baseIndex, long baseTerm, byte[] id) {
    int start = out.position();
    out.putInt(16 + id.length).putInt(0).put(GROUP).putInt(group);
    out.putLong(baseIndex).putLong(baseTerm).put(id);
    seal(out, start);
  }

  /** Encodes a {@link #COMPACT} or {@link #RESET} record. */
  static void encodePoint(ByteBuffer out, byte kind, int group, long index, long term) {
    int start = out.position();
    out.putInt(16).putInt(0).put(kind).putInt(group).putLong(index).putLong(term);
    seal(out, start);
  }

  /** Encodes a {@link #META} record around the bytes of a metadata file. */
  static void encodeMeta(ByteBuffer out, int group, ByteBuffer meta) {
    int start = out.position();
    out.putInt(meta.remaining()).putInt(0).put(META).putInt(group).put(meta.duplicate());
    seal(out, start);
  }

  /** Encodes a {@link #REMOVE} record. */
  static void encodeRemove(ByteBuffer out, int group) {
    int start = out.position();
    out.putInt(0).putInt(0).put(REMOVE).putInt(group);
    seal(out, start);
  }

  /**
   * Turns the record at {@code pos} into a record of {@code kind} for group number {@code group},
   * recomputing its checksum (garbage collection's copy of a live record).
   */
  static void retag(ByteBuffer buf, int pos, byte kind, int group) {
    buf.put(pos + 8, kind).putInt(pos + 9, group);
    buf.putInt(pos + 4, checksum(buf, pos, pos + HEADER + buf.getInt(pos)));
  }

  private static void seal(ByteBuffer out, int start) {
    out.putInt(start + 4, checksum(out, start, out.position()));
  }

  static int checksum(ByteBuffer buf, int start, int end) {
    CRC32C crc = new CRC32C();
    Crc.update(crc, buf, start, start + 4);
    Crc.update(crc, buf, start + 8, end);
    return (int) crc.getValue();
  }

  /** Returns the size of the (valid) record at {@code pos}. */
  static int size(ByteBuffer buf, int pos) {
    return HEADER + buf.getInt(pos);
  }

  static byte kind(ByteBuffer buf, int pos) {
    return buf.get(pos + 8);
  }

  static int group(ByteBuffer buf, int pos) {
    return buf.getInt(pos + 9);
  }

  /** The first long of the body: base index, term of an entry, or the point's index. */
  static long long0(ByteBuffer buf, int pos) {
    return buf.getLong(pos + HEADER);
  }

  /** The second long of the body: base term, index of an entry, or the point's term. */
  static long long1(ByteBuffer buf, int pos) {
    return buf.getLong(pos + HEADER + 8);
  }

  /**
   * Checks the record at {@code pos} and returns why it is not valid, or null if it is.
   *
   * @param buf the bytes (absolute positions)
   * @param pos where the record starts
   * @param limit where the readable bytes end
   * @return the reason, or null
   */
  static String invalidReason(ByteBuffer buf, int pos, int limit) {
    if (limit - pos < HEADER) {
      return "incomplete record header (" + (limit - pos) + " bytes)";
    }
    int len = buf.getInt(pos);
    if (len < 0 || len > MAX_BODY) {
      return "bad body length " + len;
    }
    if ((long) pos + HEADER + len > limit) {
      return "incomplete record (" + (HEADER + len) + " bytes claimed, " + (limit - pos) + " left)";
    }
    byte kind = buf.get(pos + 8);
    if (kind < GROUP || kind > REMOVE) {
      return "unknown record kind " + kind;
    }
    if (buf.getInt(pos + 4) != checksum(buf, pos, pos + HEADER + len)) {
      return "checksum mismatch";
    }
    switch (kind) {
      case ENTRY, REWRITE -> {
        if (len < 17) {
          return "entry record too short (" + len + " bytes)";
        }
        if (buf.getLong(pos + HEADER) < 1 || buf.getLong(pos + HEADER + 8) < 1) {
          return "bad entry " + buf.getLong(pos + HEADER + 8) + "@" + buf.getLong(pos + HEADER);
        }
        int type = buf.get(pos + HEADER + 16);
        if (type < 0 || type >= TYPES) {
          return "unknown entry type " + type;
        }
      }
      case GROUP -> {
        if (len < 16 || buf.getLong(pos + HEADER) < 0 || buf.getLong(pos + HEADER + 8) < 0) {
          return "bad group declaration";
        }
      }
      case COMPACT, RESET -> {
        if (len != 16 || buf.getLong(pos + HEADER) < 0 || buf.getLong(pos + HEADER + 8) < 0) {
          return "bad compaction or reset point";
        }
      }
      case REMOVE -> {
        if (len != 0) {
          return "bad removal record";
        }
      }
      default -> {
        // META: the body has its own checks when decoded
      }
    }
    return null;
  }

  /** Decodes the entry record at {@code pos}, already checked, copying its payload. */
  static LogEntry decodeEntry(ByteBuffer buf, int pos) {
    int len = buf.getInt(pos) - 17;
    byte[] payload = new byte[len];
    buf.get(pos + ENTRY_HEADER, payload);
    return new LogEntry(
        buf.getLong(pos + HEADER + 8),
        buf.getLong(pos + HEADER),
        EntryType.fromCode(buf.get(pos + HEADER + 16)),
        ByteBuffer.wrap(payload));
  }

  /** Returns a segment header, flipped. */
  static ByteBuffer segmentHeader(long sequence) {
    ByteBuffer b = ByteBuffer.allocate(SEGMENT_HEADER);
    b.putInt(SEGMENT_MAGIC).putInt(SEGMENT_VERSION).putLong(sequence).putLong(0).putInt(0);
    b.putInt(Crc.of(b, 0, 28));
    return b.flip();
  }
}
