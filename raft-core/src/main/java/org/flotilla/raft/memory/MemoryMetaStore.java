package org.flotilla.raft.memory;

import java.util.Optional;
import org.flotilla.raft.cluster.Configuration;
import org.flotilla.raft.spi.HardState;
import org.flotilla.raft.spi.MetaStore;
import org.flotilla.raft.spi.StorageException;

/**
 * An in-memory {@link MetaStore} for tests and the deterministic simulator.
 *
 * <p>{@link #save(HardState)} and {@link #saveInitialConfiguration(Configuration)} are durable on
 * return, as the contract asks, so {@link #crash()} loses nothing: it only reopens a closed store,
 * so that one instance can outlive a simulated restart. {@link #fail(Throwable)} makes every later
 * save throw, as a failed {@code fsync} would.
 *
 * <p>Not thread-safe; confined to the thread that drives the node (its event loop, or the
 * simulator's single thread).
 */
public final class MemoryMetaStore implements MetaStore {

  private HardState state = HardState.INITIAL;
  private Configuration initialConfiguration; // null until saved
  private Throwable failure;
  private boolean closed;
  private long saves;

  /** Creates a store that holds {@link HardState#INITIAL}. */
  public MemoryMetaStore() {}

  @Override
  public HardState load() {
    checkOpen();
    return state;
  }

  @Override
  public void save(HardState newState) {
    checkOpen();
    if (newState == null) {
      throw new IllegalArgumentException("state is null");
    }
    if (failure != null) {
      throw new StorageException("meta store has failed: " + failure, failure);
    }
    state = newState;
    saves++;
  }

  @Override
  public Optional<Configuration> loadInitialConfiguration() {
    checkOpen();
    return Optional.ofNullable(initialConfiguration);
  }

  @Override
  public void saveInitialConfiguration(Configuration configuration) {
    checkOpen();
    if (configuration == null) {
      throw new IllegalArgumentException("configuration is null");
    }
    if (failure != null) {
      throw new StorageException("meta store has failed: " + failure, failure);
    }
    initialConfiguration = configuration;
  }

  /**
   * Returns how many saves of the hard state succeeded so far.
   *
   * @return the count
   */
  public long saveCount() {
    return saves;
  }

  /**
   * Simulates a power loss and restart: the saved state survives (saves are durable on return) and
   * a closed store is open again.
   */
  public void crash() {
    closed = false;
  }

  /**
   * Simulates a failing disk: every later save throws {@link StorageException}. The store never
   * recovers.
   *
   * @param cause the failure
   */
  public void fail(Throwable cause) {
    if (failure == null) {
      failure = cause == null ? new StorageException("injected storage failure") : cause;
    }
  }

  @Override
  public void close() {
    closed = true;
  }

  private void checkOpen() {
    if (closed) {
      throw new IllegalStateException("meta store is closed");
    }
  }
}
