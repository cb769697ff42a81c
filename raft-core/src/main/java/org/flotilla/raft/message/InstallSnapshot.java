package org.flotilla.raft.message;

import java.nio.ByteBuffer;
import org.flotilla.raft.cluster.Configuration;

/**
 * One chunk of a snapshot sent by the leader to a member whose log is behind the leader's first
 * index (Raft §7).
 *
 * <p>The protocol core only decides <em>that</em> a member needs a snapshot and what it covers; the
 * runtime streams the bytes as a sequence of chunks with increasing {@code offset}, each
 * acknowledged by an {@link InstallSnapshotResponse}. The last chunk has {@code done} set; the
 * receiver checks the CRC32C of the whole snapshot against {@code checksum} before installing it.
 *
 * @param from the leader
 * @param to the receiver
 * @param term the leader's term
 * @param snapshotIndex the last index the snapshot covers
 * @param snapshotTerm the term of that entry
 * @param configuration the configuration in force at {@code snapshotIndex}
 * @param totalSize the snapshot's size in bytes
 * @param checksum the CRC32C of the whole snapshot
 * @param offset where this chunk's data starts in the snapshot
 * @param data the chunk's bytes (read-only)
 * @param done whether this is the last chunk
 */
public record InstallSnapshot(
    String from,
    String to,
    long term,
    long snapshotIndex,
    long snapshotTerm,
    Configuration configuration,
    long totalSize,
    int checksum,
    long offset,
    ByteBuffer data,
    boolean done)
    implements RaftMessage {

  /**
   * Creates the message, checking its fields.
   *
   * @param from the leader
   * @param to the receiver
   * @param term the term
   * @param snapshotIndex the snapshot index
   * @param snapshotTerm the snapshot term
   * @param configuration the configuration
   * @param totalSize the total size
   * @param checksum the checksum
   * @param offset the offset
   * @param data the data
   * @param done the last-chunk flag
   */
  public InstallSnapshot {
    RaftMessage.checkHeader(from, to, term);
    RaftMessage.checkIndex("snapshotIndex", snapshotIndex);
    RaftMessage.checkIndex("snapshotTerm", snapshotTerm);
    RaftMessage.checkIndex("totalSize", totalSize);
    RaftMessage.checkIndex("offset", offset);
    if (configuration == null) {
      throw new IllegalArgumentException("snapshot without configuration");
    }
    if (data == null) {
      data = ByteBuffer.allocate(0);
    }
    if (!data.isReadOnly()) {
      data = data.asReadOnlyBuffer();
    }
    if (offset > totalSize - data.remaining()) {
      throw new IllegalArgumentException(
          "chunk [" + offset + ", " + (offset + data.remaining()) + ") beyond size " + totalSize);
    }
    if (done && offset + data.remaining() != totalSize) {
      throw new IllegalArgumentException("last chunk does not end at the snapshot's size");
    }
  }

  @Override
  public int sizeInBytes() {
    return 128 + data.remaining();
  }
}
