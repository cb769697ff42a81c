package org.flotilla.raft;

import org.flotilla.raft.cluster.Configuration;
import org.flotilla.raft.cluster.Role;

/**
 * Hears about a node's role, leader and membership changes, and fatal errors. Called on the node's
 * callback executor, never on its event loop or apply thread; the default methods do nothing.
 */
public interface RaftListener {

  /**
   * The node's role or term changed.
   *
   * @param role the new role
   * @param term the term
   */
  default void onRoleChange(Role role, long term) {}

  /**
   * The leader this node knows of changed.
   *
   * @param leaderId the new leader, or null if none is known
   * @param term the term
   */
  default void onLeaderChange(String leaderId, long term) {}

  /**
   * A new configuration took effect (it is in the log; it may not be committed yet).
   *
   * @param configuration the configuration
   */
  default void onMembershipChange(Configuration configuration) {}

  /**
   * The node stopped because of an error it cannot recover from (a storage failure, the state
   * machine threw, a message the transport can never send). By the time this is called, {@link
   * RaftNode#status()} reports {@link Role#FAILED} with the {@link NodeStatus#failure()} (which
   * names the log index, for a state machine that threw), and {@link #onRoleChange} was called with
   * {@link Role#FAILED}. Called once.
   *
   * @param cause the error
   */
  default void onFatalError(Throwable cause) {}
}
