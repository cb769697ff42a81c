package org.flotilla.raft.storage;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.LinkedHashMap;
import java.util.Map;
import org.flotilla.raft.spi.DurableMark;
import org.flotilla.raft.spi.StorageException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The shared log's durable marks ({@link DurableMark}), one per group, in a file of their own
 * ({@code wal.marks}) so that a lost tail of the segments does not take them along.
 *
 * <p>The file is an 8-byte header ({@code "FLMK"}, version 1) and then records {@code id length (4)
 * | CRC32C (4) of the length and of bytes 8.. | index (8) | term (8) | id (UTF-8)}; index and term
 * -1 record the group's removal. The latest record for a group wins. Marks only lag (a mark is
 * written after the force that made its entry durable), so reading stops at the first record that
 * is not valid: a torn last write loses only a lag. At open and whenever the file has grown well
 * beyond the live marks it is rewritten (a temporary file, forced, renamed, the directory forced).
 *
 * <p>Not thread-safe: guarded by the shared log's marks lock.
 */
final class GroupMarks implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(GroupMarks.class);

  static final String FILE = "wal.marks";
  static final String TMP = "wal.marks.tmp";
  static final int MAGIC = 0x464C4D4B;
  static final int VERSION = 1;
  private static final int HEADER = 8;
  private static final int RECORD = 24;

  private final Path dir;
  private final ChannelFactory channels;
  private FileChannel channel;
  private long size;
  private long rewrittenSize;
  private ByteBuffer pending = ByteBuffer.allocate(4096);

  private GroupMarks(Path dir, ChannelFactory channels) {
    this.dir = dir;
    this.channels = channels;
  }

  /**
   * Reads the marks in {@code dir}.
   *
   * @return each group's latest mark; a removed group maps to null
   * @throws StorageException if the file has another format or version
   */
  static Map<String, DurableMark> read(Path dir) throws IOException {
    Map<String, DurableMark> marks = new LinkedHashMap<>();
    Path file = dir.resolve(FILE);
    if (!Files.exists(file)) {
      return marks;
    }
    ByteBuffer b = ByteBuffer.wrap(Files.readAllBytes(file));
    if (b.remaining() < HEADER) {
      log.warn(
          "Durable marks {} hold no header ({} bytes): a first write that did not complete",
          file,
          b.remaining());
      return marks;
    }
    if (b.getInt(0) != MAGIC || b.getInt(4) != VERSION) {
      throw new StorageException(
          "durable marks " + file + " have an unknown magic or version at offset 0");
    }
    int pos = HEADER;
    while (pos + RECORD <= b.limit()) {
      int len = b.getInt(pos);
      if (len <= 0 || len > 1 << 16 || pos + RECORD + len > b.limit()) {
        break;
      }
      if (b.getInt(pos + 4) != WalRecord.checksum(b, pos, pos + RECORD + len)) {
        log.warn(
            "Durable marks {}: invalid record at offset {}; the marks after it are lost (they"
                + " only protect against lost writes)",
            file,
            pos);
        break;
      }
      byte[] id = new byte[len];
      b.get(pos + RECORD, id);
      long index = b.getLong(pos + 8);
      long term = b.getLong(pos + 16);
      String name = new String(id, StandardCharsets.UTF_8);
      marks.put(name, index < 0 ? null : new DurableMark(index, term));
      pos += RECORD + len;
    }
    return marks;
  }

  /**
   * Writes a new file holding exactly {@code marks} and opens it for appending.
   *
   * @param dir the directory
   * @param channels how to open files
   * @param marks the marks of the live groups
   * @return the open file
   */
  static GroupMarks create(Path dir, ChannelFactory channels, Map<String, DurableMark> marks)
      throws IOException {
    GroupMarks m = new GroupMarks(dir, channels);
    m.rewrite(marks);
    return m;
  }

  /** Replaces the file by one that holds exactly {@code marks}. */
  void rewrite(Map<String, DurableMark> marks) throws IOException {
    Path tmp = dir.resolve(TMP);
    pending.clear();
    pending.putInt(MAGIC).putInt(VERSION);
    for (Map.Entry<String, DurableMark> e : marks.entrySet()) {
      add(e.getKey(), e.getValue());
    }
    try (FileChannel ch =
        channels.open(
            tmp,
            StandardOpenOption.CREATE,
            StandardOpenOption.TRUNCATE_EXISTING,
            StandardOpenOption.WRITE)) {
      writeAll(ch, pending.flip(), 0);
      ch.force(false);
    }
    if (channel != null) {
      channel.close();
    }
    Files.move(tmp, dir.resolve(FILE), StandardCopyOption.ATOMIC_MOVE);
    SharedLog.syncDirectory(dir);
    channel = channels.open(dir.resolve(FILE), StandardOpenOption.READ, StandardOpenOption.WRITE);
    size = channel.size();
    rewrittenSize = size;
    pending.clear();
  }

  /** Queues a mark (or, for null, a removal) for the next {@link #flush()}. */
  void add(String id, DurableMark mark) {
    byte[] name = id.getBytes(StandardCharsets.UTF_8);
    if (pending.remaining() < RECORD + name.length) {
      ByteBuffer bigger =
          ByteBuffer.allocate(
              Math.max(pending.capacity() * 2, pending.position() + RECORD + name.length));
      pending.flip();
      bigger.put(pending);
      pending = bigger;
    }
    int start = pending.position();
    pending.putInt(name.length).putInt(0);
    pending.putLong(mark == null ? -1 : mark.index()).putLong(mark == null ? -1 : mark.term());
    pending.put(name);
    pending.putInt(start + 4, WalRecord.checksum(pending, start, pending.position()));
  }

  /** Writes and forces what {@link #add} queued. */
  void flush() throws IOException {
    if (pending.position() == 0) {
      return;
    }
    pending.flip();
    size += writeAll(channel, pending, size);
    pending.clear();
    channel.force(false);
  }

  /** Tells whether the file has grown enough beyond its last rewrite to be rewritten. */
  boolean wantsRewrite() {
    return size > Math.max(64 << 10, 4 * rewrittenSize);
  }

  private static long writeAll(FileChannel ch, ByteBuffer b, long at) throws IOException {
    long p = at;
    while (b.hasRemaining()) {
      p += ch.write(b, p);
    }
    return p - at;
  }

  @Override
  public void close() throws IOException {
    if (channel != null) {
      channel.close();
    }
  }
}
