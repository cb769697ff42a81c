package org.flotilla.raft;

/**
 * The node is closed or stopped after a fatal error. {@link #outcomeUnknown()} tells the two cases
 * of a failed operation apart: one that was pending when the node stopped may or may not have been
 * committed (unless it was submitted in a session, where a retry through another member is safe);
 * one called after the node had stopped was refused without being proposed. After a fatal error the
 * {@linkplain #getCause() cause} is that error, as {@link NodeStatus#failure()} reports it.
 */
public final class NodeStoppedException extends RaftException {

  private static final long serialVersionUID = 1L;

  /** Whether the operation may still take effect: see {@link #outcomeUnknown()}. */
  private final boolean outcomeUnknown;

  /**
   * Creates the exception for an operation whose outcome is unknown.
   *
   * @param message why the node stopped
   * @param cause the fatal error, or null after a normal close
   */
  public NodeStoppedException(String message, Throwable cause) {
    this(message, cause, true);
  }

  /**
   * Creates the exception.
   *
   * @param message why the node stopped
   * @param cause the fatal error, or null after a normal close
   * @param outcomeUnknown whether the operation may have taken effect (see {@link
   *     #outcomeUnknown()})
   */
  public NodeStoppedException(String message, Throwable cause, boolean outcomeUnknown) {
    super(message, cause);
    this.outcomeUnknown = outcomeUnknown;
  }

  /**
   * Tells whether the failed operation may still take effect.
   *
   * @return true if it was pending when the node stopped (a command may have been committed and be
   *     applied by the other members); false if the node refused it because it had already stopped
   *     or had not yet run it, so that nothing was proposed (and for reads, which change nothing)
   */
  public boolean outcomeUnknown() {
    return outcomeUnknown;
  }
}
