package org.flotilla.raft;

/**
 * A {@code LINEARIZABLE} or {@code LEASE} read got no read index within two election timeouts: no
 * leader confirmed, in time, that it still led (its heartbeat round went unanswered by a quorum, or
 * this follower's read-index request or the leader's answer was lost). Nothing was read. It is a
 * refusal: a retry, preferably at the leader, is safe.
 *
 * <p>A read refused because this member is not the leader, or because the leader lost its
 * leadership before confirming it, fails with {@link NotLeaderException} instead.
 */
public final class ReadNotConfirmedException extends RaftException {

  private static final long serialVersionUID = 1L;

  /**
   * Creates the exception.
   *
   * @param message what was not confirmed, and where
   */
  public ReadNotConfirmedException(String message) {
    super(message);
  }
}
