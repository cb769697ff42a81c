package org.flotilla.raft.sim;

import java.util.List;
import org.flotilla.raft.message.LogEntry;
import org.flotilla.raft.spi.DurableMark;
import org.flotilla.raft.spi.LogStore;

/** A {@link LogStore} that forwards every call, for simulated disks to extend. */
class ForwardingLogStore implements LogStore {

  private final LogStore delegate;

  ForwardingLogStore(LogStore delegate) {
    this.delegate = delegate;
  }

  @Override
  public void setListener(DurabilityListener listener) {
    delegate.setListener(listener);
  }

  @Override
  public void append(List<LogEntry> entries) {
    delegate.append(entries);
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
  public DurableMark durableMark() {
    return delegate.durableMark();
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
