package org.flotilla.raft.transport.netty;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import org.flotilla.raft.cluster.Member;
import org.flotilla.raft.message.Heartbeat;
import org.flotilla.raft.message.RaftMessage;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Behaviour of the Netty transport beyond the conformance suite. */
@Timeout(60)
class NettyTransportTest {

  @Test
  void messagesForADownPeerAreBoundedByItsQueue() throws Exception {
    try (NettyTransport a =
        NettyTransportConformanceTest.loopback(0).maxQueued(100, 1 << 20).build()) {
      a.start("a", m -> {});
      a.updateMembers(
          List.of(
              Member.of("a", "127.0.0.1:" + a.localAddress().getPort()),
              Member.of("down", new NettyTransportConformanceTest().deadAddress())));
      for (int i = 0; i < 10_000; i++) {
        a.send(new Heartbeat("a", "down", 1, 0, i));
      }
      a.flush();
      assertThat(a.droppedMessages()).isGreaterThanOrEqualTo(10_000 - 100);
    }
  }

  @Test
  void aRemovedMemberIsNoLongerSentToAndAnAddedOneIs() throws Exception {
    BlockingQueue<RaftMessage> atB = new ArrayBlockingQueue<>(100);
    try (NettyTransport a = NettyTransportConformanceTest.loopback(0).build();
        NettyTransport b = NettyTransportConformanceTest.loopback(0).build()) {
      a.start("a", m -> {});
      b.start("b", atB::add);
      Member ma = Member.of("a", "127.0.0.1:" + a.localAddress().getPort());
      Member mb = Member.of("b", "127.0.0.1:" + b.localAddress().getPort());
      b.updateMembers(List.of(ma, mb));
      a.updateMembers(List.of(ma));
      a.send(new Heartbeat("a", "b", 1, 0, 1));
      a.flush();
      assertThat(a.droppedMessages()).isEqualTo(1);
      a.updateMembers(List.of(ma, mb));
      a.send(new Heartbeat("a", "b", 1, 0, 2));
      a.flush();
      assertThat(atB.poll(20, TimeUnit.SECONDS)).isEqualTo(new Heartbeat("a", "b", 1, 0, 2));
    }
  }

  @Test
  void fallsBackToNioWithoutTheNativeLibraryOrWhenAsked() throws Exception {
    try (NettyTransport t =
        NettyTransportConformanceTest.loopback(0).preferNativeTransport(false).build()) {
      t.start("a", m -> {});
      assertThat(t.usesEpoll()).isFalse();
    }
  }
}
