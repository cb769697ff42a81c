package org.flotilla.raft.storage;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.flotilla.raft.spi.StorageException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A store's exclusive claim on its directory: an OS file lock ({@link FileChannel#tryLock()}) on a
 * lock file in the directory, held from the store's open to its close, with the holder's process id
 * written in the file so that a second opener can say who holds it. The operating system releases
 * the lock when the process dies, however it dies.
 *
 * <p><b>Two stores in one JVM.</b> An OS lock belongs to the process, and on POSIX systems closing
 * <em>any</em> descriptor of the file releases every lock the process holds on it. So a second
 * store in the same JVM must never open and close the lock file of a directory that a first store
 * holds: it would silently free the directory for other processes. Every lock this class holds is
 * therefore recorded in a JVM-wide table keyed by the lock file's identity (device and inode where
 * the platform has them), checked before the file is opened. A lock held by other code in this JVM
 * (another copy of this class in another class loader) shows up as {@link
 * OverlappingFileLockException}; the channel opened to find that out is then kept open, for the
 * same reason.
 *
 * <p>The lock file is never deleted: deleting it would let a second opener lock a new file while
 * the first holds the old one.
 *
 * <p>Thread-safe: acquiring and releasing are serialized by one JVM-wide monitor.
 */
final class DirectoryLock implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(DirectoryLock.class);

  // guarded by DirectoryLock.class: the identities of the lock files held in this JVM
  private static final Set<Object> held = new HashSet<>();

  // guarded by DirectoryLock.class: channels that must stay open (see the class comment)
  private static final List<FileChannel> parked = new ArrayList<>();

  private final Path dir;
  private final Path file;
  private final Object key;
  private final FileChannel channel;
  private boolean released; // guarded by DirectoryLock.class

  private DirectoryLock(Path dir, Path file, Object key, FileChannel channel) {
    this.dir = dir;
    this.file = file;
    this.key = key;
    this.channel = channel;
  }

  /**
   * Takes the lock of {@code dir}, creating the directory and the lock file if needed, or fails at
   * once if another store, in this process or another, holds it.
   *
   * @param dir the store's directory
   * @param name the lock file's name in it
   * @param what what the directory holds, for the error message ("log", "metadata", "snapshot")
   * @return the lock, held until {@link #close()}
   * @throws StorageException if the lock is held, naming the directory and the holder's process id
   *     where it is known, or if the directory or the lock file cannot be used
   */
  static synchronized DirectoryLock acquire(Path dir, String name, String what) {
    Path file = dir.resolve(name);
    try {
      Files.createDirectories(dir);
      Object key = identity(file);
      if (key != null && held.contains(key)) {
        throw inUse(what, dir, file, ProcessHandle.current().pid());
      }
      FileChannel ch =
          FileChannel.open(
              file, StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE);
      FileLock lock;
      try {
        if (key == null) {
          key = identity(file);
          if (held.contains(key)) {
            throw new OverlappingFileLockException();
          }
        }
        lock = ch.tryLock();
      } catch (OverlappingFileLockException e) {
        // held by other code in this JVM: closing ch would release its OS lock
        parked.add(ch);
        throw inUse(what, dir, file, holder(ch));
      } catch (IOException | RuntimeException e) {
        ch.close();
        throw e;
      }
      if (lock == null) {
        long pid = holder(ch);
        ch.close();
        throw inUse(what, dir, file, pid);
      }
      try {
        byte[] pid = (ProcessHandle.current().pid() + "\n").getBytes(StandardCharsets.US_ASCII);
        ch.truncate(0);
        ch.write(ByteBuffer.wrap(pid), 0);
      } catch (IOException e) {
        ch.close();
        throw e;
      }
      held.add(key);
      return new DirectoryLock(dir, file, key, ch);
    } catch (IOException e) {
      throw new StorageException("cannot lock " + what + " directory " + dir + ": " + e, e);
    }
  }

  /** Returns what identifies the file in this JVM: its device and inode, else its real path. */
  private static Object identity(Path file) throws IOException {
    try {
      Object key = Files.readAttributes(file, BasicFileAttributes.class).fileKey();
      return key != null ? key : file.toRealPath();
    } catch (NoSuchFileException e) {
      return null;
    }
  }

  /** Reads the process id the holder wrote into the lock file, or -1 if there is none yet. */
  private static long holder(FileChannel ch) {
    try {
      ByteBuffer b = ByteBuffer.allocate(32);
      while (b.hasRemaining() && ch.read(b, b.position()) > 0) {
        // read what is there, up to 32 bytes
      }
      return Long.parseLong(
          new String(b.array(), 0, b.position(), StandardCharsets.US_ASCII).trim());
    } catch (IOException | NumberFormatException e) {
      return -1;
    }
  }

  private static StorageException inUse(String what, Path dir, Path file, long pid) {
    String who =
        pid == ProcessHandle.current().pid()
            ? "another store open in this process (pid " + pid + ")"
            : pid > 0 ? "process " + pid : "another process (its id cannot be read)";
    return new StorageException(
        what
            + " directory "
            + dir
            + " is in use by "
            + who
            + " (lock file "
            + file
            + "): is another node running on this directory?");
  }

  /**
   * Releases the lock, as the operating system does when the process dies: the lock file stays,
   * with the last holder's process id in it. Idempotent.
   */
  @Override
  public void close() {
    synchronized (DirectoryLock.class) {
      if (released) {
        return;
      }
      released = true;
      held.remove(key);
      try {
        channel.close(); // releases the OS lock
      } catch (IOException e) {
        log.warn("Cannot close the lock file {} of {}", file, dir, e);
      }
    }
  }

  @Override
  public String toString() {
    return "DirectoryLock[" + file + "]";
  }
}
