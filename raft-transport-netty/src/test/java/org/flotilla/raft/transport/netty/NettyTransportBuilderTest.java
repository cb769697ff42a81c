package org.flotilla.raft.transport.netty;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.time.Duration;
import org.junit.jupiter.api.Test;

class NettyTransportBuilderTest {

  private static NettyTransport.Builder valid() {
    return NettyTransport.builder().clusterId("c").bindAddress("127.0.0.1", 0);
  }

  @Test
  void defaultsBuild() {
    assertThat(valid().build()).isNotNull();
  }

  @Test
  void rejectsMissingOrBadOptionsWithAClearMessage() {
    assertThatThrownBy(() -> NettyTransport.builder().bindAddress("127.0.0.1", 0).build())
        .hasMessageContaining("clusterId");
    assertThatThrownBy(() -> valid().groupId("a b").build()).hasMessageContaining("groupId");
    assertThatThrownBy(() -> NettyTransport.builder().clusterId("c").build())
        .hasMessageContaining("bindAddress");
    assertThatThrownBy(() -> valid().bindAddress("127.0.0.1", 70000).build())
        .hasMessageContaining("port");
    assertThatThrownBy(() -> valid().maxFrameSize(1000).build())
        .hasMessageContaining("maxFrameSize");
    assertThatThrownBy(() -> valid().maxQueued(8, 1 << 30).build())
        .hasMessageContaining("messages");
    assertThatThrownBy(() -> valid().maxQueued(100, 1000).build())
        .hasMessageContaining("at least maxFrameSize");
    assertThatThrownBy(
            () -> valid().reconnectBackoff(Duration.ofSeconds(2), Duration.ofSeconds(1)).build())
        .hasMessageContaining("below min");
    assertThatThrownBy(() -> valid().reconnectBackoff(Duration.ZERO, Duration.ofSeconds(1)).build())
        .hasMessageContaining("positive");
    assertThatThrownBy(() -> valid().handshakeTimeout(Duration.ofSeconds(-1)).build())
        .hasMessageContaining("handshakeTimeout");
    assertThatThrownBy(() -> valid().keepalive(Duration.ofMillis(1)).build())
        .hasMessageContaining("keepalive");
    assertThatThrownBy(() -> valid().ioThreads(0).build()).hasMessageContaining("ioThreads");
  }

  @Test
  void startFailsWithIoExceptionWhenThePortIsTaken() throws Exception {
    try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
        NettyTransport t = valid().bindAddress("127.0.0.1", taken.getLocalPort()).build()) {
      assertThatThrownBy(() -> t.start("a", m -> {}))
          .isInstanceOf(IOException.class)
          .hasMessageContaining("cannot listen");
    }
  }

  @Test
  void rejectsAnInvalidLocalIdAndASecondStart() throws Exception {
    try (NettyTransport t = valid().build()) {
      assertThatThrownBy(() -> t.start("not valid", m -> {})).hasMessageContaining("local member");
      t.start("a", m -> {});
      assertThatThrownBy(() -> t.start("a", m -> {})).hasMessageContaining("already started");
      assertThat(t.localAddress().getPort()).isPositive();
    }
  }

  @Test
  void backoffGrowsToItsCapWithJitter() throws Exception {
    try (NettyTransport t =
        valid().reconnectBackoff(Duration.ofMillis(100), Duration.ofMillis(1000)).build()) {
      Peer p =
          new Peer(
              "x",
              NettyTransport.parseAddress("127.0.0.1:1"),
              t,
              new io.netty.channel.embedded.EmbeddedChannel().eventLoop());
      for (int i = 0; i < 200; i++) {
        assertThat(p.backoffMillis(0)).isBetween(50L, 100L);
        assertThat(p.backoffMillis(2)).isBetween(200L, 400L);
        assertThat(p.backoffMillis(10)).isBetween(500L, 1000L);
        assertThat(p.backoffMillis(1000)).isBetween(500L, 1000L);
      }
    }
  }
}
