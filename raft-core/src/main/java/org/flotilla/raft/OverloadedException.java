package org.flotilla.raft;

/**
 * The node refused the operation because too much work is pending (backpressure): nothing was
 * proposed. Retry later, with backoff.
 */
public final class OverloadedException extends RaftException {

  private static final long serialVersionUID = 1L;

  /**
   * Creates the exception.
   *
   * @param message which limit was reached
   */
  public OverloadedException(String message) {
    super(message);
  }
}
