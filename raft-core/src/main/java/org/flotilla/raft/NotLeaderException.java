package org.flotilla.raft;

import java.util.Optional;
import org.flotilla.raft.cluster.Member;

/**
 * This member is not the leader, so it did not accept the operation: nothing was proposed, and a
 * retry (preferably at the leader named here) is safe.
 */
public final class NotLeaderException extends RaftException {

  private static final long serialVersionUID = 1L;

  private final transient Member leader;

  /**
   * Creates the exception.
   *
   * @param self the member that refused
   * @param leader the leader this member knows of, or null if it knows none
   */
  public NotLeaderException(String self, Member leader) {
    super(
        self
            + " is not the leader"
            + (leader == null
                ? " and knows no leader"
                : "; the leader is " + leader.id() + " at " + leader.address()));
    this.leader = leader;
  }

  /**
   * Returns the leader the refusing member knows of.
   *
   * @return the leader, or empty if unknown
   */
  public Optional<Member> leader() {
    return Optional.ofNullable(leader);
  }
}
