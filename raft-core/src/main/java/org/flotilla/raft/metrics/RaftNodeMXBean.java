package org.flotilla.raft.metrics;

import org.flotilla.raft.NodeStatus;

/**
 * The JMX view of one node, registered by {@link JmxRaftMetrics} as {@code
 * org.flotilla:type=RaftNode,group=<group>,node=<id>}. Every attribute is read-only and live.
 * Latencies are in nanoseconds, sizes in entries or bytes as named.
 *
 * <p>Thread-safe: attributes may be read from any thread.
 */
public interface RaftNodeMXBean {

  /**
   * Returns the group's id.
   *
   * @return the group id
   */
  String getGroupId();

  /**
   * Returns this member's id.
   *
   * @return the node id
   */
  String getNodeId();

  /**
   * Returns the node's role.
   *
   * @return FOLLOWER, PRE_CANDIDATE, CANDIDATE, LEADER, LEARNER, or FAILED after a fatal error;
   *     empty before start
   */
  String getRole();

  /**
   * Tells whether the node stopped after a fatal error ({@link NodeStatus#failure()}).
   *
   * @return true once it failed, until it is closed
   */
  boolean isFailed();

  /**
   * Returns the fatal error that stopped the node: what failed (with the log index, for a state
   * machine that threw) and the exception.
   *
   * @return the description, empty unless {@link #isFailed()}
   */
  String getFailure();

  /**
   * Returns the leader this node knows of.
   *
   * @return the leader's id, empty if none is known
   */
  String getLeader();

  /**
   * Returns the current term.
   *
   * @return the term
   */
  long getTerm();

  /**
   * Returns the commit index.
   *
   * @return the index
   */
  long getCommitIndex();

  /**
   * Returns the applied index.
   *
   * @return the index
   */
  long getAppliedIndex();

  /**
   * Returns the index of the last log entry.
   *
   * @return the index
   */
  long getLastIndex();

  /**
   * Returns the index of the newest snapshot.
   *
   * @return the index, 0 if none
   */
  long getSnapshotIndex();

  /**
   * Returns how many commands this node accepted as leader.
   *
   * @return the count
   */
  long getProposals();

  /**
   * Returns how many commands were refused for backpressure.
   *
   * @return the count
   */
  long getProposalsRejected();

  /**
   * Returns how many entries became committed on this node.
   *
   * @return the count
   */
  long getEntriesCommitted();

  /**
   * Returns how many entries this node's state machine applied.
   *
   * @return the count
   */
  long getEntriesApplied();

  /**
   * Returns how many elections this node started as candidate.
   *
   * @return the count
   */
  long getElectionsStarted();

  /**
   * Returns how many elections this node won.
   *
   * @return the count
   */
  long getElectionsWon();

  /**
   * Returns how many times the known leader changed to another member.
   *
   * @return the count
   */
  long getLeaderChanges();

  /**
   * Returns how many snapshots this node took.
   *
   * @return the count
   */
  long getSnapshotsTaken();

  /**
   * Returns how many snapshots this node installed from a leader.
   *
   * @return the count
   */
  long getSnapshotsInstalled();

  /**
   * Returns the size of the last snapshot taken or installed.
   *
   * @return bytes, 0 if none
   */
  long getLastSnapshotBytes();

  /**
   * Returns the bytes of the snapshots this node is sending that their receivers have acknowledged,
   * over every transfer under way (a leader's to members that need a snapshot).
   *
   * @return bytes, 0 if no transfer is under way
   */
  long getSnapshotSendBytesDone();

  /**
   * Returns the total size of the snapshots this node is sending, over every transfer under way.
   *
   * @return bytes, 0 if no transfer is under way
   */
  long getSnapshotSendBytesTotal();

  /**
   * Returns the bytes stored so far of the snapshot this node is receiving from its leader.
   *
   * @return bytes, 0 if none is being received
   */
  long getSnapshotReceiveBytesDone();

  /**
   * Returns the size of the snapshot this node is receiving from its leader.
   *
   * @return bytes, 0 if none is being received
   */
  long getSnapshotReceiveBytesTotal();

  /**
   * Returns the time to apply each batch of committed entries.
   *
   * @return nanoseconds per batch
   */
  Distribution getApplyLatency();

  /**
   * Returns the size of each batch of applied entries.
   *
   * @return entries per batch
   */
  Distribution getApplyBatchSize();

  /**
   * Returns the time of each {@code LogStore.append} call (into the page cache).
   *
   * @return nanoseconds per call
   */
  Distribution getLogAppendLatency();

  /**
   * Returns the size of each batch appended to the log.
   *
   * @return entries per append
   */
  Distribution getLogAppendBatchSize();

  /**
   * Returns the time of each log sync (fsync), if the log store reports it.
   *
   * @return nanoseconds per sync
   */
  Distribution getLogSyncLatency();

  /**
   * Returns how many entries each log sync made durable (the group-commit batch).
   *
   * @return entries per sync
   */
  Distribution getLogSyncBatchSize();

  /**
   * Returns the time to capture and write each snapshot.
   *
   * @return nanoseconds per snapshot
   */
  Distribution getSnapshotDuration();
}
