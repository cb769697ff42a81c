package org.flotilla.raft;

/** The {@link RaftMetrics} that record nothing. Stateless and thread-safe. */
final class NoopMetrics implements RaftMetrics {

  static final NoopMetrics INSTANCE = new NoopMetrics();

  private NoopMetrics() {}

  @Override
  public String toString() {
    return "RaftMetrics.noop()";
  }
}
