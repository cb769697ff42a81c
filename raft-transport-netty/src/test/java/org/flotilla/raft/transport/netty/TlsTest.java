package org.flotilla.raft.transport.netty;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslHandler;
import io.netty.util.ReferenceCountUtil;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.flotilla.raft.cluster.Member;
import org.flotilla.raft.message.Heartbeat;
import org.flotilla.raft.message.RaftMessage;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** Mutual TLS between members, and strangers without the cluster CA's signature kept out. */
@Timeout(120)
class TlsTest {

  @TempDir static Path dir;
  static Path ca;
  static TestPki.Identity a;
  static TestPki.Identity b;
  static TestPki.Identity rogue;
  static TestPki.Identity elsewhere;

  @BeforeAll
  static void certificates() throws Exception {
    TestPki pki = new TestPki(dir);
    ca = pki.ca("cluster-ca");
    a = pki.member("a", "cluster-ca");
    b = pki.member("b", "cluster-ca");
    pki.ca("rogue-ca");
    rogue = pki.member("rogue", "rogue-ca");
    elsewhere = pki.member("elsewhere", "cluster-ca", "dns:db.example.org");
  }

  static NettyTransport tlsNode(TestPki.Identity id) {
    return NettyTransportConformanceTest.loopback(0)
        .tls(id.certificate(), id.privateKey(), ca)
        .build();
  }

  static List<Member> members(NettyTransport x, NettyTransport y) {
    return List.of(
        Member.of("a", "127.0.0.1:" + x.localAddress().getPort()),
        Member.of("b", "127.0.0.1:" + y.localAddress().getPort()));
  }

  @Test
  void membersWithCertificatesFromTheClusterCaTalk() throws Exception {
    BlockingQueue<RaftMessage> atB = new ArrayBlockingQueue<>(100);
    BlockingQueue<RaftMessage> atA = new ArrayBlockingQueue<>(100);
    try (NettyTransport ta = tlsNode(a);
        NettyTransport tb = tlsNode(b)) {
      ta.start("a", atA::add);
      tb.start("b", atB::add);
      ta.updateMembers(members(ta, tb));
      tb.updateMembers(members(ta, tb));
      ta.send(new Heartbeat("a", "b", 1, 0, 1));
      ta.flush();
      tb.send(new Heartbeat("b", "a", 1, 0, 2));
      tb.flush();
      assertThat(atB.poll(20, TimeUnit.SECONDS)).isEqualTo(new Heartbeat("a", "b", 1, 0, 1));
      assertThat(atA.poll(20, TimeUnit.SECONDS)).isEqualTo(new Heartbeat("b", "a", 1, 0, 2));
    }
  }

  @Test
  void aCertificateNotSignedByTheClusterCaCannotConnect() throws Exception {
    // The rogue trusts the cluster CA (so it would accept the server) but its own certificate is
    // signed by another CA: the server must end the connection before any Flotilla frame.
    SslContext rogueClient =
        SslContextBuilder.forClient()
            .keyManager(rogue.certificate().toFile(), rogue.privateKey().toFile())
            .trustManager(ca.toFile())
            .build();
    assertRefused(rogueClient);
  }

  @Test
  void aClientWithoutCertificateCannotConnect() throws Exception {
    assertRefused(SslContextBuilder.forClient().trustManager(ca.toFile()).build());
  }

  private static void assertRefused(SslContext client) throws Exception {
    BlockingQueue<RaftMessage> inbox = new ArrayBlockingQueue<>(100);
    EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
    try (NettyTransport tb = tlsNode(b)) {
      tb.start("b", inbox::add);
      tb.updateMembers(List.of(Member.of("a", "127.0.0.1:1"), Member.of("b", "127.0.0.1:2")));
      AtomicInteger bytesFromServer = new AtomicInteger();
      Channel ch =
          new Bootstrap()
              .group(group)
              .channel(NioSocketChannel.class)
              .handler(
                  new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel c) {
                      c.pipeline().addLast(client.newHandler(c.alloc(), "127.0.0.1", 0));
                      c.pipeline()
                          .addLast(
                              new ChannelInboundHandlerAdapter() {
                                @Override
                                public void channelRead(ChannelHandlerContext ctx, Object msg) {
                                  bytesFromServer.addAndGet(((ByteBuf) msg).readableBytes());
                                  ReferenceCountUtil.release(msg);
                                }

                                @Override
                                public void exceptionCaught(
                                    ChannelHandlerContext ctx, Throwable cause) {
                                  var unused = ctx.close();
                                }
                              });
                    }
                  })
              .connect(tb.localAddress())
              .sync()
              .channel();
      // With TLS 1.3 the client may finish its side before the server checks its certificate, so
      // send a valid Hello anyway: the server must close without ever answering it.
      SslHandler ssl = ch.pipeline().get(SslHandler.class);
      boolean finished = ssl.handshakeFuture().await(20, TimeUnit.SECONDS);
      if (finished && ssl.handshakeFuture().isSuccess()) {
        ch.writeAndFlush(
                InboundHandlerTest.frame(new WireCodec("conformance", "g1").hello("a", "b")))
            .await(20, TimeUnit.SECONDS);
      }
      assertThat(ch.closeFuture().await(20, TimeUnit.SECONDS))
          .as("the server closes the connection")
          .isTrue();
      assertThat(bytesFromServer.get()).as("no HelloAck").isZero();
      assertThat(inbox).isEmpty();
    } finally {
      group.shutdownGracefully(0, 1, TimeUnit.SECONDS).await(10, TimeUnit.SECONDS);
    }
  }

  @Test
  void aMemberWhoseCertificateNamesAnotherHostIsNotTrusted() throws Exception {
    EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
    try (NettyTransport server = tlsNode(elsewhere);
        NettyTransport client = tlsNode(a)) {
      server.start("b", m -> {});
      Channel ch =
          new Bootstrap()
              .group(group)
              .channel(NioSocketChannel.class)
              .handler(
                  new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel c) {
                      c.pipeline()
                          .addLast(
                              client
                                  .options()
                                  .clientSsl()
                                  .newHandler(
                                      c.alloc(), "127.0.0.1", server.localAddress().getPort()));
                    }
                  })
              .connect(server.localAddress())
              .sync()
              .channel();
      SslHandler ssl = ch.pipeline().get(SslHandler.class);
      assertThat(ssl.handshakeFuture().await(20, TimeUnit.SECONDS)).isTrue();
      assertThat(ssl.handshakeFuture().isSuccess()).isFalse();
      assertThat(ssl.handshakeFuture().cause()).hasStackTraceContaining("127.0.0.1");
    } finally {
      group.shutdownGracefully(0, 1, TimeUnit.SECONDS).await(10, TimeUnit.SECONDS);
    }
  }

  @Test
  void unreadableTlsMaterialIsRefusedAtBuild() {
    assertThatThrownBy(
            () ->
                NettyTransportConformanceTest.loopback(0)
                    .tls(dir.resolve("missing.crt"), a.privateKey(), ca)
                    .build())
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("certificateChain");
    assertThatThrownBy(
            () -> NettyTransportConformanceTest.loopback(0).tls(a.certificate(), ca, ca).build())
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("PKCS#8");
  }
}
