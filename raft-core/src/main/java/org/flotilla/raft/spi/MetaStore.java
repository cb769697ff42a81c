package org.flotilla.raft.spi;

/**
 * Durable storage of a node's {@link HardState} (term and vote).
 *
 * <p>Threading: called only from the node's event loop. {@link #save(HardState)} is rare (once per
 * term change or vote) and durable on return, so it may block for one sync.
 */
public interface MetaStore extends AutoCloseable {

  /**
   * Loads the last saved state, or {@link HardState#INITIAL} for a new node.
   *
   * @return the state
   * @throws StorageException if the stored state cannot be read or is corrupt
   */
  HardState load();

  /**
   * Saves the state atomically: after a crash, {@link #load()} returns either the previous state or
   * this one, never a mix. Durable on return.
   *
   * @param state the state
   * @throws StorageException if it cannot be saved (the node stops)
   */
  void save(HardState state);

  /** Releases the store's resources. */
  @Override
  void close();
}
