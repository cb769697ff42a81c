package org.flotilla.raft.storage;

import org.flotilla.raft.message.LogEntry;

/**
 * A bounded ring of the most recently appended entries, so that the leader's replication path reads
 * fresh entries from memory rather than from the file. Slot {@code index & mask} holds the entry
 * with that index, if it is cached; a slot is overwritten (or cleared) whenever its index is
 * appended again, so a truncated and rewritten index never serves the old entry.
 *
 * <p>Not thread-safe; confined to the store's event loop.
 */
final class EntryCache {
  private final LogEntry[] slots;
  private final int mask;
  private final int maxEntryBytes;

  EntryCache(int capacity, int maxEntryBytes) {
    int size = Integer.highestOneBit(Math.max(1, capacity - 1)) << 1;
    this.slots = new LogEntry[size];
    this.mask = size - 1;
    this.maxEntryBytes = maxEntryBytes;
  }

  void put(LogEntry e) {
    slots[(int) (e.index() & mask)] = e.payload().remaining() <= maxEntryBytes ? e : null;
  }

  /** Returns the cached entry with this index, or null; the caller checks the index is live. */
  LogEntry get(long index) {
    LogEntry e = slots[(int) (index & mask)];
    return e != null && e.index() == index ? e : null;
  }

  void clear() {
    java.util.Arrays.fill(slots, null);
  }
}
