package org.flotilla.raft.memory;

import java.util.ArrayList;
import java.util.List;
import org.flotilla.raft.message.LogEntry;
import org.flotilla.raft.spi.DurableMark;
import org.flotilla.raft.spi.LogStore;
import org.flotilla.raft.spi.StorageException;

/**
 * An in-memory {@link LogStore} for tests and the deterministic simulator, with durability under
 * the caller's control.
 *
 * <p>Entries are visible as soon as {@link #append(List)} returns. When they become durable depends
 * on the {@link Durability} mode:
 *
 * <ul>
 *   <li>{@link Durability#IMMEDIATE}: every append is durable at once, and the listener is called
 *       synchronously, on the caller's thread, before {@code append} returns.
 *   <li>{@link Durability#MANUAL}: entries stay volatile until {@link #syncTo(long)} or {@link
 *       #syncAll()} is called, which calls the listener. {@link #crash()} then models a power loss:
 *       every entry that was not synced is dropped.
 * </ul>
 *
 * <p>The store has no threads, no clock and no randomness: the same calls give the same results,
 * which is what a deterministic simulator needs. A truncation of the suffix by {@link
 * #append(List)} is modelled as durable at once (as if the disk had lost the old suffix): the
 * durable index drops to just before the truncation point, and only a later sync makes the
 * replacing entries durable. The listener is therefore never told that a replaced entry is durable.
 * Like the file store, it rejects an append whose terms decrease along the log.
 *
 * <p>Not thread-safe; confined to the thread that drives the node (its event loop, or the
 * simulator's single thread), which is also the thread the listener is called on.
 */
public final class MemoryLogStore implements LogStore {

  /** When appended entries become durable. */
  public enum Durability {
    /** Durable on append; the listener is called before {@code append} returns. */
    IMMEDIATE,
    /** Durable only when {@code syncTo} or {@code syncAll} is called. */
    MANUAL
  }

  private static final DurabilityListener NO_LISTENER =
      new DurabilityListener() {
        @Override
        public void durable(long index, long term) {}

        @Override
        public void failed(Throwable cause) {}
      };

  private final Durability durability;
  // entries.get(i) has index baseIndex + 1 + i
  private final ArrayList<LogEntry> entries = new ArrayList<>();
  private DurabilityListener listener = NO_LISTENER;
  private long baseIndex;
  private long baseTerm;
  // invariant: baseIndex <= durableIndex <= lastIndex(), except after compact past the durable
  // index
  private long durableIndex;
  // the last entry ever reported durable, in up-to-date order; survives crash() and lost tails
  private DurableMark mark = DurableMark.NONE;
  private Throwable failure;
  private boolean closed;
  private long syncs;

  /** Creates an empty store whose appends are durable at once ({@link Durability#IMMEDIATE}). */
  public MemoryLogStore() {
    this(Durability.IMMEDIATE);
  }

  /**
   * Creates an empty store.
   *
   * @param durability when appended entries become durable
   */
  public MemoryLogStore(Durability durability) {
    if (durability == null) {
      throw new IllegalArgumentException("durability is null");
    }
    this.durability = durability;
  }

  /**
   * Returns the durability mode chosen at construction.
   *
   * @return the mode
   */
  public Durability durability() {
    return durability;
  }

  @Override
  public void setListener(DurabilityListener listener) {
    if (listener == null) {
      throw new IllegalArgumentException("listener is null");
    }
    this.listener = listener;
  }

  @Override
  public long baseIndex() {
    return baseIndex;
  }

  @Override
  public long baseTerm() {
    return baseTerm;
  }

  @Override
  public long lastIndex() {
    return baseIndex + entries.size();
  }

  @Override
  public long term(long index) {
    if (index == baseIndex) {
      return baseTerm;
    }
    if (index < baseIndex || index > lastIndex()) {
      return -1;
    }
    return entries.get(offset(index)).term();
  }

  @Override
  public List<LogEntry> entries(long fromIndex, long toIndexExclusive, long maxBytes) {
    if (fromIndex <= baseIndex
        || fromIndex > lastIndex()
        || toIndexExclusive <= fromIndex
        || toIndexExclusive > lastIndex() + 1) {
      throw new IndexOutOfBoundsException(
          "entries ["
              + fromIndex
              + ", "
              + toIndexExclusive
              + ") outside the log ["
              + firstIndex()
              + ", "
              + lastIndex()
              + "]");
    }
    List<LogEntry> out = new ArrayList<>();
    long bytes = 0;
    for (long i = fromIndex; i < toIndexExclusive; i++) {
      LogEntry e = entries.get(offset(i));
      bytes += e.sizeInBytes();
      if (!out.isEmpty() && bytes > maxBytes) {
        break;
      }
      out.add(e);
    }
    return out;
  }

  @Override
  public void append(List<LogEntry> newEntries) {
    checkUsable();
    LogStore.checkAppend(this, newEntries);
    long first = newEntries.get(0).index();
    // §5.3: delete the existing entry that conflicts and all that follow it
    if (first <= lastIndex()) {
      entries.subList(offset(first), entries.size()).clear();
      durableIndex = Math.min(durableIndex, first - 1);
    }
    entries.addAll(newEntries);
    if (durability == Durability.IMMEDIATE) {
      syncAll();
    }
  }

  @Override
  public void compact(long index) {
    checkUsable();
    if (index > lastIndex()) {
      throw new IllegalArgumentException(
          "cannot compact to " + index + " beyond the last index " + lastIndex());
    }
    if (index <= baseIndex) {
      return;
    }
    long term = term(index);
    entries.subList(0, offset(index) + 1).clear();
    baseIndex = index;
    baseTerm = term;
    // a durable snapshot covers the compacted entries
    durableIndex = Math.max(durableIndex, index);
  }

  @Override
  public void reset(long index, long term) {
    checkUsable();
    if (index < 0 || term < 0 || (index == 0) != (term == 0)) {
      throw new IllegalArgumentException("bad reset point " + index + "@" + term);
    }
    entries.clear();
    baseIndex = index;
    baseTerm = term;
    durableIndex = index;
    mark = mark.max(index, term);
  }

  @Override
  public long durableIndex() {
    return durableIndex;
  }

  /**
   * Makes every entry up to {@code index} durable and reports it to the listener, as an {@code
   * fsync} completing would. Does nothing if those entries are durable already.
   *
   * @param index the last index to make durable, in {@code [baseIndex(), lastIndex()]}
   * @throws IllegalArgumentException if the index is outside the log
   * @throws StorageException if the store has failed
   */
  public void syncTo(long index) {
    checkUsable();
    if (index < baseIndex || index > lastIndex()) {
      throw new IllegalArgumentException(
          "cannot sync to " + index + " outside [" + baseIndex + ", " + lastIndex() + "]");
    }
    if (index <= durableIndex) {
      return;
    }
    durableIndex = index;
    syncs++;
    mark = mark.max(index, term(index));
    listener.durable(index, term(index));
  }

  /**
   * Makes every appended entry durable and reports it to the listener; see {@link #syncTo(long)}.
   *
   * @throws StorageException if the store has failed
   */
  public void syncAll() {
    syncTo(lastIndex());
  }

  /**
   * Returns how many syncs reported progress to the listener so far.
   *
   * @return the count
   */
  public long syncCount() {
    return syncs;
  }

  /**
   * Simulates a power loss: drops every entry after {@link #durableIndex()}. The store stays usable
   * (as if reopened after the restart); a new listener may be set. A failed store stays failed.
   */
  public void crash() {
    if (lastIndex() > durableIndex) {
      entries.subList(offset(durableIndex + 1), entries.size()).clear();
    }
    closed = false;
  }

  @Override
  public DurableMark durableMark() {
    return mark;
  }

  /**
   * Simulates a disk that lost writes it had reported durable, found at a restart: after a {@link
   * #crash()}, drops the last {@code count} entries (at most down to the base index) while the
   * {@linkplain #durableMark() durable mark} stays where it was. Out of Raft's fault model; the
   * node must notice that its log no longer covers its mark.
   *
   * @param count how many durable entries to lose, at least 1
   * @return how many entries were lost
   */
  public int loseDurableTail(int count) {
    if (count < 1) {
      throw new IllegalArgumentException("count must be at least 1: " + count);
    }
    crash();
    int lost = (int) Math.min(count, lastIndex() - baseIndex);
    entries.subList(entries.size() - lost, entries.size()).clear();
    durableIndex = lastIndex();
    return lost;
  }

  /**
   * Simulates a failed {@code fsync}: the store reports {@link
   * DurabilityListener#failed(Throwable)} and from then on rejects every append with a {@link
   * StorageException}. It never recovers.
   *
   * @param cause the failure to report
   */
  public void fail(Throwable cause) {
    if (failure != null) {
      return;
    }
    failure = cause == null ? new StorageException("injected storage failure") : cause;
    listener.failed(failure);
  }

  /**
   * Tells whether the store has failed.
   *
   * @return true after {@link #fail(Throwable)}
   */
  public boolean failed() {
    return failure != null;
  }

  /**
   * Closes the store: entries appended before are durable on return (without a report to the
   * listener), unless the store has failed. Further appends are rejected until {@link #crash()}
   * reopens it.
   */
  @Override
  public void close() {
    if (failure == null) {
      durableIndex = Math.max(durableIndex, lastIndex());
      mark = mark.max(lastIndex(), term(lastIndex()));
    }
    closed = true;
  }

  private void checkUsable() {
    if (failure != null) {
      throw new StorageException("log store has failed: " + failure, failure);
    }
    if (closed) {
      throw new IllegalStateException("log store is closed");
    }
  }

  private int offset(long index) {
    return Math.toIntExact(index - baseIndex - 1);
  }
}
