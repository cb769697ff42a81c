package org.flotilla.raft.internal.core;

import java.util.ArrayList;
import java.util.List;
import org.flotilla.raft.message.LogEntry;
import org.flotilla.raft.spi.LogReader;
import org.flotilla.raft.spi.SnapshotMeta;

/**
 * The core's view of the log: the entries in the log store plus the entries appended since the last
 * {@link RaftCore#ready()} (the unstable tail), and the commit, apply and persist marks.
 *
 * <p>Unstable entries shadow the store's entries at and after {@code unstableOffset}: a follower
 * that truncates a conflicting suffix replaces it here first, and the store follows when the driver
 * appends the ready batch. A snapshot being installed likewise shadows the whole store until it is
 * handed out.
 *
 * <p>Invariants: {@code applied <= committed}; {@code committed <= lastIndex()} except that a
 * restarted follower may learn a commit index before it has the entries; {@code persisted <=
 * lastIndex()}. Not thread-safe; confined to the core's thread.
 */
final class RaftLog {

  private final LogReader store;
  private final ArrayList<LogEntry> unstable = new ArrayList<>();
  // index of unstable.get(0); meaningful only while unstable is not empty
  private long unstableOffset;
  private SnapshotMeta pendingSnapshot;
  private long committed;
  private long applied;
  private long persisted;
  // the driver's bound on what it can take for applying (its apply queue's capacity)
  private long applyLimit = Long.MAX_VALUE;

  RaftLog(LogReader store, long snapshotIndex) {
    this.store = store;
    // Everything a snapshot covers is committed and applied (the runtime restores it first).
    this.committed = snapshotIndex;
    this.applied = snapshotIndex;
    this.persisted = store.lastIndex();
  }

  long committed() {
    return committed;
  }

  long applied() {
    return applied;
  }

  long persisted() {
    return persisted;
  }

  long baseIndex() {
    return pendingSnapshot != null ? pendingSnapshot.index() : store.baseIndex();
  }

  long firstIndex() {
    return baseIndex() + 1;
  }

  long lastIndex() {
    if (!unstable.isEmpty()) {
      return unstableOffset + unstable.size() - 1;
    }
    return pendingSnapshot != null ? pendingSnapshot.index() : store.lastIndex();
  }

  long lastTerm() {
    return term(lastIndex());
  }

  /** Returns the term at {@code index}, or -1 if compacted away or beyond the last entry. */
  long term(long index) {
    if (!unstable.isEmpty() && index >= unstableOffset) {
      long i = index - unstableOffset;
      return i < unstable.size() ? unstable.get((int) i).term() : -1;
    }
    if (pendingSnapshot != null) {
      return index == pendingSnapshot.index() ? pendingSnapshot.term() : -1;
    }
    if (index < store.baseIndex() || index > store.lastIndex()) {
      return -1;
    }
    return store.term(index);
  }

  boolean matchTerm(long index, long term) {
    return term(index) == term;
  }

  /** §5.4.1: is a log ending at (lastTerm, lastIndex) at least as up to date as ours? */
  boolean isUpToDate(long lastIndex, long lastTerm) {
    long ourTerm = lastTerm();
    return lastTerm > ourTerm || (lastTerm == ourTerm && lastIndex >= lastIndex());
  }

  /** Returns entries in [from, to), at most about {@code maxBytes}, at least one. */
  List<LogEntry> entries(long from, long to, long maxBytes) {
    if (from >= to) {
      return List.of();
    }
    if (from <= baseIndex() || to > lastIndex() + 1) {
      throw new IndexOutOfBoundsException(
          "entries ["
              + from
              + ", "
              + to
              + ") outside log ("
              + baseIndex()
              + ", "
              + lastIndex()
              + "]");
    }
    List<LogEntry> out = new ArrayList<>();
    long bytes = 0;
    long i = from;
    if (unstable.isEmpty() || from < unstableOffset) {
      long storeTo = unstable.isEmpty() ? to : Math.min(to, unstableOffset);
      List<LogEntry> stored = store.entries(from, storeTo, maxBytes);
      for (LogEntry e : stored) {
        out.add(e);
        bytes += e.sizeInBytes();
      }
      i = from + stored.size();
      if (i < storeTo || bytes >= maxBytes) {
        return out;
      }
    }
    while (i < to) {
      LogEntry e = unstable.get((int) (i - unstableOffset));
      if (!out.isEmpty() && bytes + e.sizeInBytes() > maxBytes) {
        break;
      }
      out.add(e);
      bytes += e.sizeInBytes();
      i++;
    }
    return out;
  }

  /** Appends entries, replacing any entry at or after the first one's index (§5.3). */
  void append(List<LogEntry> entries) {
    if (entries.isEmpty()) {
      return;
    }
    long first = entries.get(0).index();
    if (first > lastIndex() + 1 || first <= baseIndex()) {
      throw new IllegalStateException(
          "entries from "
              + first
              + " do not attach to log ("
              + baseIndex()
              + ", "
              + lastIndex()
              + "]");
    }
    if (first <= committed) {
      throw new IllegalStateException(
          "safety violation: truncating committed entry " + first + " (commit " + committed + ")");
    }
    if (!unstable.isEmpty() && first >= unstableOffset) {
      int keep = (int) (first - unstableOffset);
      unstable.subList(keep, unstable.size()).clear();
    } else {
      unstable.clear();
      unstableOffset = first;
    }
    unstable.addAll(entries);
    if (persisted >= first) {
      persisted = first - 1;
    }
  }

  /** Hands out the unstable entries for the store; they are then read from the store. */
  List<LogEntry> takeUnstable() {
    if (unstable.isEmpty()) {
      return List.of();
    }
    List<LogEntry> out = List.copyOf(unstable);
    unstable.clear();
    return out;
  }

  /** Hands out the snapshot being installed, if any; the store is then reset to it. */
  SnapshotMeta takeSnapshot() {
    SnapshotMeta s = pendingSnapshot;
    pendingSnapshot = null;
    return s;
  }

  boolean hasUnstable() {
    return !unstable.isEmpty() || pendingSnapshot != null;
  }

  /** Replaces the whole log by a snapshot received from the leader (§7). */
  void restore(SnapshotMeta snapshot) {
    unstable.clear();
    pendingSnapshot = snapshot;
    committed = snapshot.index();
    applied = snapshot.index();
    // The snapshot is durable in the snapshot store before the core hears of it.
    persisted = snapshot.index();
  }

  void commitTo(long index) {
    if (index > committed) {
      committed = index;
    }
  }

  /** Records that the store made entries up to (index, term) durable. */
  boolean persistedTo(long index, long term) {
    if (index > persisted && index <= lastIndex() && term(index) == term) {
      persisted = index;
      return true;
    }
    return false;
  }

  /** Returns committed, persisted entries not yet handed out for applying, within a budget. */
  void setApplyLimit(long index) {
    applyLimit = index;
  }

  boolean hasCommittedToApply() {
    return applyBound() > applied;
  }

  List<LogEntry> nextCommitted(long maxBytes) {
    long to = applyBound();
    if (to <= applied) {
      return List.of();
    }
    return entries(applied + 1, to + 1, maxBytes);
  }

  private long applyBound() {
    // Mutant APPLY_BEFORE_COMMIT hands out persisted entries whether committed or not.
    long ready = Mutations.APPLY_BEFORE_COMMIT ? persisted : Math.min(committed, persisted);
    return Math.min(ready, applyLimit);
  }

  void appliedTo(long index) {
    if (index > applied) {
      applied = index;
    }
  }

  /** Returns the last index at or below {@code index} whose term is at most {@code term}. */
  long lastIndexAtOrBelowTerm(long index, long term) {
    long i = Math.min(index, lastIndex());
    while (i > baseIndex() && term(i) > term) {
      i--;
    }
    return i;
  }
}
