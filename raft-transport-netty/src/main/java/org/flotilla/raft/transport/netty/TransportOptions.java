package org.flotilla.raft.transport.netty;

import io.netty.handler.ssl.SslContext;
import java.time.Duration;

/**
 * The validated settings of a {@link NettyTransport}, as {@link NettyTransport.Builder#build()}
 * produced them. Immutable.
 */
record TransportOptions(
    String clusterId,
    String groupId,
    String bindHost,
    int bindPort,
    int maxFrameSize,
    int maxQueuedMessages,
    long maxQueuedBytes,
    Duration reconnectMin,
    Duration reconnectMax,
    Duration handshakeTimeout,
    Duration keepalive,
    int ioThreads,
    boolean preferNative,
    boolean acceptNonMembers,
    boolean adminRequests,
    SslContext serverSsl,
    SslContext clientSsl) {

  boolean tls() {
    return serverSsl != null;
  }
}
