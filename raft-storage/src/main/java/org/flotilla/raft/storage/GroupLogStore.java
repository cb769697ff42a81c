package org.flotilla.raft.storage;

import java.util.ArrayList;
import java.util.List;
import org.flotilla.raft.message.LogEntry;
import org.flotilla.raft.spi.DurableMark;
import org.flotilla.raft.spi.LogStore;

/**
 * One group's view of a {@link SharedLog} as a {@link LogStore}. Closing it makes the group's
 * appends durable and releases the view, not the shared log.
 *
 * <p>Not thread-safe; confined to the group's event loop, except {@link #close()} and {@link
 * #durableIndex()}. The state is the group's ({@link WalGroup}).
 */
final class GroupLogStore implements LogStore {
  private final SharedLog wal;
  private final WalGroup g;
  private boolean closed;

  GroupLogStore(SharedLog wal, WalGroup g) {
    this.wal = wal;
    this.g = g;
  }

  private void checkOpen() {
    if (closed) {
      throw new IllegalStateException("log of group " + g.id + " is closed");
    }
    if (g.removed) {
      throw new IllegalStateException("group " + g.id + " was removed from " + wal.directory());
    }
  }

  @Override
  public void setListener(DurabilityListener listener) {
    if (listener == null) {
      throw new IllegalArgumentException("listener is null");
    }
    g.listener = listener;
  }

  @Override
  public long baseIndex() {
    return g.base;
  }

  @Override
  public long baseTerm() {
    return g.baseTerm;
  }

  @Override
  public long lastIndex() {
    return g.last;
  }

  @Override
  public long term(long index) {
    if (index == g.base) {
      return g.baseTerm;
    }
    if (index < g.base || index > g.last) {
      return -1;
    }
    return g.terms.termOf(index);
  }

  @Override
  public List<LogEntry> entries(long fromIndex, long toIndexExclusive, long maxBytes) {
    checkOpen();
    if (fromIndex <= g.base
        || fromIndex > g.last
        || toIndexExclusive <= fromIndex
        || toIndexExclusive > g.last + 1) {
      throw new IndexOutOfBoundsException(
          "entries ["
              + fromIndex
              + ", "
              + toIndexExclusive
              + ") outside the log ["
              + firstIndex()
              + ", "
              + g.last
              + "]");
    }
    List<LogEntry> out = new ArrayList<>((int) Math.min(toIndexExclusive - fromIndex, 1024));
    long bytes = 0;
    g.lock.lock();
    try {
      for (long i = fromIndex; i < toIndexExclusive; i++) {
        LogEntry e = wal.read(g, i);
        bytes += e.sizeInBytes();
        if (!out.isEmpty() && bytes > maxBytes) {
          break;
        }
        out.add(e);
      }
    } finally {
      g.lock.unlock();
    }
    return out;
  }

  @Override
  public void append(List<LogEntry> entries) {
    checkOpen();
    wal.checkUsable();
    LogStore.checkAppend(this, entries);
    for (LogEntry e : entries) {
      if (e.payload().remaining() > LogRecord.MAX_PAYLOAD) {
        throw new IllegalArgumentException(
            "entry " + e.index() + " payload too large: " + e.payload().remaining());
      }
    }
    wal.append(g, entries);
  }

  @Override
  public void compact(long index) {
    checkOpen();
    wal.checkUsable();
    if (index > g.last) {
      throw new IllegalArgumentException(
          "cannot compact to " + index + " beyond the last index " + g.last);
    }
    if (index <= g.base) {
      return;
    }
    wal.compact(g, index);
  }

  @Override
  public void reset(long index, long term) {
    checkOpen();
    if (index < 0 || term < 0 || (index == 0) != (term == 0)) {
      throw new IllegalArgumentException("bad reset point " + index + "@" + term);
    }
    wal.reset(g, index, term);
  }

  @Override
  public long durableIndex() {
    return g.durableIndex;
  }

  /**
   * Returns the group's durable mark as recorded in the shared log's marks file: the last entry of
   * this group recorded as reported durable. Read at open, a group whose log ends before it lost a
   * tail.
   *
   * @return the mark
   */
  @Override
  public DurableMark durableMark() {
    return g.recordedMark;
  }

  @Override
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    try {
      if (!g.removed && !wal.isClosed()) {
        wal.flush(g);
      }
    } finally {
      g.lock.lock();
      try {
        g.logOpen = false;
      } finally {
        g.lock.unlock();
      }
    }
  }

  @Override
  public String toString() {
    return "GroupLogStore[" + g + " in " + wal.directory() + "]";
  }
}
