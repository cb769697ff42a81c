package org.flotilla.raft.transport.netty;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.flotilla.raft.RaftOptions;
import org.flotilla.raft.cluster.Member;
import org.flotilla.raft.spi.Scheduler;
import org.flotilla.raft.testkit.RaftClusterScenarios;
import org.flotilla.raft.testkit.TestCluster;
import org.junit.jupiter.api.Test;

/**
 * The runtime's integration scenarios over {@link NettyTransport} with each node's event loop
 * running on its transport's I/O thread ({@link NettyTransport#scheduler()}), as the example server
 * and the benchmark run it: elections, replication, restarts, reads, membership changes, snapshots
 * and backpressure, with the loop's turns interleaved with the connections' reads and writes.
 */
class NettyEventLoopClusterTest extends RaftClusterScenarios {

  @Override
  protected TestCluster newCluster(RaftOptions options) {
    Map<String, Integer> ports = new ConcurrentHashMap<>();
    return new TestCluster(
            id ->
                Member.of(
                    id, "127.0.0.1:" + ports.computeIfAbsent(id, k -> NettyClusterTest.freePort())),
            id ->
                NettyClusterTest.transport(
                        ports.computeIfAbsent(id, k -> NettyClusterTest.freePort()))
                    .build(),
            id -> new TestCluster.MemoryStores(),
            options)
        .withScheduler(t -> ((NettyTransport) t).scheduler());
  }

  @Test
  void theSchedulerRefusesALoopBeforeItsTransportStarts() {
    NettyTransport t = NettyClusterTest.transport(NettyClusterTest.freePort()).build();
    try {
      assertThatThrownBy(() -> t.scheduler().startEventLoop("n1-loop", () -> -1))
          .isInstanceOf(IllegalStateException.class)
          .hasMessageContaining("not running");
    } finally {
      t.close();
    }
  }

  @Test
  void aLoopRunsOnTheIoThreadWakesOnTimeAndStops() throws Exception {
    NettyTransport t = NettyClusterTest.transport(NettyClusterTest.freePort()).build();
    t.start("n1", m -> {});
    AtomicInteger turns = new AtomicInteger();
    CountDownLatch tenTurns = new CountDownLatch(10);
    boolean[] onIoThread = {true};
    Scheduler.Worker w =
        t.scheduler()
            .startEventLoop(
                "n1-loop",
                () -> {
                  onIoThread[0] &= Thread.currentThread().getName().startsWith("flotilla-net-n1");
                  tenTurns.countDown();
                  // ask for a timer of 1 ms: the worker must come back by itself
                  return turns.incrementAndGet() >= 20 ? -1 : TimeUnit.MILLISECONDS.toNanos(1);
                });
    assertThat(tenTurns.await(10, TimeUnit.SECONDS)).as("turns driven by the timer").isTrue();
    assertThat(w.awaitStop(10_000)).as("stops once a turn says so").isTrue();
    assertThat(turns.get()).isEqualTo(20);
    assertThat(onIoThread[0]).isTrue();
    w.wake(); // a stopped worker ignores wake-ups
    t.close();
    w.wake(); // and so does one whose transport closed
    assertThat(turns.get()).isEqualTo(20);
  }

  @Test
  void aServiceBoundOnTheTransportRunsOnTheLoopsThreadAndClosesWithIt() throws Exception {
    NettyTransport t = NettyClusterTest.transport(NettyClusterTest.freePort()).ioThreads(1).build();
    ChannelInitializer<Channel> echo =
        new ChannelInitializer<>() {
          @Override
          protected void initChannel(Channel ch) {
            ch.pipeline().addLast(new EchoOnLoop());
          }
        };
    assertThatThrownBy(() -> t.bindService("127.0.0.1", 0, echo))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("not started");
    t.start("n1", m -> {});
    try {
      Scheduler.Worker loop = t.scheduler().startEventLoop("n1-loop", () -> Long.MAX_VALUE);
      EchoOnLoop.loop = loop;
      Channel listener = t.bindService("127.0.0.1", 0, echo);
      int port = ((InetSocketAddress) listener.localAddress()).getPort();
      assertThatThrownBy(() -> t.bindService("127.0.0.1", port, echo))
          .isInstanceOf(IOException.class)
          .hasMessageContaining("cannot listen on 127.0.0.1:" + port);
      try (Socket s = new Socket(InetAddress.getLoopbackAddress(), port)) {
        s.setSoTimeout(10_000);
        s.getOutputStream().write(new byte[] {7});
        // 1 if the service's handler ran on the thread of the node's loop, 0 if not
        assertThat(s.getInputStream().read()).isEqualTo(1);
        t.close();
        assertThat(s.getInputStream().read())
            .as("the connection closed with the transport")
            .isEqualTo(-1);
      }
      assertThat(listener.isOpen()).isFalse();
    } finally {
      t.close(); // a no-op once closed above; frees the threads if an assertion failed first
    }
  }

  /** Answers each byte with whether it was read on the thread of {@link #loop}. */
  private static final class EchoOnLoop extends ChannelInboundHandlerAdapter {
    static volatile Scheduler.Worker loop;

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      ByteBuf in = (ByteBuf) msg;
      int n = in.readableBytes();
      in.release();
      ByteBuf out = ctx.alloc().buffer(n);
      for (int i = 0; i < n; i++) {
        out.writeByte(loop.inWorker() ? 1 : 0);
      }
      var unused = ctx.writeAndFlush(out);
    }
  }
}
