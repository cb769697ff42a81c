package org.flotilla.raft.storage;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.locks.ReentrantLock;
import java.util.regex.Pattern;
import java.util.zip.CRC32C;
import org.flotilla.raft.cluster.Configuration;
import org.flotilla.raft.spi.SnapshotMeta;
import org.flotilla.raft.spi.SnapshotStore;
import org.flotilla.raft.spi.StorageException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * State-machine snapshots as files: {@code snapshot-<index>-<term>.snap}, each a checksummed header
 * with the {@link SnapshotMeta}, the snapshot's bytes, and a trailer with their length and CRC32C.
 *
 * <p>A sink writes to {@code <name>.tmp}; {@link Sink#commit()} writes the trailer, forces the
 * file, renames it into place atomically and forces the directory, then deletes all but the newest
 * {@code retain} snapshots. A temporary file found at open is a snapshot whose rename never
 * happened, and is deleted. A reader verifies the CRC32C as it streams and fails at the end if it
 * does not match. The format is in docs/storage-format.md.
 *
 * <p>The store owns its directory: from open to close it holds the lock file {@code snapshots.lock}
 * there ({@link DirectoryLock}), and a second snapshot store on the same directory, in this process
 * or another, fails to open. A group's store in a {@link FileHostStorage} ({@link #openInHost})
 * holds no lock file of its own, and creates its directory only for its first snapshot: the host
 * storage's lock covers every group's directory, it refuses a second store for a group itself, and
 * so an idle group costs no open file, no directory and no lock (a host runs thousands of groups).
 *
 * <p>Thread-safe: {@link #latest()} reads the directory, commits and deletions are serialized by
 * one lock, and a reader keeps its own open channel, so a deleted snapshot stays readable.
 */
public final class FileSnapshotStore implements SnapshotStore {

  private static final Logger log = LoggerFactory.getLogger(FileSnapshotStore.class);
  private static final Pattern NAME = Pattern.compile("snapshot-(\\d{20})-(\\d{20})\\.snap");

  /** Magic number at the start of a snapshot file: "FLSN". */
  static final int MAGIC = 0x464C534E;

  /** Magic number ending the trailer: "FLSE". */
  static final int TRAILER_MAGIC = 0x464C5345;

  /** Format version written and understood. */
  static final int VERSION = 1;

  /** Trailer: int64 data length, int32 data CRC32C, int32 trailer magic. */
  static final int TRAILER = 16;

  static final String LOCK = "snapshots.lock";

  private final Path dir;
  // null for a group's store in a host storage (openInHost): the host's lock covers it
  private final DirectoryLock lock;
  // run once on close (a host storage's store: the host forgets it is open); null otherwise
  private final Runnable onClose;
  private final int retain;
  private final ChannelFactory channels;
  private final ReentrantLock commitLock = new ReentrantLock();
  private volatile boolean closed;

  private FileSnapshotStore(
      Path dir, DirectoryLock lock, Runnable onClose, int retain, ChannelFactory channels) {
    this.dir = dir;
    this.lock = lock;
    this.onClose = onClose;
    this.retain = retain;
    this.channels = channels;
  }

  /**
   * Opens the snapshot directory, creating it if needed, and deletes snapshots whose commit never
   * completed.
   *
   * @param dir the directory
   * @param retain how many of the newest snapshots to keep, at least 1
   * @return the store
   * @throws StorageException if the directory cannot be created or read, or another snapshot store
   *     (in this process or another) has it open; unchecked, as the other stores' {@code open}
   */
  public static FileSnapshotStore open(Path dir, int retain) {
    return open(dir, retain, ChannelFactory.DEFAULT);
  }

  static FileSnapshotStore open(Path dir, int retain, ChannelFactory channels) {
    if (retain < 1) {
      throw new IllegalArgumentException("must retain at least one snapshot: " + retain);
    }
    DirectoryLock lock = DirectoryLock.acquire(dir, LOCK, "snapshot");
    try (DirectoryStream<Path> stream = Files.newDirectoryStream(dir, "*.tmp")) {
      for (Path p : stream) {
        log.warn("Deleting {}: a snapshot whose commit (rename) never happened", p);
        Files.delete(p);
      }
    } catch (IOException e) {
      lock.close();
      throw new StorageException(
          "cannot open snapshot directory " + dir + " (deleting unfinished snapshots): " + e, e);
    } catch (RuntimeException e) {
      lock.close();
      throw e;
    }
    return new FileSnapshotStore(dir, lock, null, retain, channels);
  }

  /**
   * Opens a group's store in a host storage: no lock file (the caller holds the lock of the whole
   * storage and lets one store per group be open), and the directory is created by the first
   * snapshot, not now. Deletes snapshots whose commit never completed, if the directory exists.
   *
   * @param dir the group's directory, perhaps not yet created
   * @param retain how many of the newest snapshots to keep, at least 1
   * @param onClose run once when the store closes
   * @return the store
   * @throws StorageException if the directory exists and cannot be read
   */
  static FileSnapshotStore openInHost(Path dir, int retain, Runnable onClose) {
    if (retain < 1) {
      throw new IllegalArgumentException("must retain at least one snapshot: " + retain);
    }
    if (Files.isDirectory(dir)) {
      try (DirectoryStream<Path> stream = Files.newDirectoryStream(dir, "*.tmp")) {
        for (Path p : stream) {
          log.warn("Deleting {}: a snapshot whose commit (rename) never happened", p);
          Files.delete(p);
        }
      } catch (IOException e) {
        throw new StorageException(
            "cannot open snapshot directory " + dir + " (deleting unfinished snapshots): " + e, e);
      }
    }
    return new FileSnapshotStore(dir, null, onClose, retain, ChannelFactory.DEFAULT);
  }

  private static String fileName(long index, long term) {
    return String.format("snapshot-%020d-%020d.snap", index, term);
  }

  /** Returns the committed snapshot files, oldest first. */
  private List<Path> committed() throws IOException {
    List<Path> files = new ArrayList<>();
    if (lock == null && !Files.isDirectory(dir)) {
      return files; // a host's group that never took a snapshot
    }
    try (DirectoryStream<Path> stream = Files.newDirectoryStream(dir, "snapshot-*.snap")) {
      for (Path p : stream) {
        if (NAME.matcher(p.getFileName().toString()).matches()) {
          files.add(p);
        }
      }
    }
    files.sort((a, b) -> a.getFileName().toString().compareTo(b.getFileName().toString()));
    return files;
  }

  /**
   * Returns how many committed snapshots the directory holds.
   *
   * @return the count
   * @throws StorageException if the directory cannot be read
   */
  public int count() {
    try {
      return committed().size();
    } catch (IOException e) {
      throw new StorageException("cannot list snapshot directory " + dir + ": " + e, e);
    }
  }

  @Override
  public Optional<Stored> latest() throws IOException {
    checkOpen();
    List<Path> files = committed();
    for (int i = files.size() - 1; i >= 0; i--) {
      try {
        return Optional.of(read(files.get(i)));
      } catch (java.nio.file.NoSuchFileException e) {
        // deleted by a concurrent commit; an older one is no better, but a newer exists
        return latest();
      }
    }
    return Optional.empty();
  }

  /**
   * Reads a snapshot file copied out of a member's snapshot directory (a backup), for {@code
   * RaftNode.restoreFromBackup}. Its header, configuration and trailer are checked now; its data is
   * checked against its CRC32C as it is streamed, and a stream over damaged data fails at its end.
   *
   * @param file a {@code snapshot-<index>-<term>.snap} file (the name itself is not required)
   * @return the snapshot
   * @throws StorageException if the file is not a complete, undamaged Flotilla snapshot
   * @throws IOException if the file cannot be read
   */
  public static Stored readBackup(Path file) throws IOException {
    return read(file);
  }

  private static FileStored read(Path path) throws IOException {
    try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
      long size = ch.size();
      ByteBuffer fixed = ByteBuffer.allocate(28);
      readFully(ch, fixed, 0);
      if (fixed.getInt(0) != MAGIC) {
        throw new StorageException("snapshot " + path + " is not a Flotilla snapshot (offset 0)");
      }
      if (fixed.getInt(4) != VERSION) {
        throw new StorageException(
            "snapshot "
                + path
                + " has unknown format version "
                + fixed.getInt(4)
                + " (this build reads version "
                + VERSION
                + ")");
      }
      int configLen = fixed.getInt(24);
      if (configLen < 0 || 28L + configLen + 4 + TRAILER > size) {
        throw new StorageException(
            "snapshot " + path + " is corrupt at offset 24: config length " + configLen);
      }
      ByteBuffer header = ByteBuffer.allocate(28 + configLen + 4);
      readFully(ch, header, 0);
      int headerEnd = 28 + configLen;
      if (header.getInt(headerEnd) != Crc.of(header, 0, headerEnd)) {
        throw new StorageException(
            "snapshot " + path + " has a corrupt header: checksum mismatch at offset " + headerEnd);
      }
      ByteBuffer trailer = ByteBuffer.allocate(TRAILER);
      readFully(ch, trailer, size - TRAILER);
      long dataStart = headerEnd + 4L;
      long dataLen = trailer.getLong(0);
      if (trailer.getInt(12) != TRAILER_MAGIC || dataLen != size - TRAILER - dataStart) {
        throw new StorageException(
            "snapshot " + path + " has a corrupt trailer at offset " + (size - TRAILER));
      }
      Configuration config;
      try {
        config = Configuration.decode(header.duplicate().position(28).limit(headerEnd).slice());
      } catch (IllegalArgumentException e) {
        throw new StorageException(
            "snapshot " + path + " has a corrupt configuration at offset 28", e);
      }
      SnapshotMeta meta = new SnapshotMeta(fixed.getLong(8), fixed.getLong(16), config);
      return new FileStored(path, meta, dataStart, dataLen, trailer.getInt(8));
    }
  }

  private static void readFully(FileChannel ch, ByteBuffer buf, long pos) throws IOException {
    long p = pos;
    while (buf.hasRemaining()) {
      int n = ch.read(buf, p);
      if (n < 0) {
        throw new IOException("unexpected end of file at offset " + p);
      }
      p += n;
    }
  }

  @Override
  public Sink create(SnapshotMeta meta) throws IOException {
    checkOpen();
    if (meta == null) {
      throw new IllegalArgumentException("meta is null");
    }
    if (lock == null && !Files.isDirectory(dir)) {
      // A host's group's first snapshot: its directory, durably (the commit forces only the
      // directory itself, so its entry in the parent is forced here).
      Files.createDirectories(dir);
      SharedLog.syncDirectory(dir.getParent());
    }
    Path tmp = dir.resolve(fileName(meta.index(), meta.term()) + "." + System.nanoTime() + ".tmp");
    FileChannel ch =
        channels.open(
            tmp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE, StandardOpenOption.READ);
    try {
      ByteBuffer config = meta.configuration().encode();
      ByteBuffer header = ByteBuffer.allocate(28 + config.remaining() + 4);
      header.putInt(MAGIC).putInt(VERSION).putLong(meta.index()).putLong(meta.term());
      header.putInt(config.remaining()).put(config);
      header.putInt(Crc.of(header, 0, header.position()));
      header.flip();
      while (header.hasRemaining()) {
        ch.write(header);
      }
    } catch (IOException | RuntimeException e) {
      ch.close();
      Files.deleteIfExists(tmp);
      throw e;
    }
    return new FileSink(meta, tmp, ch);
  }

  private void prune() throws IOException {
    List<Path> files = committed();
    for (int i = 0; i < files.size() - retain; i++) {
      Files.deleteIfExists(files.get(i));
    }
  }

  private void checkOpen() throws IOException {
    if (closed) {
      throw new IOException("snapshot store " + dir + " is closed");
    }
  }

  /**
   * Closes the store and releases its directory, after a commit in progress. Readers already open
   * stay readable. Idempotent.
   */
  @Override
  public void close() {
    commitLock.lock();
    try {
      if (closed) {
        return;
      }
      closed = true;
      if (lock != null) {
        lock.close();
      }
      if (onClose != null) {
        onClose.run();
      }
    } finally {
      commitLock.unlock();
    }
  }

  /**
   * For tests: what the death of the process leaves behind. The directory lock is released, as the
   * operating system releases it, and nothing else is done: sinks keep their temporary files and
   * channels. The store must not be used afterwards.
   */
  void crash() {
    closed = true;
    if (lock != null) {
      lock.close();
    }
    if (onClose != null) {
      onClose.run();
    }
  }

  /** A committed snapshot file; immutable. */
  private static final class FileStored implements Stored {
    private final Path path;
    private final SnapshotMeta meta;
    private final long dataStart;
    private final long size;
    private final int checksum;

    FileStored(Path path, SnapshotMeta meta, long dataStart, long size, int checksum) {
      this.path = path;
      this.meta = meta;
      this.dataStart = dataStart;
      this.size = size;
      this.checksum = checksum;
    }

    @Override
    public SnapshotMeta meta() {
      return meta;
    }

    @Override
    public long size() {
      return size;
    }

    @Override
    public int checksum() {
      return checksum;
    }

    @Override
    public InputStream open() throws IOException {
      return new VerifyingInput(
          path, FileChannel.open(path, StandardOpenOption.READ), dataStart, size, checksum);
    }

    @Override
    public String toString() {
      return "snapshot " + meta.index() + "@" + meta.term() + " " + path;
    }
  }

  /** Streams a snapshot's bytes and fails at the end if their CRC32C does not match. */
  private static final class VerifyingInput extends InputStream {
    private final Path path;
    private final FileChannel channel;
    private final long end;
    private final int expected;
    private final CRC32C crc = new CRC32C();
    private final ByteBuffer buffer = ByteBuffer.allocate(64 << 10);
    private long position;

    VerifyingInput(Path path, FileChannel channel, long start, long size, int expected) {
      this.path = path;
      this.channel = channel;
      this.position = start;
      this.end = start + size;
      this.expected = expected;
      buffer.limit(0);
    }

    private boolean fill() throws IOException {
      if (buffer.hasRemaining()) {
        return true;
      }
      if (position >= end) {
        return false;
      }
      buffer.clear().limit((int) Math.min(buffer.capacity(), end - position));
      int n = channel.read(buffer, position);
      if (n < 0) {
        throw new IOException("snapshot " + path + " ends early at offset " + position);
      }
      buffer.flip();
      crc.update(buffer.duplicate());
      position += n;
      if (position >= end && (int) crc.getValue() != expected) {
        throw new IOException("snapshot " + path + " is corrupt: checksum mismatch of its data");
      }
      return true;
    }

    @Override
    public int read() throws IOException {
      return fill() ? buffer.get() & 0xff : -1;
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
      if (len == 0) {
        return 0;
      }
      if (!fill()) {
        return -1;
      }
      int n = Math.min(len, buffer.remaining());
      buffer.get(b, off, n);
      return n;
    }

    @Override
    public void close() throws IOException {
      channel.close();
    }
  }

  /** A snapshot being written to its temporary file. Not thread-safe. */
  private final class FileSink implements Sink {
    private final SnapshotMeta meta;
    private final Path tmp;
    private final FileChannel channel;
    private final CRC32C crc = new CRC32C();
    private final ByteBuffer buffer = ByteBuffer.allocate(64 << 10);
    private long size;
    private boolean done;
    private final OutputStream output =
        new OutputStream() {
          @Override
          public void write(int b) throws IOException {
            checkWritable();
            if (!buffer.hasRemaining()) {
              drain();
            }
            buffer.put((byte) b);
            crc.update(b);
            size++;
          }

          @Override
          public void write(byte[] b, int off, int len) throws IOException {
            checkWritable();
            crc.update(b, off, len);
            size += len;
            int o = off;
            int left = len;
            while (left > 0) {
              if (!buffer.hasRemaining()) {
                drain();
              }
              int n = Math.min(left, buffer.remaining());
              buffer.put(b, o, n);
              o += n;
              left -= n;
            }
          }
        };

    FileSink(SnapshotMeta meta, Path tmp, FileChannel channel) {
      this.meta = meta;
      this.tmp = tmp;
      this.channel = channel;
    }

    private void checkWritable() throws IOException {
      if (done) {
        throw new IOException("snapshot sink for " + meta.index() + " is closed");
      }
    }

    private void drain() throws IOException {
      buffer.flip();
      while (buffer.hasRemaining()) {
        channel.write(buffer);
      }
      buffer.clear();
    }

    @Override
    public SnapshotMeta meta() {
      return meta;
    }

    @Override
    public OutputStream output() {
      return output;
    }

    @Override
    public long size() {
      return size;
    }

    @Override
    public int checksum() {
      return (int) crc.getValue();
    }

    @Override
    public Stored commit() throws IOException {
      checkWritable();
      checkOpen();
      done = true;
      Path target = dir.resolve(fileName(meta.index(), meta.term()));
      try {
        drain();
        ByteBuffer trailer = ByteBuffer.allocate(TRAILER);
        trailer.putLong(size).putInt(checksum()).putInt(TRAILER_MAGIC).flip();
        while (trailer.hasRemaining()) {
          channel.write(trailer);
        }
        channel.force(true);
        channel.close();
        commitLock.lock();
        try {
          checkOpen(); // once closed, the directory may belong to another store
          Files.move(
              tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
          try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
            d.force(true);
          }
          FileStored stored = read(target);
          prune();
          return stored;
        } finally {
          commitLock.unlock();
        }
      } catch (IOException | RuntimeException e) {
        abandon();
        throw e;
      }
    }

    private void abandon() {
      try {
        channel.close();
        Files.deleteIfExists(tmp);
      } catch (IOException e) {
        log.warn("Cannot delete abandoned snapshot {}", tmp, e);
      }
    }

    @Override
    public void close() {
      if (!done) {
        done = true;
        abandon();
      }
    }
  }
}
