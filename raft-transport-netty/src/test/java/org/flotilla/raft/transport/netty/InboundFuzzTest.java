package org.flotilla.raft.transport.netty;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import org.flotilla.raft.cluster.Member;
import org.flotilla.raft.message.AppendEntries;
import org.flotilla.raft.message.EntryType;
import org.flotilla.raft.message.Heartbeat;
import org.flotilla.raft.message.LogEntry;
import org.flotilla.raft.message.RaftMessage;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Feeds random and mutated byte streams to the accepting side's decoder and validation layer and
 * checks that nothing bad escapes: no exception leaves the pipeline, only well-formed messages from
 * the connection's member reach the inbox, a connection that stays open has delivered every frame
 * it was sent (so a bad frame always closes it), and every inbound buffer is released (memory is
 * bounded by the maximum frame size).
 *
 * <p>{@code -Dflotilla.fuzz.inputs=N} sets the number of inputs (50,000 by default; the {@code
 * fuzz} profile runs 1,000,000); {@code -Dflotilla.fuzz.seed=S} replays a run. The seed is printed.
 */
class InboundFuzzTest {

  private static final int MAX_FRAME = 16 * 1024;
  private static final int MAX_BODY = MAX_FRAME - 4;

  @Test
  @Timeout(value = 30, unit = TimeUnit.MINUTES)
  void randomAndMutatedFramesNeverEscapeTheValidationLayer() {
    int inputs = Integer.getInteger("flotilla.fuzz.inputs", 50_000);
    long seed = Long.getLong("flotilla.fuzz.seed", System.nanoTime());
    System.out.println("InboundFuzzTest: " + inputs + " inputs, -Dflotilla.fuzz.seed=" + seed);
    Random random = new Random(seed);
    byte[] hello = bytes(InboundHandlerTest.frame(WireCodecTest.CODEC.hello("a", "b")));
    List<byte[]> corpus = corpus(random);
    int closed = 0;
    long delivered = 0;
    for (int i = 0; i < inputs; i++) {
      byte[] input = input(random, hello, corpus);
      try {
        Outcome o = feed(input, random);
        closed += o.closed ? 1 : 0;
        delivered += o.delivered;
      } catch (AssertionError | RuntimeException e) {
        throw new AssertionError(
            "input " + i + " of seed " + seed + ": " + ByteBufUtil.hexDump(input), e);
      }
    }
    System.out.println(
        "InboundFuzzTest: " + closed + " connections closed, " + delivered + " messages delivered");
    // The generator must exercise both outcomes, or the test proves little.
    assertThat(closed).isGreaterThan(inputs / 4);
    assertThat(delivered).isGreaterThan(inputs / 10);
  }

  private record Outcome(boolean closed, int delivered) {}

  private static Outcome feed(byte[] input, Random random) {
    List<RaftMessage> inbox = new ArrayList<>();
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
        InboundHandlerTest.route("a"::equals, inbox::add),
        false,
        n -> {},
        Duration.ofSeconds(5),
        "b",
        (peer, bytes) -> {},
        false);
    ch.pipeline().fireChannelActive();
    List<ByteBuf> written = new ArrayList<>();
    int pos = 0;
    while (pos < input.length && ch.isOpen()) {
      int n = Math.min(input.length - pos, 1 + random.nextInt(Math.max(1, input.length)));
      ByteBuf chunk = Unpooled.wrappedBuffer(input, pos, n);
      written.add(chunk);
      ch.writeInbound(chunk); // throws if a handler let an exception through
      pos += n;
    }
    ch.checkException();
    boolean open = ch.isOpen();
    ch.finishAndReleaseAll();
    for (ByteBuf b : written) {
      assertThat(b.refCnt()).as("inbound buffer released").isZero();
    }
    for (RaftMessage m : inbox) {
      assertThat(m.from()).isEqualTo("a");
      assertThat(m.to()).isEqualTo("b");
    }
    if (open) {
      // Nothing was rejected, so every complete frame after the Hello must have been delivered.
      assertThat(inbox).hasSize(completeFramesAfterHello(input));
    }
    return new Outcome(!open, inbox.size());
  }

  /** Counts complete, non-empty frames after the first non-empty one (the Hello). */
  private static int completeFramesAfterHello(byte[] input) {
    ByteBuffer b = ByteBuffer.wrap(input);
    int frames = 0;
    boolean hello = false;
    while (b.remaining() >= 4) {
      long len = Integer.toUnsignedLong(b.getInt());
      if (len > MAX_BODY) {
        fail("a too-long frame left the connection open");
      }
      if (b.remaining() < len) {
        break;
      }
      b.position(b.position() + (int) len);
      if (len == 0) {
        continue;
      }
      if (hello) {
        frames++;
      }
      hello = true;
    }
    return frames;
  }

  private static List<byte[]> corpus(Random random) {
    List<byte[]> corpus = new ArrayList<>();
    for (RaftMessage m : WireCodecTest.everyKind()) {
      corpus.add(bytes(InboundHandlerTest.frame(WireCodecTest.CODEC.toEnvelope(m))));
    }
    for (int n = 0; n < 20; n++) {
      List<LogEntry> entries = new ArrayList<>();
      int count = random.nextInt(8);
      for (int i = 1; i <= count; i++) {
        byte[] payload = new byte[random.nextInt(200)];
        random.nextBytes(payload);
        entries.add(new LogEntry(100 + i, 5, EntryType.COMMAND, ByteBuffer.wrap(payload)));
      }
      AppendEntries ae = new AppendEntries("a", "b", 5, 100, 5, 90, entries);
      corpus.add(bytes(InboundHandlerTest.frame(WireCodecTest.CODEC.toEnvelope(ae))));
    }
    return corpus;
  }

  private static byte[] input(Random r, byte[] hello, List<byte[]> corpus) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    int mode = r.nextInt(7);
    switch (mode) {
      case 0 -> out.writeBytes(randomBytes(r, r.nextInt(64)));
      case 1 -> {
        out.writeBytes(hello);
        out.writeBytes(randomBytes(r, r.nextInt(256)));
      }
      case 2 -> out.writeBytes(mutate(r, hello));
      case 3 -> {
        out.writeBytes(r.nextBoolean() ? hello : mutate(r, hello));
        byte[] body = randomBytes(r, r.nextInt(128));
        out.writeBytes(ByteBuffer.allocate(4).putInt(body.length).array());
        out.writeBytes(body);
      }
      default -> {
        // The Hello and a few valid frames, one of which may be mutated.
        out.writeBytes(hello);
        int n = 1 + r.nextInt(4);
        int mutated = mode == 6 ? -1 : r.nextInt(n);
        for (int i = 0; i < n; i++) {
          byte[] f = corpus.get(r.nextInt(corpus.size()));
          out.writeBytes(i == mutated ? mutate(r, f) : f);
        }
      }
    }
    return out.toByteArray();
  }

  private static byte[] mutate(Random r, byte[] in) {
    byte[] b = in.clone();
    switch (r.nextInt(6)) {
      case 0 -> {
        for (int i = 0, n = 1 + r.nextInt(4); i < n; i++) {
          int at = r.nextInt(b.length);
          b[at] ^= (byte) (1 << r.nextInt(8));
        }
      }
      case 1 -> b[r.nextInt(b.length)] = (byte) r.nextInt(256);
      case 2 -> {
        return java.util.Arrays.copyOf(b, r.nextInt(b.length));
      }
      case 3 -> {
        int at = 4 + r.nextInt(Math.max(1, b.length - 4));
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.write(b, 0, Math.min(at, b.length));
        out.writeBytes(randomBytes(r, 1 + r.nextInt(8)));
        out.write(b, Math.min(at, b.length), b.length - Math.min(at, b.length));
        return out.toByteArray();
      }
      case 4 -> ByteBuffer.wrap(b).putInt(0, r.nextInt());
      default -> {
        // Mutate the body but keep the length prefix consistent.
        if (b.length > 4) {
          int at = 4 + r.nextInt(b.length - 4);
          b[at] = (byte) r.nextInt(256);
        }
      }
    }
    return b;
  }

  private static byte[] randomBytes(Random r, int n) {
    byte[] b = new byte[n];
    r.nextBytes(b);
    return b;
  }

  private static byte[] bytes(ByteBuf buf) {
    try {
      return ByteBufUtil.getBytes(buf);
    } finally {
      buf.release();
    }
  }

  /** Garbage on real sockets: the transport's threads survive and keep serving members. */
  @Test
  @Timeout(60)
  void garbageConnectionsDoNotHurtARunningTransport() throws Exception {
    BlockingQueue<RaftMessage> inbox = new ArrayBlockingQueue<>(1000);
    try (NettyTransport a = NettyTransportConformanceTest.loopback(0).build();
        NettyTransport b = NettyTransportConformanceTest.loopback(0).build()) {
      a.start("a", m -> {});
      b.start("b", inbox::add);
      List<Member> members =
          List.of(
              Member.of("a", "127.0.0.1:" + a.localAddress().getPort()),
              Member.of("b", "127.0.0.1:" + b.localAddress().getPort()));
      a.updateMembers(members);
      b.updateMembers(members);
      Random r = new Random(42);
      byte[] hello = bytes(InboundHandlerTest.frame(WireCodecTest.CODEC.hello("a", "b")));
      for (int i = 0; i < 200; i++) {
        try (Socket s = new Socket(InetAddress.getLoopbackAddress(), b.localAddress().getPort())) {
          OutputStream out = s.getOutputStream();
          out.write(i % 2 == 0 ? randomBytes(r, 1 + r.nextInt(300)) : mutate(r, hello));
          out.flush();
        }
      }
      a.send(new Heartbeat("a", "b", 1, 0, 7));
      a.flush();
      RaftMessage m = inbox.poll(20, TimeUnit.SECONDS);
      assertThat(m).isEqualTo(new Heartbeat("a", "b", 1, 0, 7));
    }
  }
}
