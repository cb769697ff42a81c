package org.flotilla.raft;

/**
 * The base of the exceptions with which Flotilla fails futures and calls. Each subclass says
 * whether the operation may have taken effect.
 */
public class RaftException extends RuntimeException {

  private static final long serialVersionUID = 1L;

  /**
   * Creates the exception.
   *
   * @param message what happened
   */
  public RaftException(String message) {
    super(message);
  }

  /**
   * Creates the exception.
   *
   * @param message what happened
   * @param cause the underlying failure
   */
  public RaftException(String message, Throwable cause) {
    super(message, cause);
  }
}
