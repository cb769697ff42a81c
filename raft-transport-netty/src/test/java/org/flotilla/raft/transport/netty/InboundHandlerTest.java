package org.flotilla.raft.transport.netty;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.MessageLite;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.buffer.UnpooledByteBufAllocator;
import io.netty.channel.embedded.EmbeddedChannel;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.flotilla.raft.message.Heartbeat;
import org.flotilla.raft.message.RaftMessage;
import org.flotilla.raft.transport.netty.proto.Wire;
import org.junit.jupiter.api.Test;

/** The accepting side's handshake and validation, on an {@link EmbeddedChannel}: no sockets. */
class InboundHandlerTest {

  static final int MAX_FRAME = 64 * 1024;

  final List<RaftMessage> inbox = new ArrayList<>();

  /** The routes of a single-group member of group g1 ({@link WireCodecTest#CODEC}). */
  static java.util.function.Function<String, Route> route(
      java.util.function.Predicate<String> hears, org.flotilla.raft.spi.Transport.Inbox inbox) {
    Route r =
        new Route() {
          @Override
          public WireCodec codec() {
            return WireCodecTest.CODEC;
          }

          @Override
          public org.flotilla.raft.spi.Transport.Inbox inbox() {
            return inbox;
          }

          @Override
          public boolean hears(String memberId) {
            return hears.test(memberId);
          }
        };
    return g -> WireCodecTest.CODEC.groupId().equals(g) ? r : null;
  }

  /** A channel of node "b" in cluster c1, group g1, that knows member "a". */
  EmbeddedChannel channel() {
    EmbeddedChannel ch = new EmbeddedChannel();
    InboundHandler.initPipeline(
        ch.pipeline(),
        MAX_FRAME,
        Duration.ofSeconds(1),
        WireCodecTest.CODEC,
        "b",
        Set.of("a")::contains,
        Set.of("a")::contains,
        (id, address) -> {},
        InboundHandlerTest.route(Set.of("a")::contains, inbox::add),
        false,
        n -> {},
        Duration.ofSeconds(5),
        "b",
        (peer, bytes) -> {},
        false);
    ch.pipeline().fireChannelActive();
    return ch;
  }

  static ByteBuf frame(MessageLite m) {
    return WireCodec.frame(UnpooledByteBufAllocator.DEFAULT, m, Integer.MAX_VALUE);
  }

  static Wire.HelloAck readAck(EmbeddedChannel ch) throws Exception {
    ByteBuf out = ch.readOutbound();
    assertThat(out).as("a HelloAck").isNotNull();
    try {
      assertThat(out.readInt()).isEqualTo(out.readableBytes());
      return WireCodec.parseHelloAck(out);
    } finally {
      out.release();
    }
  }

  @Test
  void acceptsAMemberAndDeliversItsMessages() throws Exception {
    EmbeddedChannel ch = channel();
    ch.writeInbound(frame(WireCodecTest.CODEC.hello("a", "b")));
    assertThat(readAck(ch).getAccepted()).isTrue();
    for (RaftMessage m : WireCodecTest.everyKind()) {
      ch.writeInbound(frame(WireCodecTest.CODEC.toEnvelope(m)));
    }
    assertThat(inbox).containsExactlyElementsOf(WireCodecTest.everyKind());
    assertThat(ch.isActive()).isTrue();
    ch.checkException();
  }

  @Test
  void refusesAnotherClusterAndSaysWhy() throws Exception {
    EmbeddedChannel ch = channel();
    ch.writeInbound(frame(new WireCodec("other", "g1").hello("a", "b")));
    Wire.HelloAck ack = readAck(ch);
    assertThat(ack.getAccepted()).isFalse();
    assertThat(ack.getReason()).contains("cluster id 'other'");
    assertThat(ch.isActive()).isFalse();
  }

  @Test
  void refusesAnUnknownMember() throws Exception {
    EmbeddedChannel ch = channel();
    ch.writeInbound(frame(WireCodecTest.CODEC.hello("mallory", "b")));
    assertThat(readAck(ch).getReason()).contains("unknown member 'mallory'");
    assertThat(ch.isActive()).isFalse();
  }

  @Test
  void refusesAnotherGroup() throws Exception {
    EmbeddedChannel ch = channel();
    ch.writeInbound(frame(new WireCodec("c1", "g2").hello("a", "b")));
    assertThat(readAck(ch).getReason()).contains("group id 'g2'");
    assertThat(ch.isActive()).isFalse();
  }

  @Test
  void envelopeBeforeHelloClosesTheConnection() throws Exception {
    EmbeddedChannel ch = channel();
    ch.writeInbound(frame(WireCodecTest.CODEC.toEnvelope(new Heartbeat("a", "b", 1, 0, 1))));
    assertThat(ch.isActive()).isFalse();
    assertThat(inbox).isEmpty();
  }

  @Test
  void envelopeForAnotherSenderClosesAndNothingAfterItIsDelivered() throws Exception {
    EmbeddedChannel ch = channel();
    ch.writeInbound(frame(WireCodecTest.CODEC.hello("a", "b")));
    readAck(ch);
    ByteBuf both =
        Unpooled.wrappedBuffer(
            frame(WireCodecTest.CODEC.toEnvelope(new Heartbeat("c", "b", 1, 0, 1))),
            frame(WireCodecTest.CODEC.toEnvelope(new Heartbeat("a", "b", 1, 0, 2))));
    ch.writeInbound(both);
    assertThat(ch.isActive()).isFalse();
    assertThat(inbox).isEmpty();
    assertThat(both.refCnt()).isZero();
  }

  @Test
  void frameLongerThanTheMaximumClosesBeforeItIsBuffered() throws Exception {
    EmbeddedChannel ch = channel();
    ch.writeInbound(frame(WireCodecTest.CODEC.hello("a", "b")));
    readAck(ch);
    ByteBuf header = Unpooled.buffer(4).writeInt(1 << 30);
    ch.writeInbound(header);
    assertThat(ch.isActive()).isFalse();
    assertThat(header.refCnt()).isZero();
  }

  @Test
  void silentConnectionIsClosedAfterTheHandshakeTimeout() {
    EmbeddedChannel ch = channel();
    ch.advanceTimeBy(6, TimeUnit.SECONDS);
    ch.runScheduledPendingTasks();
    assertThat(ch.isActive()).isFalse();
  }

  @Test
  void emptyFramesAreKeepalivesAndIdleWritersSendThem() throws Exception {
    EmbeddedChannel ch = channel();
    ch.writeInbound(frame(WireCodecTest.CODEC.hello("a", "b")));
    readAck(ch);
    ch.writeInbound(Unpooled.buffer(4).writeInt(0));
    assertThat(ch.isActive()).isTrue();
    assertThat(inbox).isEmpty();

    ch.advanceTimeBy(1100, TimeUnit.MILLISECONDS);
    ch.runScheduledPendingTasks();
    ByteBuf keepalive = ch.readOutbound();
    assertThat(keepalive).as("a keepalive after 1 s without writes").isNotNull();
    assertThat(keepalive.readableBytes()).isEqualTo(4);
    assertThat(keepalive.readInt()).isZero();
    keepalive.release();
    assertThat(ch.isActive()).isTrue();
  }

  @Test
  void peerSilentForThreeKeepaliveIntervalsIsDisconnected() throws Exception {
    EmbeddedChannel ch = channel();
    ch.writeInbound(frame(WireCodecTest.CODEC.hello("a", "b")));
    readAck(ch);
    for (int i = 0; i < 4 && ch.isActive(); i++) {
      ch.advanceTimeBy(1000, TimeUnit.MILLISECONDS);
      ch.runScheduledPendingTasks();
    }
    assertThat(ch.isActive()).isFalse();
  }

  @Test
  void removedMemberIsDisconnectedAtItsNextMessage() throws Exception {
    Set<String> members = new java.util.HashSet<>(Set.of("a"));
    EmbeddedChannel ch = new EmbeddedChannel();
    InboundHandler.initPipeline(
        ch.pipeline(),
        MAX_FRAME,
        Duration.ofSeconds(1),
        WireCodecTest.CODEC,
        "b",
        members::contains,
        members::contains,
        (id, address) -> {},
        InboundHandlerTest.route(members::contains, inbox::add),
        false,
        n -> {},
        Duration.ofSeconds(5),
        "b",
        (peer, bytes) -> {},
        false);
    ch.pipeline().fireChannelActive();
    ch.writeInbound(frame(WireCodecTest.CODEC.hello("a", "b")));
    readAck(ch);
    members.clear();
    ch.writeInbound(frame(WireCodecTest.CODEC.toEnvelope(new Heartbeat("a", "b", 1, 0, 1))));
    assertThat(inbox).isEmpty();
    assertThat(ch.isActive()).isFalse();
  }

  @Test
  void inboxFailureIsLoggedAndTheConnectionKept() throws Exception {
    EmbeddedChannel ch = new EmbeddedChannel();
    InboundHandler.initPipeline(
        ch.pipeline(),
        MAX_FRAME,
        Duration.ofSeconds(1),
        WireCodecTest.CODEC,
        "b",
        "a"::equals,
        "a"::equals,
        (id, address) -> {},
        InboundHandlerTest.route(
            "a"::equals,
            m -> {
              throw new IllegalStateException("node bug");
            }),
        false,
        n -> {},
        Duration.ofSeconds(5),
        "b",
        (peer, bytes) -> {},
        false);
    ch.pipeline().fireChannelActive();
    ch.writeInbound(frame(WireCodecTest.CODEC.hello("a", "b")));
    readAck(ch);
    ch.writeInbound(frame(WireCodecTest.CODEC.toEnvelope(new Heartbeat("a", "b", 1, 0, 1))));
    assertThat(ch.isActive()).isTrue();
    ch.checkException();
  }

  @Test
  void aHostConnectionDeliversABatchToEachGroupAndDropsUnknownGroupsWithoutClosing()
      throws Exception {
    WireCodec host = new WireCodec("c1", WireCodec.HOST_GROUP);
    WireCodec g1 = new WireCodec("c1", "g1");
    WireCodec g2 = new WireCodec("c1", "g2");
    WireCodec g3 = new WireCodec("c1", "g3");
    List<String> delivered = new ArrayList<>();
    java.util.Map<String, Route> routes = new java.util.HashMap<>();
    for (WireCodec c : List.of(g1, g2)) {
      routes.put(
          c.groupId(),
          new Route() {
            @Override
            public WireCodec codec() {
              return c;
            }

            @Override
            public org.flotilla.raft.spi.Transport.Inbox inbox() {
              return m -> delivered.add(c.groupId() + ":" + m.getClass().getSimpleName());
            }

            @Override
            public boolean hears(String memberId) {
              return "a".equals(memberId);
            }
          });
    }
    int[] dropped = {0};
    EmbeddedChannel ch = new EmbeddedChannel();
    InboundHandler.initPipeline(
        ch.pipeline(),
        MAX_FRAME,
        Duration.ofSeconds(1),
        host,
        "b",
        "a"::equals,
        "a"::equals,
        (id, address) -> {},
        routes::get,
        true,
        n -> dropped[0] += n,
        Duration.ofSeconds(5),
        "b",
        (peer, bytes) -> {},
        false);
    ch.pipeline().fireChannelActive();
    ch.writeInbound(frame(host.hello("a", "b")));
    assertThat(readAck(ch).getAccepted()).isTrue();
    Wire.Batch batch =
        Wire.Batch.newBuilder()
            .addEnvelopes(g1.toEnvelope(new Heartbeat("a", "b", 1, 0, 1)))
            .addEnvelopes(g3.toEnvelope(new Heartbeat("a", "b", 1, 0, 1)))
            .addEnvelopes(g2.toEnvelope(new Heartbeat("a", "b", 2, 0, 1)))
            .build();
    ch.writeInbound(frame(host.envelope("a", "b").setBatch(batch).build()));
    assertThat(delivered).containsExactly("g1:Heartbeat", "g2:Heartbeat");
    assertThat(dropped[0]).isEqualTo(1);
    assertThat(ch.isActive()).isTrue();

    // A batch inside a batch is bad input: the connection closes, nothing more is delivered.
    Wire.Envelope nested = host.envelope("a", "b").setBatch(batch).build();
    ch.writeInbound(
        frame(
            host.envelope("a", "b")
                .setBatch(Wire.Batch.newBuilder().addEnvelopes(nested))
                .build()));
    assertThat(ch.isActive()).isFalse();
    assertThat(delivered).hasSize(2);
  }

  @Test
  void aBatchOnASingleGroupConnectionClosesIt() throws Exception {
    EmbeddedChannel ch = channel();
    ch.writeInbound(frame(WireCodecTest.CODEC.hello("a", "b")));
    readAck(ch);
    Wire.Batch batch =
        Wire.Batch.newBuilder()
            .addEnvelopes(WireCodecTest.CODEC.toEnvelope(new Heartbeat("a", "b", 1, 0, 1)))
            .build();
    ch.writeInbound(frame(WireCodecTest.CODEC.envelope("a", "b").setBatch(batch).build()));
    assertThat(inbox).isEmpty();
    assertThat(ch.isActive()).isFalse();
  }
}
