package org.flotilla.raft.message;

import java.nio.ByteBuffer;

/**
 * One entry of the replicated log.
 *
 * <p>The payload is a read-only buffer whose position and limit frame the bytes; nobody changes it
 * after construction, so an entry can be shared between the event loop, storage and transport
 * threads without copying.
 *
 * @param index the entry's position in the log, starting at 1
 * @param term the leader's term when the entry was created
 * @param type what the payload holds
 * @param payload the entry's bytes (read-only)
 */
public record LogEntry(long index, long term, EntryType type, ByteBuffer payload) {

  /** Fixed per-entry overhead counted by {@link #sizeInBytes()}: index, term and type. */
  public static final int OVERHEAD_BYTES = 20;

  private static final ByteBuffer EMPTY = ByteBuffer.allocate(0).asReadOnlyBuffer();

  /**
   * Creates an entry, checking its fields.
   *
   * @param index the index, at least 1
   * @param term the term, at least 1
   * @param type the type
   * @param payload the payload; made read-only if it is not
   */
  public LogEntry {
    if (index < 1) {
      throw new IllegalArgumentException("index must be >= 1: " + index);
    }
    if (term < 1) {
      throw new IllegalArgumentException("term must be >= 1: " + term);
    }
    if (type == null) {
      throw new IllegalArgumentException("type is null");
    }
    if (payload == null) {
      payload = EMPTY;
    } else if (!payload.isReadOnly()) {
      payload = payload.asReadOnlyBuffer();
    }
  }

  /**
   * Returns a no-op entry.
   *
   * @param index the index
   * @param term the term
   * @return the entry
   */
  public static LogEntry noop(long index, long term) {
    return new LogEntry(index, term, EntryType.NOOP, EMPTY);
  }

  /**
   * Returns the payload as a new independent read-only view (position 0 of the payload).
   *
   * @return a duplicate of the payload buffer
   */
  public ByteBuffer payloadView() {
    return payload.duplicate();
  }

  /**
   * Returns the entry's size for flow control: payload bytes plus a fixed overhead.
   *
   * @return the size in bytes
   */
  public int sizeInBytes() {
    return payload.remaining() + OVERHEAD_BYTES;
  }

  @Override
  public String toString() {
    return "LogEntry[" + index + "@" + term + " " + type + " " + payload.remaining() + "B]";
  }
}
