package org.flotilla.raft.spi;

/**
 * Storage shared by every group of a {@code RaftHost}: one write-ahead log for all groups' entries
 * and terms (one {@code fsync} covers every group's appends since the last), and each group's
 * snapshots.
 *
 * <p>The stores it returns follow their own interfaces' contracts exactly, each as if it were the
 * group's alone; a group's stores are opened when the group is created on the host and closed when
 * its node stops.
 *
 * <p>Threading: every method may be called from any thread; implementations are thread-safe.
 */
public interface HostStorage extends AutoCloseable {

  /**
   * Returns the log of one group, opened (recovered if the group has data).
   *
   * @param groupId the group's id
   * @return the group's log
   * @throws StorageException if it cannot be opened
   */
  LogStore logStore(String groupId);

  /**
   * Returns the term-and-vote store of one group.
   *
   * @param groupId the group's id
   * @return the group's metadata store
   * @throws StorageException if it cannot be opened
   */
  MetaStore metaStore(String groupId);

  /**
   * Returns the snapshot store of one group.
   *
   * @param groupId the group's id
   * @return the group's snapshot store
   * @throws StorageException if it cannot be opened
   */
  SnapshotStore snapshotStore(String groupId);

  /**
   * Deletes everything stored for a group: its log entries, term and vote, and snapshots. Its
   * stores must be closed first. Durable on return: after a crash the group does not come back.
   *
   * @param groupId the group's id
   * @throws StorageException if it cannot be done
   */
  void removeGroup(String groupId);

  /** Releases the storage's files and threads; the groups' stores must be closed first. */
  @Override
  void close();
}
