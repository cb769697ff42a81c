package org.flotilla.raft.transport.netty;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.List;
import org.flotilla.raft.spi.HostTransport;
import org.flotilla.raft.spi.PeerStats;
import org.flotilla.raft.spi.Transport;

/**
 * The Netty transport of a {@link org.flotilla.raft.RaftHost}: one listening socket, one connection
 * to each remote host, and one set of I/O threads, whatever the number of groups. Built by {@link
 * NettyTransport.Builder#buildHost()} with the same settings as a single group's transport (cluster
 * id, address, TLS, queues, frame size); started by the host.
 *
 * <p>A host's connection names the group {@code "*"} in its handshake and then carries the
 * envelopes of every group the two hosts share, each naming its own group (docs/wire-format.md,
 * "Host connections"). A single-group member and a host refuse each other's connections with a
 * clear reason. An envelope for a group this host does not run (not yet created, or removed) or
 * from a member its group does not have is dropped and counted, without closing the connection the
 * other groups use. The queue towards each host is shared by its groups and bounded as a single
 * group's is.
 *
 * <pre>{@code
 * NettyHostTransport transport = NettyTransport.builder()
 *     .clusterId("prod-eu")
 *     .bindAddress("10.0.0.5", 7001)
 *     .buildHost();
 * RaftHost host = RaftHost.builder().id("s1").transport(transport).storage(storage).build();
 * }</pre>
 *
 * <p>Thread-safe.
 */
public final class NettyHostTransport implements HostTransport {

  private final NettyTransport connections;

  NettyHostTransport(NettyTransport connections) {
    this.connections = connections;
  }

  /**
   * Binds the listening socket and starts the I/O threads; called once by the host.
   *
   * @param hostId the host's member id
   * @throws IOException if the address cannot be bound
   */
  @Override
  public void start(String hostId) throws IOException {
    connections.startHost(hostId);
  }

  @Override
  public Transport group(String groupId) {
    return connections.hostGroup(groupId);
  }

  /**
   * Returns the address the transport listens on.
   *
   * @return the bound address
   * @throws IllegalStateException if not started
   */
  public InetSocketAddress localAddress() {
    return connections.localAddress();
  }

  /**
   * Returns the counters and connection state of each remote host this host connects to, for all
   * groups together.
   *
   * @return one entry per remote host
   */
  public List<PeerStats> peerStats() {
    return connections.peerStats();
  }

  /**
   * Returns the ids of the groups whose transports are started here, sorted; the host's liveness
   * group ({@link #LIVENESS_GROUP}) is not one of them.
   *
   * @return a fresh list
   */
  public List<String> groups() {
    List<String> ids = connections.hostGroupIds();
    ids.remove(LIVENESS_GROUP);
    return ids;
  }

  /**
   * Returns how many messages were dropped so far, for every group: queue overflow, unreachable
   * members, and inbound messages for groups not run here.
   *
   * @return the count
   */
  public long droppedMessages() {
    return connections.droppedMessages();
  }

  /**
   * Returns how many frames this host sent that carried the heartbeats (or heartbeat responses) of
   * several groups at once, and how many heartbeats they carried: consecutive heartbeats of many
   * groups towards one host leave as one frame.
   *
   * @return {frames, heartbeats in them}
   */
  public long[] coalescedHeartbeats() {
    return connections.coalesced();
  }

  @Override
  public void close() {
    connections.close();
  }

  @Override
  public String toString() {
    return "NettyHostTransport[" + connections + "]";
  }
}
