package org.flotilla.raft;

import java.util.List;
import java.util.Objects;
import java.util.Optional;
import org.flotilla.raft.cluster.Configuration;
import org.flotilla.raft.cluster.Role;

/**
 * A point-in-time view of a node, for monitoring.
 *
 * <p>A node stopped by a fatal error reports {@link Role#FAILED} with the {@link #failure()} that
 * stopped it, the indexes it had reached, no leader and no peers, until it is closed.
 *
 * @param id the node's id
 * @param role its role; {@link Role#FAILED} after a fatal error
 * @param term its current term
 * @param leader the leader it knows of, if any
 * @param commitIndex its commit index
 * @param appliedIndex the index its state machine has applied
 * @param lastIndex the index of its last log entry
 * @param snapshotIndex the index of its newest snapshot, 0 if none
 * @param configuration the configuration in force
 * @param peers on a leader, the replication progress of every other member; empty otherwise
 * @param snapshotTransfers the snapshot transfers under way: a leader's to members that need a
 *     snapshot, a follower's from its leader; empty if none
 * @param failure why the node stopped, present exactly when its role is {@link Role#FAILED}
 */
public record NodeStatus(
    String id,
    Role role,
    long term,
    Optional<String> leader,
    long commitIndex,
    long appliedIndex,
    long lastIndex,
    long snapshotIndex,
    Configuration configuration,
    List<PeerStatus> peers,
    List<SnapshotTransfer> snapshotTransfers,
    Optional<Failure> failure) {

  /**
   * Checks the components: none is null, and a failure is present exactly when the role is {@link
   * Role#FAILED}.
   *
   * @param id the node's id
   * @param role its role
   * @param term its current term
   * @param leader the leader it knows of, if any
   * @param commitIndex its commit index
   * @param appliedIndex the index its state machine has applied
   * @param lastIndex the index of its last log entry
   * @param snapshotIndex the index of its newest snapshot, 0 if none
   * @param configuration the configuration in force
   * @param peers on a leader, the replication progress of every other member
   * @param snapshotTransfers the snapshot transfers under way
   * @param failure why the node stopped, present exactly when its role is {@link Role#FAILED}
   */
  public NodeStatus {
    Objects.requireNonNull(id, "id");
    Objects.requireNonNull(role, "role");
    Objects.requireNonNull(leader, "leader");
    Objects.requireNonNull(configuration, "configuration");
    peers = List.copyOf(peers);
    snapshotTransfers = List.copyOf(snapshotTransfers);
    Objects.requireNonNull(failure, "failure");
    if (failure.isPresent() != (role == Role.FAILED)) {
      throw new IllegalArgumentException("a failure goes with role FAILED, and only with it");
    }
  }

  /**
   * Why a node stopped: the fatal error that put it in the {@link Role#FAILED} role. The node
   * applies nothing more; restarting it on the same stores (after fixing the cause) resumes from
   * what is durable, re-applying the entry at {@link #index()} if it was the one that failed.
   *
   * @param reason what failed, in words, for example "the state machine threw applying entry 42
   *     (term 3)"
   * @param index the log index the failure concerns (the entry whose {@code StateMachine.apply}
   *     threw), or 0 if it concerns no entry (a storage failure)
   * @param cause the error
   */
  public record Failure(String reason, long index, Throwable cause) {}

  /**
   * A leader's view of one other member.
   *
   * @param id the member
   * @param voter whether it votes
   * @param matchIndex the highest index known stored on it
   * @param nextIndex the next index to send it
   * @param state the replication state: PROBE, REPLICATE or SNAPSHOT
   * @param recentlyActive whether it answered within the last election timeout
   * @param lastContactMillis milliseconds since it last answered this leader (as of the status's
   *     last refresh, every ten ticks), or -1 if it has not answered in this term
   */
  public record PeerStatus(
      String id,
      boolean voter,
      long matchIndex,
      long nextIndex,
      String state,
      boolean recentlyActive,
      long lastContactMillis) {}

  /**
   * One snapshot transfer under way, with its progress. A transfer that is resumed after a lost
   * chunk or a reconnection goes back to the last offset the receiver acknowledged.
   *
   * @param peer the member the snapshot goes to (when sending) or comes from (when receiving)
   * @param sending true on the sender (the leader), false on the receiver
   * @param snapshotIndex the index the snapshot covers
   * @param bytesDone bytes the receiver has acknowledged (sending) or stored (receiving)
   * @param bytesTotal the snapshot's size in bytes
   */
  public record SnapshotTransfer(
      String peer, boolean sending, long snapshotIndex, long bytesDone, long bytesTotal) {}
}
