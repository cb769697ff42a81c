package org.flotilla.raft.storage;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.Optional;
import org.flotilla.raft.cluster.Configuration;
import org.flotilla.raft.spi.HardState;
import org.flotilla.raft.spi.MetaStore;
import org.flotilla.raft.spi.StorageException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The node's term and vote, and the configuration it first started from, in one small checksummed
 * file that can never be left half-written.
 *
 * <p>Every save ({@link #save(HardState)}, {@link #saveInitialConfiguration(Configuration)}) writes
 * a complete new copy of both to {@code meta.tmp}, forces it, renames it atomically over {@code
 * meta}, and forces the directory; a crash at any point leaves either the old file or the new one.
 * A leftover {@code meta.tmp} at open is a save that never completed and is deleted. The file is in
 * format version 2 once an initial configuration is stored, in version 1 (term and vote only)
 * before; both are read. The format is in docs/storage-format.md.
 *
 * <p>The store owns its directory: from open to close it holds the lock file {@code meta.lock}
 * there ({@link DirectoryLock}), and a second metadata store on the same directory, in this process
 * or another, fails to open.
 *
 * <p>Not thread-safe; confined to the node's event loop. A failed save is final: the store rejects
 * every later save.
 */
public final class FileMetaStore implements MetaStore {

  private static final Logger log = LoggerFactory.getLogger(FileMetaStore.class);

  /** Magic number of the metadata file: "FLMT". */
  static final int MAGIC = 0x464C4D54;

  /** Format version of a file without an initial configuration: term and vote only. */
  static final int VERSION = 1;

  /** Format version of a file that also holds the initial configuration. */
  static final int VERSION_INITIAL_CONFIGURATION = 2;

  static final String FILE = "meta";
  static final String TMP = "meta.tmp";
  static final String LOCK = "meta.lock";

  private final Path dir;
  private final DirectoryLock lock;
  private final ChannelFactory channels;
  private HardState state;
  private Configuration initialConfiguration; // null until stored
  private StorageException failure;
  private boolean closed;

  private FileMetaStore(Path dir, DirectoryLock lock, ChannelFactory channels, HardState state) {
    this.dir = dir;
    this.lock = lock;
    this.channels = channels;
    this.state = state;
  }

  /**
   * Opens the metadata in {@code dir}, creating the directory if needed.
   *
   * @param dir the directory
   * @return the store
   * @throws StorageException if the file is corrupt, of an unknown version, or unreadable, or if
   *     another metadata store (in this process or another) has the directory open
   */
  public static FileMetaStore open(Path dir) {
    return open(dir, ChannelFactory.DEFAULT);
  }

  static FileMetaStore open(Path dir, ChannelFactory channels) {
    DirectoryLock lock = DirectoryLock.acquire(dir, LOCK, "metadata");
    try {
      Path tmp = dir.resolve(TMP);
      if (Files.deleteIfExists(tmp)) {
        log.warn("Deleted {}: a metadata save that never completed", tmp);
      }
      Path file = dir.resolve(FILE);
      HardState state;
      Configuration initial = null;
      try {
        Stored stored = decode(file, ByteBuffer.wrap(Files.readAllBytes(file)));
        state = stored.state();
        initial = stored.initialConfiguration();
      } catch (NoSuchFileException e) {
        state = HardState.INITIAL;
      }
      FileMetaStore store = new FileMetaStore(dir, lock, channels, state);
      store.initialConfiguration = initial;
      return store;
    } catch (IOException e) {
      lock.close();
      throw new StorageException("cannot open metadata in " + dir + ": " + e, e);
    } catch (RuntimeException e) {
      lock.close();
      throw e;
    }
  }

  /**
   * What the file holds.
   *
   * @param state the term and vote
   * @param initialConfiguration the initial configuration, or null if none is stored
   */
  record Stored(HardState state, Configuration initialConfiguration) {}

  static ByteBuffer encode(HardState s) {
    return encode(new Stored(s, null));
  }

  static ByteBuffer encode(Stored stored) {
    HardState s = stored.state();
    byte[] vote = s.votedFor().getBytes(StandardCharsets.UTF_8);
    Configuration initial = stored.initialConfiguration();
    ByteBuffer config = initial == null ? null : initial.encode();
    int size = 4 + 4 + 8 + 4 + vote.length + (config == null ? 0 : 4 + config.remaining()) + 4;
    ByteBuffer b = ByteBuffer.allocate(size);
    b.putInt(MAGIC).putInt(config == null ? VERSION : VERSION_INITIAL_CONFIGURATION);
    b.putLong(s.term()).putInt(vote.length).put(vote);
    if (config != null) {
      b.putInt(config.remaining()).put(config);
    }
    b.putInt(Crc.of(b, 0, b.position()));
    return b.flip();
  }

  static Stored decode(Path file, ByteBuffer b) {
    if (b.remaining() < 8 || b.getInt(0) != MAGIC) {
      throw new StorageException(
          "metadata file " + file + " is not a Flotilla metadata file (offset 0)");
    }
    int version = b.getInt(4);
    if (version != VERSION && version != VERSION_INITIAL_CONFIGURATION) {
      throw new StorageException(
          "metadata file "
              + file
              + " has unknown format version "
              + version
              + " (this build reads versions "
              + VERSION
              + " and "
              + VERSION_INITIAL_CONFIGURATION
              + ")");
    }
    // Version 1: term, vote, checksum. Version 2: term, vote, configuration, checksum.
    int fixed = version == VERSION ? 24 : 28;
    if (b.remaining() < fixed) {
      throw new StorageException(
          "metadata file " + file + " is truncated: " + b.remaining() + " bytes");
    }
    int len = b.getInt(16);
    if (len < 0
        || len > b.remaining() - fixed
        || (version == VERSION && len != b.remaining() - 24)) {
      throw new StorageException(
          "metadata file " + file + " is corrupt at offset 16: vote length " + len);
    }
    int end = 20 + len;
    int configLength = 0;
    if (version == VERSION_INITIAL_CONFIGURATION) {
      configLength = b.getInt(end);
      if (configLength != b.remaining() - fixed - len) {
        throw new StorageException(
            "metadata file "
                + file
                + " is corrupt at offset "
                + end
                + ": configuration length "
                + configLength);
      }
      end += 4 + configLength;
    }
    if (b.getInt(end) != Crc.of(b, 0, end)) {
      throw new StorageException(
          "metadata file " + file + " is corrupt: checksum mismatch at offset " + end);
    }
    byte[] vote = new byte[len];
    b.get(20, vote);
    long term = b.getLong(8);
    if (term < 0) {
      throw new StorageException("metadata file " + file + " is corrupt at offset 8: term " + term);
    }
    Configuration initial = null;
    if (version == VERSION_INITIAL_CONFIGURATION) {
      int at = 24 + len;
      try {
        initial = Configuration.decode(b.duplicate().limit(at + configLength).position(at));
      } catch (IllegalArgumentException e) {
        throw new StorageException(
            "metadata file " + file + " is corrupt at offset " + at + ": " + e.getMessage(), e);
      }
    }
    return new Stored(new HardState(term, new String(vote, StandardCharsets.UTF_8)), initial);
  }

  @Override
  public HardState load() {
    checkOpen();
    return state;
  }

  @Override
  public void save(HardState newState) {
    if (newState == null) {
      throw new IllegalArgumentException("state is null");
    }
    write(new Stored(newState, initialConfiguration));
  }

  @Override
  public Optional<Configuration> loadInitialConfiguration() {
    checkOpen();
    return Optional.ofNullable(initialConfiguration);
  }

  @Override
  public void saveInitialConfiguration(Configuration configuration) {
    if (configuration == null) {
      throw new IllegalArgumentException("configuration is null");
    }
    write(new Stored(state, configuration));
  }

  private void write(Stored next) {
    checkOpen();
    if (failure != null) {
      throw new StorageException(
          "metadata store " + dir + " has failed: " + failure.getMessage(), failure);
    }
    Path tmp = dir.resolve(TMP);
    try {
      ByteBuffer bytes = encode(next);
      try (FileChannel ch =
          channels.open(
              tmp,
              StandardOpenOption.CREATE,
              StandardOpenOption.TRUNCATE_EXISTING,
              StandardOpenOption.WRITE)) {
        while (bytes.hasRemaining()) {
          ch.write(bytes);
        }
        ch.force(true);
      }
      Files.move(
          tmp,
          dir.resolve(FILE),
          StandardCopyOption.ATOMIC_MOVE,
          StandardCopyOption.REPLACE_EXISTING);
      try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
        d.force(true);
      }
      state = next.state();
      initialConfiguration = next.initialConfiguration();
    } catch (IOException e) {
      failure = new StorageException("cannot save metadata to " + tmp + ": " + e, e);
      throw failure;
    }
  }

  /** Closes the store and releases its directory. Idempotent. */
  @Override
  public void close() {
    closed = true;
    lock.close();
  }

  private void checkOpen() {
    if (closed) {
      throw new IllegalStateException("metadata store " + dir + " is closed");
    }
  }
}
