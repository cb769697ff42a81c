package org.flotilla.raft.spi;

import java.util.List;
import org.flotilla.raft.message.LogEntry;

/**
 * Read access to a Raft log: the view of the log that the protocol core needs.
 *
 * <p>The log holds the entries {@code firstIndex()..lastIndex()}; everything up to {@code
 * baseIndex() = firstIndex() - 1} has been compacted into a snapshot, and {@code baseTerm()} is the
 * term of the entry at {@code baseIndex()}. An empty new log has base index 0 and base term 0.
 *
 * <p>Not thread-safe: called only from the node's event loop.
 */
public interface LogReader {

  /**
   * Returns the index just before the first entry held (the last compacted index), 0 if none.
   *
   * @return the base index
   */
  long baseIndex();

  /**
   * Returns the term of the entry at {@link #baseIndex()}, 0 if none.
   *
   * @return the base term
   */
  long baseTerm();

  /**
   * Returns the index of the first entry held: {@code baseIndex() + 1}.
   *
   * @return the first index
   */
  default long firstIndex() {
    return baseIndex() + 1;
  }

  /**
   * Returns the index of the last entry, or {@link #baseIndex()} if the log holds none.
   *
   * @return the last index
   */
  long lastIndex();

  /**
   * Returns the term of the entry at {@code index}.
   *
   * @param index an index
   * @return the term for {@code baseIndex() <= index <= lastIndex()} (the base term at the base
   *     index), or -1 if the index is compacted away or beyond the last entry
   */
  long term(long index);

  /**
   * Returns consecutive entries starting at {@code fromIndex}.
   *
   * @param fromIndex the first index wanted, in {@code [firstIndex(), lastIndex()]}
   * @param toIndexExclusive one past the last index wanted, at most {@code lastIndex() + 1}
   * @param maxBytes a soft limit on the sum of {@link LogEntry#sizeInBytes()}; at least one entry
   *     is returned whatever its size
   * @return the entries, possibly fewer than asked for because of {@code maxBytes}
   * @throws IndexOutOfBoundsException if the range is outside the log
   * @throws StorageException if the entries cannot be read (the node stops)
   */
  List<LogEntry> entries(long fromIndex, long toIndexExclusive, long maxBytes);

  /**
   * Returns the last entry this log has recorded as reported durable, kept where a lost tail of the
   * log does not take it along. A log that ends before its mark has lost entries it may have
   * acknowledged; see {@link DurableMark}.
   *
   * <p>The default, for stores that keep no mark, is {@link DurableMark#NONE}: such a store cannot
   * tell a lost write from a log that was never longer.
   *
   * @return the mark, never null
   */
  default DurableMark durableMark() {
    return DurableMark.NONE;
  }
}
