package org.flotilla.raft.cluster;

import org.flotilla.raft.NodeStatus;

/** The role a member plays in its current term (Raft §5.1, thesis §9.6 for pre-candidates). */
public enum Role {
  /** Follows a leader, or waits for one. */
  FOLLOWER,
  /** Asks for pre-votes before starting an election, without changing its term. */
  PRE_CANDIDATE,
  /** Campaigns for leadership in a new term. */
  CANDIDATE,
  /** Leads the group in its term. */
  LEADER,
  /** A non-voting member that receives the log (or a member no longer in the configuration). */
  LEARNER,
  /**
   * Stopped after a fatal error (a storage failure, a state machine that threw, an unsendable
   * message): it takes part in nothing until it is restarted, and {@link NodeStatus#failure()} says
   * why. Set by the runtime, never by the protocol.
   */
  FAILED
}
