package org.flotilla.raft.storage;

import java.util.Arrays;

/**
 * The terms of the log's entries as runs: run {@code r} says that entries from {@code start[r]} on
 * (until the next run) have {@code term[r]}. Terms change rarely, so this is a few longs for
 * millions of entries.
 *
 * <p>Not thread-safe; confined to the store's event loop.
 */
final class TermRuns {
  private long[] start;
  private long[] term;
  private int runs;

  TermRuns() {
    this(16);
  }

  /** Creates runs with room for {@code capacity} terms before they grow (small for idle logs). */
  TermRuns(int capacity) {
    start = new long[Math.max(1, capacity)];
    term = new long[Math.max(1, capacity)];
  }

  /** Records that entry {@code index} (one past the last recorded) has {@code t}. */
  void append(long index, long t) {
    if (runs > 0 && term[runs - 1] == t) {
      return;
    }
    if (runs == start.length) {
      start = Arrays.copyOf(start, runs * 2);
      term = Arrays.copyOf(term, runs * 2);
    }
    start[runs] = index;
    term[runs] = t;
    runs++;
  }

  /** Returns the term of an index known to be in the log. */
  long termOf(long index) {
    int lo = 0;
    int hi = runs - 1;
    while (lo < hi) {
      int mid = (lo + hi + 1) >>> 1;
      if (start[mid] <= index) {
        lo = mid;
      } else {
        hi = mid - 1;
      }
    }
    return term[lo];
  }

  /** Forgets the terms of every index from {@code index} on. */
  void truncateFrom(long index) {
    while (runs > 0 && start[runs - 1] >= index) {
      runs--;
    }
  }

  /** Forgets the runs that end before {@code firstIndex}. */
  void compactTo(long firstIndex) {
    int drop = 0;
    while (drop + 1 < runs && start[drop + 1] <= firstIndex) {
      drop++;
    }
    if (drop > 0) {
      System.arraycopy(start, drop, start, 0, runs - drop);
      System.arraycopy(term, drop, term, 0, runs - drop);
      runs -= drop;
    }
  }

  void clear() {
    runs = 0;
  }
}
