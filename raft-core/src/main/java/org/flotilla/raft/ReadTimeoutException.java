package org.flotilla.raft;

/**
 * A read had its read index but this member did not apply up to it within two election timeouts: it
 * is behind the leader (partitioned from the leader's log, or slow to apply). The read was not
 * answered. It is a time-out, not a refusal: the member may serve the read a moment later. Reads
 * never change state, so a retry (preferably at the leader, or after a pause) is safe.
 */
public final class ReadTimeoutException extends RaftException {

  private static final long serialVersionUID = 1L;

  /**
   * Creates the exception.
   *
   * @param message which index was not applied, and how far this member got
   */
  public ReadTimeoutException(String message) {
    super(message);
  }
}
