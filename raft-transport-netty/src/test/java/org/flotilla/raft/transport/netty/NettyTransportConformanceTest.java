package org.flotilla.raft.transport.netty;

import java.io.IOException;
import java.net.ServerSocket;
import java.time.Duration;
import org.flotilla.raft.spi.Transport;
import org.flotilla.raft.testkit.TransportConformanceTest;

/** Runs the transport conformance suite against {@link NettyTransport} on loopback. */
class NettyTransportConformanceTest extends TransportConformanceTest {

  static final int MAX_FRAME = 1024 * 1024;

  static NettyTransport.Builder loopback(int port) {
    return NettyTransport.builder()
        .clusterId("conformance")
        .groupId("g1")
        .bindAddress("127.0.0.1", port)
        .maxFrameSize(MAX_FRAME)
        .reconnectBackoff(Duration.ofMillis(10), Duration.ofMillis(200))
        .handshakeTimeout(Duration.ofSeconds(5))
        .keepalive(Duration.ofSeconds(1))
        .ioThreads(1);
  }

  @Override
  protected Transport newTransport() {
    return loopback(0).build();
  }

  @Override
  protected Transport newTransportAt(String address) {
    return loopback(NettyTransport.parseAddress(address).getPort()).build();
  }

  @Override
  protected String addressOf(Transport transport) {
    return "127.0.0.1:" + ((NettyTransport) transport).localAddress().getPort();
  }

  @Override
  protected int largestDeliverableChunk() {
    return MAX_FRAME - 1024;
  }

  @Override
  protected int undeliverableChunk() {
    return MAX_FRAME + 1;
  }

  @Override
  protected String deadAddress() {
    // A port that was free a moment ago: nobody listens there.
    try (ServerSocket s = new ServerSocket(0)) {
      return "127.0.0.1:" + s.getLocalPort();
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }
}
