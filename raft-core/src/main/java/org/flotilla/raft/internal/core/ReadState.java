package org.flotilla.raft.internal.core;

/**
 * The outcome of a read-index request: once the state machine has applied up to {@code index}, a
 * read for {@code context} is linearizable.
 *
 * @param context the caller's id for the request
 * @param index the read index, or {@link #FAILED} if no read index could be had (no leader, or
 *     leadership lost before the round completed); the caller retries or reports an error
 */
public record ReadState(long context, long index) {

  /** The index of a failed read. */
  public static final long FAILED = -1;

  /**
   * Tells whether the read failed.
   *
   * @return true if there is no read index
   */
  public boolean failed() {
    return index == FAILED;
  }
}
