package org.flotilla.raft.spi;

import java.util.List;
import org.flotilla.raft.message.LogEntry;

/**
 * The durable Raft log.
 *
 * <p>Appends are visible at once and durable later: {@link #append(List)} returns as soon as the
 * entries can be read back, and the store reports through its {@link DurabilityListener} when they
 * have reached stable storage (after {@code fsync}). A store batches appends so that one sync
 * covers many of them (group commit). The node acknowledges entries to the leader, and the leader
 * counts itself towards a quorum, only for entries reported durable.
 *
 * <p>Threading: every method is called only from the node's event loop, except {@link #close()},
 * which may be called from any thread once the event loop has stopped. The listener is called from
 * the store's own thread and must not block.
 *
 * <p>Failures: a store that cannot write or sync must not carry on. It reports {@link
 * DurabilityListener#failed(Throwable)} (or throws {@link StorageException} from a method), and the
 * node stops: after a failed {@code fsync} the kernel may have dropped the dirty pages, so neither
 * retrying nor continuing is safe.
 */
public interface LogStore extends LogReader, AutoCloseable {

  /**
   * Sets the listener for durability reports. Called once, before the first append.
   *
   * @param listener the listener
   */
  void setListener(DurabilityListener listener);

  /**
   * Appends entries, first removing every entry at or after {@code entries.get(0).index()} (the
   * conflicting suffix, Raft §5.3).
   *
   * @param entries consecutive entries; the first index is in {@code [firstIndex(), lastIndex() +
   *     1]}
   * @throws IllegalArgumentException if the entries do not attach to the log
   * @throws StorageException if the store has failed
   */
  void append(List<LogEntry> entries);

  /**
   * Checks what {@link #append(List)} requires of its argument: at least one entry, the first
   * attaching to the log ({@code (baseIndex(), lastIndex() + 1]}), consecutive indexes, and terms
   * that never decrease along the log (a leader appends only in its own term). Stores call it first
   * thing in {@code append}.
   *
   * @param log the log the entries go to
   * @param entries the entries
   * @throws IllegalArgumentException naming the first violation
   */
  static void checkAppend(LogReader log, List<LogEntry> entries) {
    if (entries == null || entries.isEmpty()) {
      throw new IllegalArgumentException("no entries to append");
    }
    long first = entries.get(0).index();
    if (first <= log.baseIndex() || first > log.lastIndex() + 1) {
      throw new IllegalArgumentException(
          "entry "
              + first
              + " does not attach to the log ["
              + log.firstIndex()
              + ", "
              + log.lastIndex()
              + "]");
    }
    long prevTerm = log.term(first - 1);
    for (int i = 0; i < entries.size(); i++) {
      LogEntry e = entries.get(i);
      if (e.index() != first + i) {
        throw new IllegalArgumentException(
            "entries not consecutive: " + e.index() + " after " + (first + i - 1));
      }
      if (e.term() < prevTerm) {
        throw new IllegalArgumentException(
            "term decreases at index " + e.index() + ": " + e.term() + " after " + prevTerm);
      }
      prevTerm = e.term();
    }
  }

  /**
   * Discards the entries up to and including {@code index}, which a durable snapshot covers. The
   * store may keep some of them (for example to delete only whole segment files); {@link
   * #baseIndex()} then reports what it kept. Need not be durable on return: on restart the node
   * compacts again from its newest snapshot.
   *
   * @param index the last index to discard, at most {@link #lastIndex()}
   */
  void compact(long index);

  /**
   * Discards the whole log and starts an empty one after {@code (index, term)}, as when a snapshot
   * from the leader replaces it. Durable on return.
   *
   * @param index the new base index
   * @param term the new base term
   * @throws StorageException if the store cannot do it (the node stops)
   */
  void reset(long index, long term);

  /**
   * Returns the highest index known durable (reported or about to be reported to the listener).
   *
   * @return the durable index
   */
  long durableIndex();

  /**
   * Flushes and syncs whatever is pending and releases the store's files and threads. Entries
   * appended before the call are durable on return, unless the store has failed.
   */
  @Override
  void close();

  /**
   * Receives durability reports from a {@link LogStore}.
   *
   * <p>Called from the store's thread; implementations hand the report to the event loop and return
   * at once.
   */
  interface DurabilityListener {

    /**
     * Reports that every entry up to and including {@code index} is durable, {@code term} being the
     * term of the entry at {@code index} when it was written.
     *
     * @param index the durable index
     * @param term the term of that entry
     */
    void durable(long index, long term);

    /**
     * Reports one sync (group commit) for monitoring: what it covered and how long the {@code
     * fsync} took. Optional: a store that measures its syncs calls it on its sync thread, right
     * after the sync and before the matching {@link #durable}. The default does nothing.
     *
     * @param entries how many entries became durable with this sync (0 if it made none durable)
     * @param bytes how many bytes written since the previous sync it covered
     * @param nanos how long the sync took
     */
    default void synced(long entries, long bytes, long nanos) {}

    /**
     * Reports that the store failed and can make nothing more durable. The node stops.
     *
     * @param cause what went wrong
     */
    void failed(Throwable cause);
  }
}
