package org.flotilla.raft.metrics;

/**
 * The JMX view of one other member as seen by a node, registered by {@link JmxRaftMetrics} as
 * {@code org.flotilla:type=RaftPeer,group=<group>,node=<id>,peer=<peer id>} for every member of the
 * node's configuration. Replication values are known only while the node leads; elsewhere they are
 * -1 (indexes) or empty (state).
 *
 * <p>Thread-safe: attributes may be read from any thread.
 */
public interface RaftPeerMXBean {

  /**
   * Returns the peer's member id.
   *
   * @return the id
   */
  String getPeerId();

  /**
   * Tells whether the peer votes.
   *
   * @return true for a voter, false for a learner
   */
  boolean isVoter();

  /**
   * Returns the highest index known replicated on the peer (leader only).
   *
   * @return the match index, -1 if unknown
   */
  long getMatchIndex();

  /**
   * Returns how far the peer is behind the leader's log (leader only).
   *
   * @return the leader's last index minus the match index, -1 if unknown
   */
  long getLag();

  /**
   * Returns the replication state (leader only).
   *
   * @return PROBE, REPLICATE or SNAPSHOT; empty if unknown
   */
  String getReplicationState();

  /**
   * Returns the state of the connection the transport uses to send to the peer.
   *
   * @return CONNECTED, CONNECTING or DISCONNECTED; empty if the transport does not report it
   */
  String getConnectionState();

  /**
   * Returns how many messages were sent to the peer.
   *
   * @return the count
   */
  long getMessagesSent();

  /**
   * Returns how many bytes were sent to the peer.
   *
   * @return the count
   */
  long getBytesSent();

  /**
   * Returns how many messages were received from the peer.
   *
   * @return the count
   */
  long getMessagesReceived();

  /**
   * Returns how many bytes were received from the peer.
   *
   * @return the count
   */
  long getBytesReceived();

  /**
   * Returns how many messages to the peer were dropped.
   *
   * @return the count
   */
  long getMessagesDropped();
}
