package org.flotilla.raft;

/**
 * The node is closed or stopped after a fatal error. A command that was pending when this happened
 * may or may not have been committed: its outcome is unknown (unless it was submitted in a session,
 * where a retry through another member is safe).
 */
public final class NodeStoppedException extends RaftException {

  private static final long serialVersionUID = 1L;

  /**
   * Creates the exception.
   *
   * @param message why the node stopped
   * @param cause the fatal error, or null after a normal close
   */
  public NodeStoppedException(String message, Throwable cause) {
    super(message, cause);
  }
}
