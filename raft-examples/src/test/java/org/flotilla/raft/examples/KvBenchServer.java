package org.flotilla.raft.examples;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.LengthFieldBasedFrameDecoder;
import io.netty.util.concurrent.DefaultThreadFactory;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.flotilla.raft.NodeStatus;
import org.flotilla.raft.RaftNode;
import org.flotilla.raft.RaftOptions;
import org.flotilla.raft.ReadConsistency;
import org.flotilla.raft.Result;
import org.flotilla.raft.cluster.Member;
import org.flotilla.raft.cluster.Role;
import org.flotilla.raft.examples.bench.BenchProtocol;
import org.flotilla.raft.storage.FileLogStore;
import org.flotilla.raft.storage.FileMetaStore;
import org.flotilla.raft.storage.FileSnapshotStore;
import org.flotilla.raft.transport.netty.NettyTransport;

/**
 * One member of the benchmark cluster (WORKLOAD.md): the example's {@link KvStateMachine} embedded
 * with {@link FileLogStore} (fsync on, its default), {@link FileMetaStore} and {@link
 * NettyTransport} on loopback, exactly as {@link KvServer} embeds them, but serving the small
 * binary client protocol of {@link BenchProtocol} instead of HTTP so that the client costs little
 * CPU.
 *
 * <p>Lives in the test sources: it is a benchmark fixture, not part of the example's runtime jar.
 * Started by {@link org.flotilla.raft.examples.bench.ClusterBench} as a child JVM; it exits when
 * its standard input closes (the driver went away) or after {@code -Dbench.childMaxSec} seconds.
 */
public final class KvBenchServer {

  private KvBenchServer() {}

  /**
   * Runs a member: {@code ID DATA_DIR CLIENT_PORT ID=HOST:PORT,...}.
   *
   * @param args the command line
   * @throws IOException if the stores or a port cannot be opened
   */
  public static void main(String[] args) throws IOException {
    if (args.length != 4) {
      System.err.println("usage: KvBenchServer ID DATA_DIR CLIENT_PORT ID=HOST:PORT,...");
      System.exit(2);
    }
    installWatchdogs();
    String id = args[0];
    Path data = Path.of(args[1]);
    int clientPort = Integer.parseInt(args[2]);
    List<Member> members = members(args[3]);
    String raftAddress = address(members, id);
    Path logDir = Files.createDirectories(data.resolve("log"));
    Path metaDir = Files.createDirectories(data.resolve("meta"));
    Path snapDir = Files.createDirectories(data.resolve("snapshots"));
    NettyTransport.Builder tb =
        NettyTransport.builder()
            .clusterId("bench")
            .bindAddress(ServerConfig.host(raftAddress), ServerConfig.port(raftAddress));
    // As the example server runs: the node's event loop on the transport's one I/O thread.
    // -Dbench.loopOnNetty=false measures the loop on a thread of its own.
    boolean loopOnNetty = Boolean.parseBoolean(System.getProperty("bench.loopOnNetty", "true"));
    tb.ioThreads(Integer.getInteger("bench.ioThreads", loopOnNetty ? 1 : 2));
    NettyTransport transport = tb.build();
    RaftOptions options = options();
    KvStateMachine machine = new KvStateMachine(java.util.Map.of());
    RaftNode.Builder nb = RaftNode.builder();
    if (Boolean.parseBoolean(System.getProperty("bench.directCallbacks", "true"))) {
      // Replies leave from the apply thread (the handler only queues them for its event loop), as
      // the peers' JRaft harness replies from onApply: one thread hand-off less per applied batch
      // than the default callback executor (the common pool). -Dbench.directCallbacks=false
      // measures the default.
      nb.callbackExecutor(Runnable::run);
    }
    if (loopOnNetty) {
      nb.scheduler(transport.scheduler());
    }
    RaftNode node =
        nb.id(id)
            .members(members)
            .stateMachine(machine)
            .transport(transport)
            .logStore(FileLogStore.open(logDir, FileLogStore.Options.defaults()))
            .metaStore(FileMetaStore.open(metaDir))
            .snapshotStore(FileSnapshotStore.open(snapDir, 2))
            .options(options)
            .build();
    node.start();
    ChannelInitializer<Channel> client =
        new ChannelInitializer<Channel>() {
          @Override
          protected void initChannel(Channel c) {
            c.pipeline()
                .addLast(new LengthFieldBasedFrameDecoder(1 << 20, 0, 4, 0, 4))
                .addLast(new Handler(k -> node));
          }
        };
    // The client protocol on the transport's I/O thread too, where the node's loop runs: a
    // request reaches the loop without a thread hand-off. -Dbench.clientOnRaftIo=false serves it
    // on an I/O thread of its own.
    boolean clientOnRaftIo =
        loopOnNetty && Boolean.parseBoolean(System.getProperty("bench.clientOnRaftIo", "true"));
    EventLoopGroup group =
        clientOnRaftIo
            ? null
            : new MultiThreadIoEventLoopGroup(
                1, new DefaultThreadFactory("bench-client-io", true), NioIoHandler.newFactory());
    String loopback = InetAddress.getLoopbackAddress().getHostAddress();
    Channel ch =
        clientOnRaftIo
            ? transport.bindService(loopback, clientPort, client)
            : new ServerBootstrap()
                .group(group)
                .channel(NioServerSocketChannel.class)
                .childOption(ChannelOption.TCP_NODELAY, true)
                .childHandler(client)
                .bind(new InetSocketAddress(loopback, clientPort))
                .syncUninterruptibly()
                .channel();
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  var unused = ch.close().syncUninterruptibly();
                  if (group != null) {
                    var unused2 =
                        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
                  }
                  node.close();
                },
                "bench-shutdown"));
    System.out.println("READY " + id);
    System.out.flush();
    // The I/O threads are daemons: stay alive until the shutdown hook closes the listener.
    ch.closeFuture().awaitUninterruptibly();
  }

  /** Parses the member list {@code ID=HOST:PORT,...}. */
  static List<Member> members(String spec) {
    List<Member> members = new ArrayList<>();
    for (String m : spec.split(",", -1)) {
      String[] kv = m.split("=", 2);
      members.add(Member.of(kv[0], kv[1]));
    }
    return members;
  }

  /** The Raft address of member {@code id} of the list. */
  static String address(List<Member> members, String id) {
    return members.stream()
        .filter(m -> m.id().equals(id))
        .findFirst()
        .orElseThrow(() -> new IllegalArgumentException(id + " is not in the member list"))
        .address();
  }

  /** The members' options: WORKLOAD.md's election timeout of about 1 s, no snapshots. */
  static RaftOptions options() {
    return RaftOptions.builder()
        .tickInterval(Duration.ofMillis(10))
        .electionTimeout(Duration.ofMillis(Long.getLong("bench.electionMs", 1000)))
        .heartbeatInterval(Duration.ofMillis(100))
        // WORKLOAD.md: no snapshots or compaction during a run
        .snapshotThresholdEntries(0)
        .snapshotThresholdBytes(0)
        .build();
  }

  static void installWatchdogs() {
    Thread parent =
        new Thread(
            () -> {
              try {
                while (System.in.read() >= 0) {
                  // the driver never writes; EOF means it is gone
                }
              } catch (IOException e) {
                // A broken pipe means the same as EOF: the driver is gone.
                System.err.println("driver pipe failed (" + e + "); exiting");
              }
              System.exit(3);
            },
            "parent-watch");
    parent.setDaemon(true);
    parent.start();
    long maxSec = Long.getLong("bench.childMaxSec", 300);
    Thread deadline =
        new Thread(
            () -> {
              try {
                Thread.sleep(maxSec * 1000L);
              } catch (InterruptedException e) {
                System.err.println("deadline watchdog interrupted; exiting now");
              }
              System.out.println("lifetime limit reached; exiting");
              Runtime.getRuntime().halt(4);
            },
            "deadline");
    deadline.setDaemon(true);
    deadline.start();
  }

  private static boolean leads(RaftNode node) {
    NodeStatus st = node.status();
    return st != null && st.role() == Role.LEADER;
  }

  /** Sum of the heap pools' peak usage since the last reset, in bytes. */
  private static long peakHeap(boolean reset) {
    long sum = 0;
    for (MemoryPoolMXBean p : ManagementFactory.getMemoryPoolMXBeans()) {
      if (p.getType() == MemoryType.HEAP && p.isValid()) {
        sum += p.getPeakUsage().getUsed();
        if (reset) {
          p.resetPeakUsage();
        }
      }
    }
    return sum;
  }

  /** What a client connection serves: the node of each key, and administrative requests. */
  interface Target {

    /** The node whose group holds the key numbered {@code keyNumber}. */
    RaftNode node(int keyNumber);

    /**
     * Answers an administrative request whose opcode is not PUT, GET or a heap query, from the
     * request's text; null for an unknown opcode.
     */
    default CompletableFuture<String> admin(byte op, String text) {
      return null;
    }
  }

  /**
   * Serves one client connection. Requests are handled on the connection's event loop; replies come
   * back on the node's callback executor and are queued, then written and flushed in one batch per
   * event-loop task, so that many completions share one {@code write} system call.
   */
  static final class Handler extends SimpleChannelInboundHandler<ByteBuf> {
    private final Target target;
    private final ConcurrentLinkedQueue<Reply> replies = new ConcurrentLinkedQueue<>();
    private final AtomicBoolean drainScheduled = new AtomicBoolean();
    private Channel channel;

    Handler(Target target) {
      this.target = target;
    }

    private static final class Reply {
      final long id;
      final byte status;
      final byte[] payload;

      Reply(long id, byte status, byte[] payload) {
        this.id = id;
        this.status = status;
        this.payload = payload;
      }
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
      channel = ctx.channel();
      ctx.fireChannelActive();
    }

    @Override
    protected void channelRead0(ChannelHandlerContext ctx, ByteBuf in) {
      long id = in.readLong();
      byte op = in.readByte();
      switch (op) {
        case BenchProtocol.OP_PUT -> {
          byte[] key = new byte[BenchProtocol.KEY_BYTES];
          in.readBytes(key);
          byte[] value = new byte[in.readableBytes()];
          in.readBytes(value);
          ByteBuffer cmd =
              KvStateMachine.encodePut(new String(key, StandardCharsets.ISO_8859_1), value);
          complete(id, target.node(BenchProtocol.keyNumber(key)).submit(cmd), false);
        }
        case BenchProtocol.OP_GET -> {
          byte[] key = new byte[in.readableBytes()];
          in.readBytes(key);
          ByteBuffer q = KvStateMachine.encodeGet(new String(key, StandardCharsets.ISO_8859_1));
          complete(
              id,
              target.node(BenchProtocol.keyNumber(key)).read(q, ReadConsistency.LINEARIZABLE),
              true);
        }
        case BenchProtocol.OP_IS_LEADER ->
            reply(
                new Reply(
                    id,
                    BenchProtocol.STATUS_OK,
                    new byte[] {(byte) (leads(target.node(0)) ? 1 : 0)}));
        case BenchProtocol.OP_HEAP -> {
          boolean reset = in.readByte() == 1;
          long peak = peakHeap(reset);
          long used = Runtime.getRuntime().totalMemory() - Runtime.getRuntime().freeMemory();
          reply(
              new Reply(
                  id,
                  BenchProtocol.STATUS_OK,
                  ByteBuffer.allocate(16).putLong(peak).putLong(used).array()));
        }
        case BenchProtocol.OP_GC_HEAP -> {
          System.gc();
          long used = Runtime.getRuntime().totalMemory() - Runtime.getRuntime().freeMemory();
          reply(
              new Reply(id, BenchProtocol.STATUS_OK, ByteBuffer.allocate(8).putLong(used).array()));
        }
        default -> {
          String text = in.toString(StandardCharsets.UTF_8);
          CompletableFuture<String> answer = target.admin(op, text);
          if (answer == null) {
            answer =
                CompletableFuture.failedFuture(new IllegalArgumentException("unknown op " + op));
          }
          CompletableFuture<?> unused =
              answer.whenComplete(
                  (r, e) ->
                      reply(
                          new Reply(
                              id,
                              e == null ? BenchProtocol.STATUS_OK : BenchProtocol.STATUS_ERROR,
                              String.valueOf(e == null ? r : e).getBytes(StandardCharsets.UTF_8))));
        }
      }
    }

    private void complete(long id, CompletableFuture<Result> f, boolean value) {
      CompletableFuture<?> unused =
          f.whenComplete(
              (r, e) -> {
                if (e != null) {
                  reply(
                      new Reply(
                          id,
                          BenchProtocol.STATUS_ERROR,
                          String.valueOf(e).getBytes(StandardCharsets.UTF_8)));
                } else if (value) {
                  byte[] v = KvStateMachine.decodeValue(r.value());
                  reply(new Reply(id, BenchProtocol.STATUS_OK, v == null ? new byte[0] : v));
                } else {
                  reply(new Reply(id, BenchProtocol.STATUS_OK, null));
                }
              });
    }

    private void reply(Reply r) {
      replies.add(r);
      if (drainScheduled.compareAndSet(false, true)) {
        channel.eventLoop().execute(this::drain);
      }
    }

    private void drain() {
      drainScheduled.set(false);
      Reply r;
      boolean any = false;
      while ((r = replies.poll()) != null) {
        int n = r.payload == null ? 0 : r.payload.length;
        ByteBuf out = channel.alloc().ioBuffer(4 + 9 + n);
        out.writeInt(9 + n).writeLong(r.id).writeByte(r.status);
        if (n > 0) {
          out.writeBytes(r.payload);
        }
        var unused = channel.write(out, channel.voidPromise());
        any = true;
      }
      if (any) {
        channel.flush();
      }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
      System.out.println("client connection failed: " + cause);
      cause.printStackTrace(System.out);
      var unused = ctx.close();
    }
  }
}
