package org.flotilla.raft.examples.bench;

import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.codec.LengthFieldBasedFrameDecoder;
import io.netty.util.concurrent.DefaultThreadFactory;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.IntUnaryOperator;
import org.HdrHistogram.Histogram;
import org.HdrHistogram.Recorder;

/**
 * The closed-loop load generator of WORKLOAD.md over the binary protocol: C slots, each with one
 * request outstanding; the next request of a slot is sent from the previous one's completion, on
 * the client's single event-loop thread (no thread per slot). Slots are spread over a few
 * connections; the writes a loop turn produces on a connection share one flush.
 *
 * <p>A failed request counts as an error, not as latency, and its slot retries after 5 ms.
 *
 * <p>Connected to several members with a router (the multi-group workload), each request goes to
 * the member the router names for its key, on one of that member's connections.
 */
public final class BenchClient implements AutoCloseable {

  private final EventLoopGroup group;
  private final EventLoop loop;
  private final List<Conn> conns = new ArrayList<>();
  // with several members: each member's connections, and the key number -> member index router
  private final List<List<Conn>> byMember = new ArrayList<>();
  private final IntUnaryOperator router;
  private final Recorder recorder = new Recorder(3);
  private final AtomicLong errors = new AtomicLong();
  private final AtomicLong ok = new AtomicLong();
  private final AtomicInteger inflight = new AtomicInteger();
  private volatile boolean running;
  private volatile boolean reads;
  private volatile boolean once;
  private volatile String lastError = "";
  private Slot[] slots = new Slot[0];

  /**
   * Connects to a member.
   *
   * @param address the member's client address
   * @param connections how many connections to open
   * @throws InterruptedException if interrupted while connecting
   */
  public BenchClient(InetSocketAddress address, int connections) throws InterruptedException {
    this(List.of(address), connections, null);
  }

  /**
   * Connects to several members; each request goes to the member {@code router} names for its key's
   * number (read it again for every request, so that it may follow leadership).
   *
   * @param members the members' client addresses
   * @param connections how many connections to open to each member
   * @param router maps a key's number to the index of a member in {@code members}, or null to
   *     spread slots over the connections as with one member
   * @throws InterruptedException if interrupted while connecting
   */
  public BenchClient(List<InetSocketAddress> members, int connections, IntUnaryOperator router)
      throws InterruptedException {
    this.router = router;
    group =
        new MultiThreadIoEventLoopGroup(
            1, new DefaultThreadFactory("bench-client", true), NioIoHandler.newFactory());
    loop = group.next();
    Bootstrap b =
        new Bootstrap()
            .group(group)
            .channel(NioSocketChannel.class)
            .option(ChannelOption.TCP_NODELAY, true)
            .handler(
                new ChannelInitializer<SocketChannel>() {
                  @Override
                  protected void initChannel(SocketChannel ch) {
                    Conn c = new Conn(ch);
                    ch.pipeline()
                        .addLast(new LengthFieldBasedFrameDecoder(1 << 20, 0, 4, 0, 4))
                        .addLast(c);
                  }
                });
    for (InetSocketAddress address : members) {
      List<Conn> mine = new ArrayList<>();
      for (int i = 0; i < connections; i++) {
        Channel ch = b.connect(address).sync().channel();
        mine.add(ch.pipeline().get(Conn.class));
      }
      conns.addAll(mine);
      byMember.add(mine);
    }
  }

  /** One connection; replies carry the slot's number as their id. */
  private final class Conn extends SimpleChannelInboundHandler<ByteBuf> {
    final Channel ch;
    boolean dirty;
    CompletableFuture<byte[]> call;

    Conn(Channel ch) {
      this.ch = ch;
    }

    @Override
    protected void channelRead0(ChannelHandlerContext ctx, ByteBuf in) {
      long rid = in.readLong();
      byte status = in.readByte();
      if (rid < 0) {
        CompletableFuture<byte[]> f = call;
        call = null;
        byte[] b = new byte[in.readableBytes()];
        in.readBytes(b);
        if (status == BenchProtocol.STATUS_OK) {
          f.complete(b);
        } else {
          f.completeExceptionally(new IllegalStateException(new String(b, StandardCharsets.UTF_8)));
        }
        return;
      }
      Slot s = slots[(int) rid];
      if (status == BenchProtocol.STATUS_OK) {
        s.completed(true, null);
      } else {
        s.completed(false, in.toString(StandardCharsets.UTF_8));
      }
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
      if (router != null) {
        // A completion here may have sent the slot's next request on another member's connection.
        for (Conn c : conns) {
          if (c.dirty) {
            c.dirty = false;
            c.ch.flush();
          }
        }
      } else if (dirty) {
        dirty = false;
        ctx.flush();
      }
    }
  }

  /** One closed-loop slot. */
  private final class Slot {
    final int id;
    final Conn conn;
    long startNs;

    Slot(int id, Conn conn) {
      this.id = id;
      this.conn = conn;
    }

    /** Sends this slot's next request; on the event loop. */
    void issue(boolean flushNow) {
      if (!running) {
        inflight.decrementAndGet();
        return;
      }
      boolean get = reads;
      byte[] kv = new byte[BenchProtocol.KEY_BYTES + BenchProtocol.VALUE_BYTES];
      int key = BenchProtocol.randomKey(kv, 0);
      Conn conn = this.conn;
      if (router != null) {
        List<Conn> member = byMember.get(router.applyAsInt(key));
        conn = member.get(id % member.size());
      }
      ByteBuf out =
          conn.ch
              .alloc()
              .ioBuffer(4 + 9 + BenchProtocol.KEY_BYTES + (get ? 0 : BenchProtocol.VALUE_BYTES));
      int len = 9 + BenchProtocol.KEY_BYTES + (get ? 0 : BenchProtocol.VALUE_BYTES);
      out.writeInt(len).writeLong(id).writeByte(get ? BenchProtocol.OP_GET : BenchProtocol.OP_PUT);
      if (get) {
        out.writeBytes(kv, 0, BenchProtocol.KEY_BYTES);
      } else {
        byte[] v = new byte[BenchProtocol.VALUE_BYTES]; // new random bytes for every command
        ThreadLocalRandom.current().nextBytes(v);
        System.arraycopy(v, 0, kv, BenchProtocol.KEY_BYTES, v.length);
        out.writeBytes(kv);
      }
      startNs = System.nanoTime();
      if (flushNow) {
        var unused = conn.ch.writeAndFlush(out, conn.ch.voidPromise());
      } else {
        var unused = conn.ch.write(out, conn.ch.voidPromise());
        conn.dirty = true;
      }
    }

    void completed(boolean success, String error) {
      long us = (System.nanoTime() - startNs) / 1000;
      if (success) {
        recorder.recordValue(Math.max(1, us));
        ok.incrementAndGet();
      } else {
        errors.incrementAndGet();
        lastError = error;
      }
      if (once) {
        inflight.decrementAndGet();
      } else if (success) {
        issue(false);
      } else {
        var unused = loop.schedule(() -> issue(true), 5, TimeUnit.MILLISECONDS);
      }
    }
  }

  /**
   * Starts C closed-loop slots.
   *
   * @param concurrency C
   * @param readMode true for GETs, false for PUTs
   * @param oneEach true to send one request per slot and not replace it (an open burst)
   */
  public void start(int concurrency, boolean readMode, boolean oneEach) {
    reads = readMode;
    once = oneEach;
    running = true;
    inflight.addAndGet(concurrency);
    loop.execute(
        () -> {
          slots = new Slot[concurrency];
          for (int i = 0; i < concurrency; i++) {
            slots[i] = new Slot(i, conns.get(i % conns.size()));
          }
          for (Slot s : slots) {
            s.issue(false);
          }
          for (Conn c : conns) {
            c.dirty = false;
            c.ch.flush();
          }
        });
  }

  /**
   * Sends one request outside the closed loop (before {@link #start}).
   *
   * @param op the opcode
   * @param body the bytes after the opcode
   * @return completes when the reply arrives, with the reply's body
   */
  public CompletableFuture<byte[]> call(byte op, byte[] body) {
    return call(0, op, body);
  }

  /**
   * Sends one request outside the closed loop to one member (before {@link #start}, or to a member
   * whose first connection no slot uses at the time).
   *
   * @param member the member's index
   * @param op the opcode
   * @param body the bytes after the opcode
   * @return completes when the reply arrives, with the reply's body
   */
  public CompletableFuture<byte[]> call(int member, byte op, byte[] body) {
    CompletableFuture<byte[]> result = new CompletableFuture<>();
    loop.execute(
        () -> {
          Conn c = byMember.get(member).get(0);
          if (c.call != null) {
            result.completeExceptionally(new IllegalStateException("a call is outstanding"));
            return;
          }
          c.call = result;
          ByteBuf out = c.ch.alloc().buffer(13 + body.length);
          out.writeInt(9 + body.length).writeLong(-1).writeByte(op).writeBytes(body);
          var unused = c.ch.writeAndFlush(out, c.ch.voidPromise());
        });
    return result;
  }

  /**
   * Switches the running slots between PUTs and GETs.
   *
   * @param readMode true for GETs
   */
  public void setReads(boolean readMode) {
    reads = readMode;
  }

  /**
   * Resets the histogram and returns a snapshot of the counters, to start a window.
   *
   * @return {successes, errors}
   */
  public long[] markWindow() {
    recorder.reset();
    return new long[] {ok.get(), errors.get()};
  }

  /**
   * Returns the latencies recorded since the last call or {@link #markWindow}.
   *
   * @return the interval's histogram, microseconds
   */
  public Histogram intervalHistogram() {
    return recorder.getIntervalHistogram();
  }

  /**
   * Returns the successes and errors so far.
   *
   * @return {successes, errors}
   */
  public long[] counters() {
    return new long[] {ok.get(), errors.get()};
  }

  /**
   * Returns the text of the last error reply.
   *
   * @return the message
   */
  public String lastError() {
    return lastError;
  }

  /**
   * Stops issuing and waits, bounded, for the outstanding requests.
   *
   * @param timeoutMs the bound
   * @return how many were still outstanding
   * @throws InterruptedException if interrupted
   */
  public int stop(long timeoutMs) throws InterruptedException {
    running = false;
    long deadline = System.currentTimeMillis() + timeoutMs;
    while (inflight.get() > 0 && System.currentTimeMillis() < deadline) {
      Thread.sleep(10);
    }
    return inflight.get();
  }

  /**
   * Waits, bounded, until no request is outstanding, without stopping the slots (for {@code
   * oneEach} bursts, whose slots end by themselves).
   *
   * @param timeoutMs the bound
   * @return how many were still outstanding
   * @throws InterruptedException if interrupted
   */
  public int awaitIdle(long timeoutMs) throws InterruptedException {
    long deadline = System.currentTimeMillis() + timeoutMs;
    while (inflight.get() > 0 && System.currentTimeMillis() < deadline) {
      Thread.sleep(10);
    }
    return inflight.get();
  }

  @Override
  public void close() {
    group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
  }
}
