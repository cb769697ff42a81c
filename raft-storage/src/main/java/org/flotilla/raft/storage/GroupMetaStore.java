package org.flotilla.raft.storage;

import java.util.Optional;
import org.flotilla.raft.cluster.Configuration;
import org.flotilla.raft.spi.HardState;
import org.flotilla.raft.spi.MetaStore;

/**
 * One group's view of a {@link SharedLog} as a {@link MetaStore}: every save writes the group's
 * whole metadata (term, vote, initial configuration, in the format of a {@code FileMetaStore} file)
 * as one checksummed record, so a crash leaves the previous record or this one. Recovery takes the
 * group's latest record. {@link #save} waits for the group commit that covers the record; {@link
 * #saveAsync} and {@link #saveInitialConfigurationAsync} return at once and are told by the log's
 * sync thread when that commit is done, so that thousands of groups electing at once (a host's
 * start) share a few {@code fsync}s instead of each holding its event loop's thread for one.
 *
 * <p>Not thread-safe; confined to the group's event loop.
 */
final class GroupMetaStore implements MetaStore {
  private final SharedLog wal;
  private final WalGroup g;
  private boolean closed;

  GroupMetaStore(SharedLog wal, WalGroup g) {
    this.wal = wal;
    this.g = g;
  }

  private void checkOpen() {
    if (closed) {
      throw new IllegalStateException("metadata of group " + g.id + " is closed");
    }
    if (g.removed) {
      throw new IllegalStateException("group " + g.id + " was removed from " + wal.directory());
    }
  }

  @Override
  public HardState load() {
    checkOpen();
    return g.meta == null ? HardState.INITIAL : g.meta.state();
  }

  @Override
  public void save(HardState state) {
    if (state == null) {
      throw new IllegalArgumentException("state is null");
    }
    checkOpen();
    wal.saveMeta(
        g, new FileMetaStore.Stored(state, g.meta == null ? null : g.meta.initialConfiguration()));
  }

  /** Writes the record and returns; {@code onDurable} runs on the log's sync thread. */
  @Override
  public void saveAsync(HardState state, Runnable onDurable) {
    if (state == null) {
      throw new IllegalArgumentException("state is null");
    }
    checkOpen();
    wal.saveMetaAsync(
        g,
        new FileMetaStore.Stored(state, g.meta == null ? null : g.meta.initialConfiguration()),
        onDurable);
  }

  @Override
  public Optional<Configuration> loadInitialConfiguration() {
    checkOpen();
    return Optional.ofNullable(g.meta == null ? null : g.meta.initialConfiguration());
  }

  @Override
  public void saveInitialConfiguration(Configuration configuration) {
    if (configuration == null) {
      throw new IllegalArgumentException("configuration is null");
    }
    checkOpen();
    wal.saveMeta(g, new FileMetaStore.Stored(load(), configuration));
  }

  /** Writes the record and returns; {@code onDurable} runs on the log's sync thread. */
  @Override
  public void saveInitialConfigurationAsync(Configuration configuration, Runnable onDurable) {
    if (configuration == null) {
      throw new IllegalArgumentException("configuration is null");
    }
    checkOpen();
    wal.saveMetaAsync(g, new FileMetaStore.Stored(load(), configuration), onDurable);
  }

  @Override
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    g.lock.lock();
    try {
      g.metaOpen = false;
    } finally {
      g.lock.unlock();
    }
  }

  @Override
  public String toString() {
    return "GroupMetaStore[" + g.id + " in " + wal.directory() + "]";
  }
}
