package org.flotilla.raft.spi;

import java.util.Collection;
import java.util.List;
import java.util.Optional;
import org.flotilla.raft.RaftNode;
import org.flotilla.raft.cluster.Member;
import org.flotilla.raft.message.RaftMessage;

/**
 * Carries messages between the members of a Raft group.
 *
 * <p>Delivery is best effort: a transport may drop, delay or (after a reconnect) lose messages, and
 * Raft tolerates it. It must not corrupt, reorder messages on one connection, or deliver a message
 * to a member other than its {@code to()}. Queues are bounded: when a peer is slow or down, a
 * transport drops messages rather than grow without bound.
 *
 * <p>Threading: {@link #send(RaftMessage)}, {@link #flush()} and {@link #updateMembers(Collection)}
 * are called only from the node's event loop and must not block. Inbound messages are handed to the
 * {@link Inbox} from the transport's own threads.
 */
public interface Transport extends AutoCloseable {

  /**
   * Starts the transport for the local member: binds, if it listens, and from then on delivers
   * messages addressed to {@code localId} to {@code inbox}.
   *
   * @param localId the local member's id
   * @param inbox where inbound messages go
   * @throws java.io.IOException if the transport cannot start (for example its port is taken)
   */
  void start(String localId, Inbox inbox) throws java.io.IOException;

  /**
   * Tells the transport the members of the group and their addresses. Called at start and on every
   * configuration change; members not in the collection may be disconnected.
   *
   * @param members every member of the current configuration, the local one included
   */
  void updateMembers(Collection<Member> members);

  /**
   * Sends a message to {@code message.to()}. Never throws and never blocks: a message that cannot
   * be sent is dropped (and counted or logged by the transport). A message that can never be sent,
   * however often it is retried (one larger than {@link #maxMessageBytes()}), is also reported to
   * {@link Inbox#unsendable(RaftMessage, String)}, so that the node does not re-send it for ever.
   *
   * @param message the message
   */
  void send(RaftMessage message);

  /**
   * Returns the largest message, in bytes with the transport's framing, that this transport can
   * carry. A node whose {@code RaftOptions.maxMessageBytes()} is larger refuses to build. Callable
   * from any thread at any time; must not block. The default, {@link Integer#MAX_VALUE}, means no
   * limit.
   *
   * @return bytes
   */
  default int maxMessageBytes() {
    return Integer.MAX_VALUE;
  }

  /**
   * Signals the end of a batch of sends (one event-loop turn): a transport that coalesces writes
   * flushes them now. The default does nothing.
   */
  default void flush() {}

  /**
   * Returns, for monitoring, this transport's counters and connection state for each peer it knows.
   * Callable from any thread at any time (also before start and after close); must not block. The
   * default reports nothing.
   *
   * @return one entry per peer, a fresh immutable list
   */
  default List<PeerStats> peerStats() {
    return List.of();
  }

  /** Stops the transport and releases its threads and sockets. */
  @Override
  void close();

  /** Receives inbound messages. Implemented by the node; must not block. */
  @FunctionalInterface
  interface Inbox {

    /**
     * Accepts one inbound message. The node may drop it if its inbound queue is full.
     *
     * @param message the message, already validated by the transport's decoder
     */
    void receive(RaftMessage message);

    /**
     * Reports a message the transport dropped because it can never send it, whatever the retries:
     * for example one that is larger than {@link Transport#maxMessageBytes()} once encoded. The
     * node stops with a fatal error, since re-sending the same message would loop for ever. Called
     * from any of the transport's threads (or from within {@link Transport#send}); must not block.
     * The default ignores it.
     *
     * @param message the dropped message
     * @param reason why it cannot be sent, with the sizes involved
     */
    default void unsendable(RaftMessage message, String reason) {}

    /**
     * Returns the node behind this inbox, for a transport that serves an operator's administrative
     * requests (status, membership changes, leadership transfer, snapshots) from a tool such as
     * {@code flotilla}. A transport must leave such requests off unless the embedder enables them.
     * The default has no node.
     *
     * @return the node, or empty
     */
    default Optional<RaftNode> node() {
      return Optional.empty();
    }
  }
}
