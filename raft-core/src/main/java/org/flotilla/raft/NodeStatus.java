package org.flotilla.raft;

import java.util.List;

/**
 * A point-in-time view of a node, for monitoring.
 *
 * @param id the node's id
 * @param role its role
 * @param term its current term
 * @param leader the leader it knows of, or null
 * @param commitIndex its commit index
 * @param appliedIndex the index its state machine has applied
 * @param lastIndex the index of its last log entry
 * @param snapshotIndex the index of its newest snapshot, 0 if none
 * @param configuration the configuration in force
 * @param peers on a leader, the replication progress of every other member; empty otherwise
 */
public record NodeStatus(
    String id,
    Role role,
    long term,
    String leader,
    long commitIndex,
    long appliedIndex,
    long lastIndex,
    long snapshotIndex,
    Configuration configuration,
    List<PeerStatus> peers) {

  /**
   * A leader's view of one other member.
   *
   * @param id the member
   * @param voter whether it votes
   * @param matchIndex the highest index known stored on it
   * @param nextIndex the next index to send it
   * @param state the replication state: PROBE, REPLICATE or SNAPSHOT
   * @param recentlyActive whether it answered within the last election timeout
   */
  public record PeerStatus(
      String id,
      boolean voter,
      long matchIndex,
      long nextIndex,
      String state,
      boolean recentlyActive) {}
}
