package org.flotilla.raft.storage;

import java.util.Arrays;
import java.util.concurrent.locks.ReentrantLock;
import org.flotilla.raft.spi.DurableMark;
import org.flotilla.raft.spi.LogStore.DurabilityListener;

/**
 * One group's state in the shared log: its log's base and end, where each of its entries' records
 * is (an index of primitive arrays, 12 bytes per entry, no object per entry), its metadata, and its
 * durability bookkeeping. An idle group costs a few hundred bytes: no thread, no open file, no
 * buffer of its own.
 *
 * <p>Threading. Every field that changes is written under {@link #lock}, by the group's event loop
 * (through its views), by the garbage collector (which only moves records: {@link #places}, the
 * places of metadata and base, never the log's shape) or by {@code SharedLog.removeGroup}. The
 * event loop reads what only it changes ({@link #base}, {@link #last}, {@link #terms}) without the
 * lock; everyone else reads under it. The sync thread takes the lock to report durability. Fields
 * marked otherwise say so.
 */
final class WalGroup {

  /** Receives the bytes of records that stop being live, to keep segments' live counts. */
  interface Dead {
    void dead(long place, int size);
  }

  static final DurabilityListener NO_LISTENER =
      new DurabilityListener() {
        @Override
        public void durable(long index, long term) {}

        @Override
        public void failed(Throwable cause) {}
      };

  static final long NOWHERE = -1;

  final String id;
  // identifies this incarnation in GROUP records (unique within one opening of the log)
  final int number;
  final ReentrantLock lock = new ReentrantLock();

  // --- the log: invariant base <= last; entry i in (base, last] is at places[slot(i)]
  long base;
  long baseTerm;
  long last;
  TermRuns terms = new TermRuns(2);
  private long[] places = new long[0];
  private int[] sizes = new int[0];
  private int start; // slot of entry base + 1

  // --- metadata (null until saved) and the latest records that must stay live
  FileMetaStore.Stored meta;
  long metaPlace = NOWHERE;
  int metaSize;
  // the latest record that states the base (GROUP, COMPACT or RESET); live only if base > 0
  long basePlace = NOWHERE;
  int baseSize;
  // sequence of the segment holding this group's GROUP record (append lock and this lock)
  long declaredIn = -1;

  // set when removal starts: views refuse, the mark is no longer written
  volatile boolean removed;
  // set once the REMOVE record is written: the collector leaves the group's records to die
  boolean tombstoned;

  // --- durability
  volatile DurabilityListener listener = NO_LISTENER;
  volatile long durableIndex;
  long pendingIndex = -1;
  long pendingTerm;
  long pendingLsn;
  long pendingBytes;
  // the log position after this group's last record
  long writtenLsn;
  // metadata saved without waiting (SharedLog.saveMetaAsync): the log position after its record,
  // or -1 if none is pending, and what to tell once the log is forced there (null iff -1)
  long metaPendingLsn = -1;
  Runnable metaOnDurable;
  // guarded by the shared log's dirty lock: in the sync thread's list of groups to report
  boolean queued;
  // sync thread only: the last entry reported durable; whether it is queued for the marks file
  DurableMark reportedMark = DurableMark.NONE;
  boolean markQueued;
  // the mark recorded in the marks file; written under the marks lock
  volatile DurableMark recordedMark = DurableMark.NONE;

  // views open on it
  boolean logOpen;
  boolean metaOpen;

  // --- recovery only (the opening thread): the term of each slot, and where a hole began
  long[] replayTerms;
  String holeAt;

  WalGroup(String id, int number) {
    this.id = id;
    this.number = number;
  }

  private int slot(long index) {
    return start + (int) (index - base - 1);
  }

  /** Returns the place of entry {@code index}, in (base, last]; 0 for a hole during recovery. */
  long placeOf(long index) {
    return places[slot(index)];
  }

  int sizeOf(long index) {
    return sizes[slot(index)];
  }

  /** Moves entry {@code index}'s record (garbage collection). */
  void relocate(long index, long place) {
    places[slot(index)] = place;
  }

  /** Makes room for entries up to {@code index}. */
  private void ensureRoom(long index) {
    int needed = (int) (index - base);
    if (start + needed <= places.length) {
      return;
    }
    int count = (int) (last - base);
    if (needed <= places.length && start > 0) {
      System.arraycopy(places, start, places, 0, count);
      System.arraycopy(sizes, start, sizes, 0, count);
      if (replayTerms != null) {
        System.arraycopy(replayTerms, start, replayTerms, 0, count);
      }
    } else {
      int capacity = Math.max(Math.max(8, needed), places.length * 2);
      places = Arrays.copyOfRange(places, start, start + capacity);
      sizes = Arrays.copyOfRange(sizes, start, start + capacity);
      if (replayTerms != null) {
        replayTerms = Arrays.copyOfRange(replayTerms, start, start + capacity);
      }
    }
    start = 0;
    if (replayTerms == null) {
      return;
    }
    // copyOfRange beyond the old length pads with zeros; clear any stale tail after a shift
    Arrays.fill(places, count, places.length, 0);
    Arrays.fill(sizes, count, sizes.length, 0);
    Arrays.fill(replayTerms, count, replayTerms.length, 0);
  }

  /** Appends entry {@code last + 1}. */
  void add(long index, long term, long place, int size) {
    ensureRoom(index);
    int k = slot(index);
    places[k] = place;
    sizes[k] = size;
    terms.append(index, term);
    last = index;
  }

  /** Forgets entries from {@code index} on (at most last + 1), reporting their records dead. */
  void truncateFrom(long index, Dead dead) {
    for (long i = index; i <= last; i++) {
      int k = slot(i);
      if (places[k] != 0) {
        dead.dead(places[k], sizes[k]);
      }
      places[k] = 0;
      sizes[k] = 0;
    }
    if (index <= last) {
      last = index - 1;
      terms.truncateFrom(index);
    }
  }

  /** Forgets entries up to {@code index} (base < index <= last, or index > last when replaying). */
  void compactTo(long index, long term, Dead dead) {
    long upTo = Math.min(index, last);
    for (long i = base + 1; i <= upTo; i++) {
      int k = slot(i);
      if (places[k] != 0) {
        dead.dead(places[k], sizes[k]);
      }
    }
    int dropped = (int) (upTo - base);
    start += Math.max(0, dropped);
    if (index > last) {
      // recovery only: a base beyond every entry seen
      start = 0;
      Arrays.fill(places, 0);
      Arrays.fill(sizes, 0);
      if (replayTerms != null) {
        Arrays.fill(replayTerms, 0);
      }
      last = index;
    }
    base = index;
    baseTerm = term;
    terms.compactTo(index + 1);
    shrink();
  }

  /** Forgets every entry (reset); the base becomes {@code (index, term)}. */
  void clear(long index, long term, Dead dead) {
    truncateFrom(base + 1, dead);
    places = new long[0];
    sizes = new int[0];
    if (replayTerms != null) {
      replayTerms = new long[0];
    }
    start = 0;
    base = index;
    baseTerm = term;
    last = index;
    terms = new TermRuns(2);
  }

  /** Gives back array space after a compaction left most of it unused. */
  private void shrink() {
    int count = (int) (last - base);
    if (places.length > 64 && count < places.length / 4) {
      int capacity = Math.max(8, count * 2);
      places = Arrays.copyOfRange(places, start, start + capacity);
      sizes = Arrays.copyOfRange(sizes, start, start + capacity);
      if (replayTerms != null) {
        replayTerms = Arrays.copyOfRange(replayTerms, start, start + capacity);
      }
      start = 0;
    }
  }

  // ------------------------------------------------------------------ recovery

  /**
   * Replays an entry record: {@code truncate} for an appended entry (it removes the entries from
   * its index on), not for a copy made by garbage collection (which may arrive after later entries,
   * and fills its slot). Entries missing in between are holes until a copy fills them.
   *
   * @return why the record contradicts the log, or null
   */
  String replayEntry(long index, long term, long place, int size, boolean truncate, String where) {
    if (replayTerms == null) {
      replayTerms = new long[places.length];
    }
    if (index <= base) {
      return "entry " + index + " at or below the group's base " + base;
    }
    if (truncate && index <= last) {
      truncateFrom(index, (p, s) -> {});
    }
    if (index > last + 1) {
      ensureRoom(index);
      if (truncate && holeAt == null) {
        holeAt = where + " (entries " + (last + 1) + " to " + (index - 1) + " missing before it)";
      }
    }
    ensureRoom(index);
    int k = slot(index);
    if (truncate) {
      long prev = index - 1 == base ? baseTerm : replayTerms[k - 1];
      if (prev != 0 && term < prev) {
        return "term " + term + " of entry " + index + " lower than the previous term " + prev;
      }
    }
    places[k] = place;
    sizes[k] = size;
    replayTerms[k] = term;
    last = Math.max(last, index);
    return null;
  }

  /**
   * Ends recovery: checks that no entry is missing and turns the per-slot terms into runs.
   *
   * @return why the group's log is incomplete, or null
   */
  String finishReplay() {
    terms = new TermRuns(2);
    for (long i = base + 1; i <= last; i++) {
      int k = slot(i);
      if (places[k] == 0) {
        return "entry "
            + i
            + " of group "
            + id
            + " is in no segment: a segment is missing"
            + (holeAt == null ? "" : "; first noticed at " + holeAt);
      }
      terms.append(i, replayTerms[k]);
    }
    replayTerms = null;
    holeAt = null;
    return null;
  }

  @Override
  public String toString() {
    return "group " + id + " (" + base + ", " + last + "]";
  }
}
