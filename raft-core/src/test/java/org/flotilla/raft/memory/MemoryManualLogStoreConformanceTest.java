package org.flotilla.raft.memory;

import java.util.List;
import org.flotilla.raft.message.LogEntry;
import org.flotilla.raft.spi.LogStore;
import org.flotilla.raft.testkit.LogStoreConformanceTest;

/**
 * Runs the log store contract against {@link MemoryLogStore} in its manual mode, synced after every
 * append as a storage thread would.
 */
class MemoryManualLogStoreConformanceTest extends LogStoreConformanceTest {

  private MemoryLogStore memory;

  @Override
  protected LogStore open() {
    if (memory == null) {
      memory = new MemoryLogStore(MemoryLogStore.Durability.MANUAL);
    } else {
      memory.crash();
    }
    return new SyncingLogStore(memory);
  }

  /** Delegates to the manual store and syncs after each append. */
  private static final class SyncingLogStore implements LogStore {
    private final MemoryLogStore delegate;

    SyncingLogStore(MemoryLogStore delegate) {
      this.delegate = delegate;
    }

    @Override
    public void setListener(DurabilityListener listener) {
      delegate.setListener(listener);
    }

    @Override
    public void append(List<LogEntry> entries) {
      delegate.append(entries);
      delegate.syncAll();
    }

    @Override
    public void compact(long index) {
      delegate.compact(index);
    }

    @Override
    public void reset(long index, long term) {
      delegate.reset(index, term);
    }

    @Override
    public long durableIndex() {
      return delegate.durableIndex();
    }

    @Override
    public void close() {
      delegate.close();
    }

    @Override
    public long baseIndex() {
      return delegate.baseIndex();
    }

    @Override
    public long baseTerm() {
      return delegate.baseTerm();
    }

    @Override
    public long lastIndex() {
      return delegate.lastIndex();
    }

    @Override
    public long term(long index) {
      return delegate.term(index);
    }

    @Override
    public List<LogEntry> entries(long fromIndex, long toIndexExclusive, long maxBytes) {
      return delegate.entries(fromIndex, toIndexExclusive, maxBytes);
    }
  }
}
