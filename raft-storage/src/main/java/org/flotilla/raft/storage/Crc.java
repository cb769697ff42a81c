package org.flotilla.raft.storage;

import java.nio.ByteBuffer;
import java.util.zip.CRC32C;

/** CRC32C over byte buffer ranges, without disturbing the buffer's position or limit. */
final class Crc {
  private Crc() {}

  /**
   * Returns the CRC32C of {@code buffer[from, to)}.
   *
   * @param buffer the buffer
   * @param from the first byte
   * @param to one past the last byte
   * @return the checksum
   */
  static int of(ByteBuffer buffer, int from, int to) {
    CRC32C crc = new CRC32C();
    update(crc, buffer, from, to);
    return (int) crc.getValue();
  }

  /**
   * Feeds {@code buffer[from, to)} into {@code crc}.
   *
   * @param crc the checksum being computed
   * @param buffer the buffer
   * @param from the first byte
   * @param to one past the last byte
   */
  static void update(CRC32C crc, ByteBuffer buffer, int from, int to) {
    ByteBuffer view = buffer.duplicate();
    view.limit(to).position(from);
    crc.update(view);
  }
}
