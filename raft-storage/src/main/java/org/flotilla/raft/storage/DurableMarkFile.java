package org.flotilla.raft.storage;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import org.flotilla.raft.spi.DurableMark;
import org.flotilla.raft.spi.StorageException;

/**
 * The log's durable mark ({@link DurableMark}): the last entry the log store reported durable, kept
 * in its own small file so that a lost or zeroed write at the log's tail does not take it along.
 *
 * <p>The file {@code durable.mark} holds two 32-byte slots written in turn, so a torn write of one
 * slot leaves the other: {@code index (8) | term (8) | sequence (8) | reserved (4) | CRC32C of
 * bytes 0..27 (4)}, big-endian. At open the valid slot with the higher sequence wins; a file with
 * no valid slot is refused (it was written, so the log may have acknowledged entries).
 *
 * <p>Invariant: the mark written never passes what the segments hold durably; it is written only
 * after the {@code fdatasync} that made its entry durable has returned.
 *
 * <p>Not thread-safe: written by the log store's sync thread (and by {@code close} once that thread
 * has stopped), read at open.
 */
final class DurableMarkFile implements AutoCloseable {

  static final String FILE = "durable.mark";
  static final int SLOT = 32;

  private final Path path;
  private final FileChannel channel;
  private long sequence;
  private DurableMark written;

  private DurableMarkFile(Path path, FileChannel channel, long sequence, DurableMark written) {
    this.path = path;
    this.channel = channel;
    this.sequence = sequence;
    this.written = written;
  }

  /**
   * Opens (or creates) the mark file in {@code dir}.
   *
   * @param dir the log directory
   * @param channels how to open files
   * @return the file, whose {@link #mark()} is what was last written ({@link DurableMark#NONE} for
   *     a new one)
   * @throws StorageException if it cannot be read, or was written but holds no valid slot
   */
  static DurableMarkFile open(Path dir, ChannelFactory channels) {
    Path path = dir.resolve(FILE);
    try {
      FileChannel ch =
          channels.open(
              path, StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE);
      try {
        long size = ch.size();
        long bestSeq = 0;
        DurableMark best = DurableMark.NONE;
        boolean anyWritten = false;
        for (int slot = 0; slot < 2 && (slot + 1) * (long) SLOT <= size; slot++) {
          ByteBuffer b = ByteBuffer.allocate(SLOT);
          while (b.hasRemaining() && ch.read(b, (long) slot * SLOT + b.position()) >= 0) {
            // read the whole slot
          }
          if (isZero(b)) {
            continue;
          }
          anyWritten = true;
          if (b.getInt(28) == Crc.of(b, 0, 28) && b.getLong(16) > bestSeq) {
            bestSeq = b.getLong(16);
            best = new DurableMark(b.getLong(0), b.getLong(8));
          }
        }
        if (anyWritten && bestSeq == 0) {
          throw new StorageException(
              "durable mark "
                  + path
                  + " is corrupt (no valid slot): cannot tell how much of the log this member may"
                  + " have acknowledged");
        }
        return new DurableMarkFile(path, ch, bestSeq, best);
      } catch (IOException | RuntimeException e) {
        ch.close();
        throw e;
      }
    } catch (IOException e) {
      throw new StorageException("cannot open durable mark " + path + ": " + e, e);
    }
  }

  private static boolean isZero(ByteBuffer b) {
    for (int i = 0; i < SLOT; i++) {
      if (b.get(i) != 0) {
        return false;
      }
    }
    return true;
  }

  /** Returns the mark last written (or read at open). */
  DurableMark mark() {
    return written;
  }

  /**
   * Writes {@code mark} into the older slot and forces it, if it is later than the mark written.
   *
   * @param mark the new mark, durable in the log already
   * @throws IOException if the write or the force fails
   */
  void write(DurableMark mark) throws IOException {
    if (mark.equals(written) || !written.coveredBy(mark.index(), mark.term())) {
      return;
    }
    long seq = sequence + 1;
    ByteBuffer b = ByteBuffer.allocate(SLOT);
    b.putLong(0, mark.index()).putLong(8, mark.term()).putLong(16, seq);
    b.putInt(28, Crc.of(b, 0, 28));
    long pos = (seq % 2) * SLOT;
    while (b.hasRemaining()) {
      pos += channel.write(b, pos);
    }
    channel.force(false);
    sequence = seq;
    written = mark;
  }

  @Override
  public void close() throws IOException {
    channel.close();
  }

  @Override
  public String toString() {
    return "DurableMarkFile[" + path + " " + written + "]";
  }
}
