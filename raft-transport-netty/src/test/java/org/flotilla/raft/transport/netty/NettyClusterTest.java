package org.flotilla.raft.transport.netty;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.flotilla.raft.Member;
import org.flotilla.raft.RaftClusterScenarios;
import org.flotilla.raft.RaftOptions;
import org.flotilla.raft.TestCluster;

/**
 * The runtime's integration scenarios over {@link NettyTransport} on loopback: every member listens
 * on its own 127.0.0.1 port, kept across restarts (a restarted member gets a new transport bound to
 * the same port), with in-memory stores.
 */
class NettyClusterTest extends RaftClusterScenarios {

  @Override
  protected TestCluster newCluster(RaftOptions options) {
    Map<String, Integer> ports = new ConcurrentHashMap<>();
    return new TestCluster(
        id -> Member.of(id, "127.0.0.1:" + ports.computeIfAbsent(id, k -> freePort())),
        id -> transport(ports.computeIfAbsent(id, k -> freePort())).build(),
        id -> new TestCluster.MemoryStores(),
        options);
  }

  /**
   * Returns a builder for a cluster member's transport on a loopback port, with quick reconnects.
   */
  static NettyTransport.Builder transport(int port) {
    return NettyTransport.builder()
        .clusterId("it")
        .bindAddress("127.0.0.1", port)
        .reconnectBackoff(Duration.ofMillis(10), Duration.ofMillis(200))
        .keepalive(Duration.ofMillis(100))
        .ioThreads(1);
  }

  /** Returns a loopback port that was free a moment ago. */
  static int freePort() {
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return s.getLocalPort();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
