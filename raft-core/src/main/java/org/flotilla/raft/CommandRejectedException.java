package org.flotilla.raft;

/**
 * The operation was refused or definitely did not take effect: for example a membership change
 * while another is in flight, a proposal during a leadership transfer, or a command whose log entry
 * was replaced by a new leader's. A retry is safe (though a {@link CommandTooLargeException}, a
 * command too large for one message, is refused again).
 */
public sealed class CommandRejectedException extends RaftException
    permits CommandTooLargeException {

  private static final long serialVersionUID = 1L;

  /**
   * Creates the exception.
   *
   * @param message why
   */
  public CommandRejectedException(String message) {
    super(message);
  }
}
