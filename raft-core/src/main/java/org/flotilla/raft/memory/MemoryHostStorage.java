package org.flotilla.raft.memory;

import java.util.concurrent.ConcurrentHashMap;
import org.flotilla.raft.spi.HostStorage;
import org.flotilla.raft.spi.LogStore;
import org.flotilla.raft.spi.MetaStore;
import org.flotilla.raft.spi.SnapshotStore;

/**
 * In-memory {@link HostStorage} for tests: each group gets its own {@link MemoryLogStore} (durable
 * at once), {@link MemoryMetaStore} and {@link MemorySnapshotStore}. A group's stores outlive its
 * node: asked again for them (a group created again on the host after it stopped), the storage
 * reopens the same stores, as after a restart, with everything they made durable.
 *
 * <p>Thread-safe: the registry is a concurrent map; each store is confined as its own class says.
 */
public final class MemoryHostStorage implements HostStorage {

  private record Stores(MemoryLogStore log, MemoryMetaStore meta, MemorySnapshotStore snapshots) {}

  private final ConcurrentHashMap<String, Stores> groups = new ConcurrentHashMap<>();

  /** Creates an empty storage. */
  public MemoryHostStorage() {}

  private Stores stores(String groupId) {
    return groups.computeIfAbsent(
        groupId,
        g -> new Stores(new MemoryLogStore(), new MemoryMetaStore(), new MemorySnapshotStore()));
  }

  /**
   * Returns the group's log, reopened (as after a restart) if it was closed.
   *
   * @param groupId the group's id
   * @return the log
   */
  @Override
  public LogStore logStore(String groupId) {
    MemoryLogStore log = stores(groupId).log();
    log.crash();
    return log;
  }

  /**
   * Returns the group's term-and-vote store, reopened if it was closed.
   *
   * @param groupId the group's id
   * @return the store
   */
  @Override
  public MetaStore metaStore(String groupId) {
    MemoryMetaStore meta = stores(groupId).meta();
    meta.crash();
    return meta;
  }

  /**
   * Returns the group's snapshot store, reopened if it was closed.
   *
   * @param groupId the group's id
   * @return the store
   */
  @Override
  public SnapshotStore snapshotStore(String groupId) {
    MemorySnapshotStore snapshots = stores(groupId).snapshots();
    snapshots.crash();
    return snapshots;
  }

  /**
   * Forgets a group's stores and everything in them.
   *
   * @param groupId the group's id
   */
  @Override
  public void removeGroup(String groupId) {
    groups.remove(groupId);
  }

  /**
   * Tells whether the storage holds anything of a group.
   *
   * @param groupId the group's id
   * @return true if the group's stores exist
   */
  public boolean holds(String groupId) {
    return groups.containsKey(groupId);
  }

  /** Does nothing: the stores hold no resources. */
  @Override
  public void close() {}
}
