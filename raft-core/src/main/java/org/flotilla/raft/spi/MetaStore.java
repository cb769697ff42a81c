package org.flotilla.raft.spi;

import java.util.Optional;
import org.flotilla.raft.cluster.Configuration;

/**
 * Durable storage of a node's {@link HardState} (term and vote) and of the configuration it first
 * started from.
 *
 * <p>Threading: called only from the node's event loop (and, before it starts, from the thread that
 * calls {@code RaftNode.start()}). {@link #save(HardState)} is rare (once per term change or vote)
 * and durable on return, so it may block for one sync; {@link #saveInitialConfiguration} is called
 * once in a member's life, at its first start.
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
   * this one, never a mix. Durable on return. The stored initial configuration is kept.
   *
   * @param state the state
   * @throws StorageException if it cannot be saved (the node stops)
   */
  void save(HardState state);

  /**
   * Loads the configuration this member first started from, as saved by {@link
   * #saveInitialConfiguration}: the initial voters and learners of a new group, or {@link
   * Configuration#EMPTY} for a member that joined a running group. The node starts from it on every
   * later start (until the log or a snapshot holds a newer configuration), and refuses a different
   * list from its builder.
   *
   * <p>The default throws {@link UnsupportedOperationException}: a store that keeps none. The node
   * then starts from whatever its builder gives on every start, as it did before this method
   * existed, and warns that a member restarted with another list would run with that list.
   *
   * @return the stored configuration, or empty if none was saved (a new member, or metadata written
   *     by a version that did not store it)
   * @throws StorageException if the stored configuration cannot be read or is corrupt
   * @throws UnsupportedOperationException if this store keeps no initial configuration
   */
  default Optional<Configuration> loadInitialConfiguration() {
    throw new UnsupportedOperationException(
        getClass().getName() + " does not store the initial configuration");
  }

  /**
   * Saves the configuration this member starts from, before it first takes part: atomically with
   * the hard state (a crash leaves the previous metadata or the new one) and durably on return.
   * Later {@link #save(HardState)} calls keep it. Saving again replaces it.
   *
   * <p>The default throws {@link UnsupportedOperationException}, as {@link
   * #loadInitialConfiguration()} does; a store overrides both or neither.
   *
   * @param configuration the initial configuration, or {@link Configuration#EMPTY} for a member
   *     that joins a running group
   * @throws StorageException if it cannot be saved (the node does not start)
   * @throws UnsupportedOperationException if this store keeps no initial configuration
   */
  default void saveInitialConfiguration(Configuration configuration) {
    throw new UnsupportedOperationException(
        getClass().getName() + " does not store the initial configuration");
  }

  /**
   * Saves the state as {@link #save(HardState)} does, but may return before it is durable: {@code
   * onDurable} runs once it is (on any thread; it must not block). A store that shares one log and
   * one {@code fsync} among many groups (a {@link HostStorage}) overrides it, so that a group's
   * event loop does not wait for the disk and the saves of many groups share one {@code fsync}.
   *
   * <p>The node sends nothing after calling it until {@code onDurable} ran (Figure 2: term and vote
   * are persisted before answering anyone). Saves are durable in the order they are made. If the
   * save fails, {@code onDurable} never runs and the failure reaches the node as a failure of its
   * log store. The default saves at once and then runs {@code onDurable} on the calling thread.
   *
   * @param state the state
   * @param onDurable told once the state is durable
   * @throws StorageException if it cannot be saved (the node stops)
   */
  default void saveAsync(HardState state, Runnable onDurable) {
    save(state);
    onDurable.run();
  }

  /**
   * Saves the initial configuration as {@link #saveInitialConfiguration(Configuration)} does, but
   * may return before it is durable: {@code onDurable} runs once it is (on any thread; it must not
   * block). The node sends nothing until then, so it still takes part only once the configuration
   * is durable; a crash before leaves no configuration, as if the member never started. The default
   * saves at once and then runs {@code onDurable} on the calling thread.
   *
   * @param configuration the initial configuration, or {@link Configuration#EMPTY}
   * @param onDurable told once the configuration is durable
   * @throws StorageException if it cannot be saved (the node does not start)
   * @throws UnsupportedOperationException if this store keeps no initial configuration
   */
  default void saveInitialConfigurationAsync(Configuration configuration, Runnable onDurable) {
    saveInitialConfiguration(configuration);
    onDurable.run();
  }

  /** Releases the store's resources. */
  @Override
  void close();
}
