package org.flotilla.raft.storage;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Pattern;
import org.flotilla.raft.spi.HostStorage;
import org.flotilla.raft.spi.LogStore;
import org.flotilla.raft.spi.MetaStore;
import org.flotilla.raft.spi.SnapshotStore;
import org.flotilla.raft.spi.StorageException;

/**
 * The storage of a {@code RaftHost} on local disk: one {@link SharedLog} for every group's entries,
 * terms and votes (one {@code fsync} covers the appends of all groups), and a {@link
 * FileSnapshotStore} per group.
 *
 * <p>Layout under the directory: {@code wal/} (the shared log, docs/storage-format.md) and {@code
 * snapshots/<group id>/}, created by the group's first snapshot (an idle group has no directory, no
 * lock file and no open file; the log's directory lock covers the whole storage). {@link
 * #removeGroup(String)} records the group's removal in the log (durably) and deletes its snapshot
 * directory, so that nothing of it comes back after a crash and its bytes go as the log collects
 * its segments.
 *
 * <p>Thread-safe: the shared log is; each group's snapshot store is its own.
 */
public final class FileHostStorage implements HostStorage {

  // A group id that is a file name of its own in the snapshots directory: no "." or "..".
  private static final Pattern GROUP = Pattern.compile("(?!\\.{1,2}$)[A-Za-z0-9._-]{1,64}");

  private final Path snapshots;
  private final SharedLog log;
  private final int retainSnapshots;
  // The groups whose snapshot store is open: one store per group at a time, as the lock file of a
  // FileSnapshotStore of its own would ensure (the log's directory lock keeps other processes out
  // of the whole storage). One entry per open group; removed when its store closes.
  private final Set<String> openSnapshotStores = ConcurrentHashMap.newKeySet();

  private FileHostStorage(Path snapshots, SharedLog log, int retainSnapshots) {
    this.snapshots = snapshots;
    this.log = log;
    this.retainSnapshots = retainSnapshots;
  }

  /**
   * Opens (or creates) the storage in {@code dir}, with the shared log's default options and two
   * snapshots kept per group.
   *
   * @param dir the directory
   * @return the storage
   * @throws StorageException if it cannot be opened (see {@link SharedLog#open})
   */
  public static FileHostStorage open(Path dir) {
    return open(dir, SharedLog.Options.defaults(), 2);
  }

  /**
   * Opens (or creates) the storage in {@code dir}.
   *
   * @param dir the directory
   * @param options the shared log's options
   * @param retainSnapshots how many of its newest snapshots each group keeps, at least 1
   * @return the storage
   * @throws StorageException if it cannot be opened (see {@link SharedLog#open})
   */
  public static FileHostStorage open(Path dir, SharedLog.Options options, int retainSnapshots) {
    if (retainSnapshots < 1) {
      throw new IllegalArgumentException("retain at least one snapshot: " + retainSnapshots);
    }
    Path snapshots = dir.resolve("snapshots");
    try {
      Files.createDirectories(snapshots);
    } catch (IOException e) {
      throw new StorageException("cannot create " + snapshots + ": " + e.getMessage(), e);
    }
    return new FileHostStorage(
        snapshots, SharedLog.open(dir.resolve("wal"), options), retainSnapshots);
  }

  /**
   * Returns the shared log, for monitoring and for the offline tools.
   *
   * @return the log
   */
  public SharedLog log() {
    return log;
  }

  @Override
  public LogStore logStore(String groupId) {
    return log.logStore(check(groupId));
  }

  @Override
  public MetaStore metaStore(String groupId) {
    return log.metaStore(check(groupId));
  }

  @Override
  public SnapshotStore snapshotStore(String groupId) {
    String g = check(groupId);
    if (!openSnapshotStores.add(g)) {
      throw new StorageException(
          "the snapshot store of group " + g + " is already open in " + snapshots.getParent());
    }
    try {
      return FileSnapshotStore.openInHost(
          snapshots.resolve(g), retainSnapshots, () -> openSnapshotStores.remove(g));
    } catch (RuntimeException e) {
      openSnapshotStores.remove(g);
      throw e;
    }
  }

  /**
   * Removes a group: a durable removal record in the shared log, then its snapshot directory
   * deleted and the deletion synced. A crash in between leaves snapshots of a removed group, which
   * the next removal (or an operator) deletes; they are never read, since the group has no log.
   *
   * @param groupId the group
   * @throws StorageException if the removal cannot be recorded or the files deleted
   */
  @Override
  public void removeGroup(String groupId) {
    log.removeGroup(check(groupId));
    Path dir = snapshots.resolve(groupId);
    if (!Files.exists(dir)) {
      return;
    }
    try {
      try (DirectoryStream<Path> files = Files.newDirectoryStream(dir)) {
        for (Path f : files) {
          Files.delete(f);
        }
      }
      Files.delete(dir);
      SharedLog.syncDirectory(snapshots);
    } catch (IOException e) {
      throw new StorageException(
          "group "
              + groupId
              + " is removed from the log, but "
              + dir
              + " could not be deleted: "
              + e.getMessage(),
          e);
    }
  }

  /** Closes the shared log, syncing what it holds; the groups' stores must be closed first. */
  @Override
  public void close() {
    log.close();
  }

  private static String check(String groupId) {
    if (groupId == null || !GROUP.matcher(groupId).matches()) {
      throw new IllegalArgumentException(
          "a group id of a host's storage is 1 to 64 letters, digits, '.', '_' or '-', and not '.'"
              + " or '..': "
              + groupId);
    }
    return groupId;
  }

  @Override
  public String toString() {
    return "FileHostStorage[" + log + "]";
  }
}
