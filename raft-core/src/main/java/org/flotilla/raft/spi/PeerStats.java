package org.flotilla.raft.spi;

/**
 * A transport's counters and connection state for one peer, since the transport started.
 *
 * @param peer the peer's member id
 * @param state the state of the connection this node uses to send to the peer
 * @param messagesSent messages written towards the peer
 * @param bytesSent bytes written towards the peer (framing included, for a network transport)
 * @param messagesReceived messages received from the peer and handed to the node
 * @param bytesReceived bytes of those messages
 * @param messagesDropped messages to the peer that were dropped (queue overflow, too large, not
 *     connected)
 */
public record PeerStats(
    String peer,
    ConnectionState state,
    long messagesSent,
    long bytesSent,
    long messagesReceived,
    long bytesReceived,
    long messagesDropped) {

  /** The state of a connection to a peer. */
  public enum ConnectionState {
    /** Connected (and, for a network transport, handshaken): messages flow. */
    CONNECTED,
    /** Connecting or handshaking. */
    CONNECTING,
    /** Not connected; waiting to retry, or the peer is unreachable. */
    DISCONNECTED
  }
}
