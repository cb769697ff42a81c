package org.flotilla.raft.internal.runtime;

import org.flotilla.raft.spi.RaftMetrics;

/** The {@link RaftMetrics} that record nothing. Stateless and thread-safe. */
public final class NoopMetrics implements RaftMetrics {

  /** The one instance. */
  public static final NoopMetrics INSTANCE = new NoopMetrics();

  private NoopMetrics() {}

  @Override
  public String toString() {
    return "RaftMetrics.noop()";
  }
}
