package org.flotilla.raft.message;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Optional;

/**
 * The envelope around the command in every {@link EntryType#COMMAND} log entry: a version, the log
 * time the leader stamped it with, the client's session (id and sequence number) if it was
 * submitted in one, then the command the state machine receives. Offline tools decode it to show
 * entries.
 *
 * <p>Bytes: {@code version:u8 flags:u8 timestampMillis:i64} then, if flag bit 0 is set, {@code
 * clientIdLength:u16 clientId:utf8 sequence:i64}, then the command; integers big-endian.
 *
 * @param timestamp the log time in milliseconds the leader stamped the command with (0 until it
 *     does)
 * @param clientId the client's session id, if the command was submitted in a session
 * @param sequence the command's sequence number in the session; 0 outside one
 * @param command the command the state machine applies, read-only
 */
public record CommandEnvelope(
    long timestamp, Optional<String> clientId, long sequence, ByteBuffer command) {

  /** The envelope format's version. */
  public static final int VERSION = 1;

  /** The offset of the timestamp in an encoded envelope, which the leader fills in. */
  public static final int TIMESTAMP_OFFSET = 2;

  private static final int FLAG_SESSION = 1;

  /**
   * Wraps a command in an envelope, with timestamp 0.
   *
   * @param clientId the session's client id, or null outside a session
   * @param sequence the sequence number in the session (ignored outside one)
   * @param command the command
   * @return the encoded envelope, ready to read
   * @throws IllegalArgumentException if the client id is not 1 to 256 bytes of UTF-8
   */
  public static ByteBuffer encode(String clientId, long sequence, ByteBuffer command) {
    byte[] id = clientId == null ? null : clientId.getBytes(StandardCharsets.UTF_8);
    if (id != null && (id.length == 0 || id.length > 256)) {
      throw new IllegalArgumentException("client id must be 1-256 bytes: '" + clientId + "'");
    }
    int size = 10 + (id == null ? 0 : 2 + id.length + 8) + command.remaining();
    ByteBuffer b = ByteBuffer.allocate(size);
    b.put((byte) VERSION).put((byte) (id == null ? 0 : FLAG_SESSION)).putLong(0);
    if (id != null) {
      b.putShort((short) id.length).put(id).putLong(sequence);
    }
    b.put(command.duplicate());
    return b.flip();
  }

  /**
   * Decodes the payload of a command entry.
   *
   * @param payload the entry's payload (its position is not moved)
   * @return the envelope; its command shares the payload's bytes
   * @throws IllegalArgumentException if the payload is not an envelope this version reads
   */
  public static CommandEnvelope decode(ByteBuffer payload) {
    ByteBuffer b = payload.duplicate();
    if (b.remaining() < 10) {
      throw new IllegalArgumentException(
          "a command envelope has at least 10 bytes, not " + b.remaining());
    }
    int version = b.get();
    if (version != VERSION) {
      throw new IllegalArgumentException("unknown command envelope version " + version);
    }
    int flags = b.get();
    long timestamp = b.getLong();
    Optional<String> clientId = Optional.empty();
    long sequence = 0;
    if ((flags & FLAG_SESSION) != 0) {
      if (b.remaining() < 2) {
        throw new IllegalArgumentException("command envelope cut short in its client id");
      }
      int length = Short.toUnsignedInt(b.getShort());
      if (b.remaining() < length + 8) {
        throw new IllegalArgumentException("command envelope cut short in its session");
      }
      byte[] id = new byte[length];
      b.get(id);
      clientId = Optional.of(new String(id, StandardCharsets.UTF_8));
      sequence = b.getLong();
    }
    return new CommandEnvelope(timestamp, clientId, sequence, b.slice().asReadOnlyBuffer());
  }
}
