package org.flotilla.raft.examples;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.LengthFieldBasedFrameDecoder;
import io.netty.util.concurrent.DefaultThreadFactory;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;
import org.flotilla.raft.NodeStatus;
import org.flotilla.raft.RaftHost;
import org.flotilla.raft.RaftNode;
import org.flotilla.raft.cluster.Member;
import org.flotilla.raft.cluster.Role;
import org.flotilla.raft.examples.bench.BenchProtocol;
import org.flotilla.raft.storage.FileHostStorage;
import org.flotilla.raft.transport.netty.NettyHostTransport;
import org.flotilla.raft.transport.netty.NettyTransport;

/**
 * One member of the multi-group benchmark cluster (WORKLOAD.md, "Multi-group workload"): a {@link
 * RaftHost} with G groups, each the example's {@link KvStateMachine}, sharing one {@link
 * NettyHostTransport}, one {@link FileHostStorage} (one shared log, fsync on) and the host's
 * threads; idle groups quiesce. It serves the benchmark's binary protocol ({@link BenchProtocol}):
 * a key's group is its number mod G, and the administrative requests of the multi-group driver
 * (status, leaderships, transfers, one PUT per group, live heap).
 *
 * <p>A benchmark fixture in the test sources, started by {@link
 * org.flotilla.raft.examples.bench.MultiGroupBench} as a child JVM; it exits when its standard
 * input closes or after {@code -Dbench.childMaxSec} seconds.
 */
public final class MultiGroupBenchServer {

  private MultiGroupBenchServer() {}

  /**
   * Runs a member: {@code ID DATA_DIR CLIENT_PORT GROUPS ID=HOST:PORT,...}.
   *
   * @param args the command line
   * @throws Exception if the stores or a port cannot be opened
   */
  public static void main(String[] args) throws Exception {
    if (args.length != 5) {
      System.err.println(
          "usage: MultiGroupBenchServer ID DATA_DIR CLIENT_PORT GROUPS ID=HOST:PORT,...");
      System.exit(2);
    }
    KvBenchServer.installWatchdogs();
    String id = args[0];
    Path data = Path.of(args[1]);
    int clientPort = Integer.parseInt(args[2]);
    int groups = Integer.parseInt(args[3]);
    List<Member> members = KvBenchServer.members(args[4]);
    String raftAddress = KvBenchServer.address(members, id);
    NettyHostTransport transport =
        NettyTransport.builder()
            .clusterId("bench")
            .bindAddress(ServerConfig.host(raftAddress), ServerConfig.port(raftAddress))
            .buildHost();
    RaftHost host =
        RaftHost.builder()
            .id(id)
            .transport(transport)
            .storage(FileHostStorage.open(data))
            .options(KvBenchServer.options())
            .build();
    RaftNode[] nodes = new RaftNode[groups];
    AtomicInteger started = new AtomicInteger();
    KvBenchServer.Target target =
        new KvBenchServer.Target() {
          @Override
          public RaftNode node(int keyNumber) {
            return nodes[keyNumber % groups];
          }

          @Override
          public CompletableFuture<String> admin(byte op, String text) {
            return switch (op) {
              case BenchProtocol.OP_STATUS ->
                  CompletableFuture.completedFuture(status(nodes, started.get(), host));
              case BenchProtocol.OP_LEADS ->
                  CompletableFuture.completedFuture(leads(nodes, started.get()));
              case BenchProtocol.OP_TRANSFER -> spread(nodes, started.get(), members);
              case BenchProtocol.OP_PUT_GROUP -> putToLed(nodes, started.get());
              default -> null;
            };
          }
        };
    EventLoopGroup io =
        new MultiThreadIoEventLoopGroup(
            1, new DefaultThreadFactory("bench-client-io", true), NioIoHandler.newFactory());
    Channel ch =
        new ServerBootstrap()
            .group(io)
            .channel(NioServerSocketChannel.class)
            .childOption(ChannelOption.TCP_NODELAY, true)
            .childHandler(
                new ChannelInitializer<Channel>() {
                  @Override
                  protected void initChannel(Channel c) {
                    c.pipeline()
                        .addLast(new LengthFieldBasedFrameDecoder(1 << 20, 0, 4, 0, 4))
                        .addLast(new KvBenchServer.Handler(target));
                  }
                })
            .bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), clientPort))
            .syncUninterruptibly()
            .channel();
    Runtime.getRuntime().addShutdownHook(new Thread(host::close, "bench-shutdown"));
    System.out.println("READY " + id + " (" + host.threads() + " host threads)");
    System.out.flush();
    for (int g = 0; g < groups; g++) {
      nodes[g] =
          host.newGroup("g" + g)
              .stateMachine(new KvStateMachine(Map.of()))
              .members(members)
              .build();
      nodes[g].start();
      started.incrementAndGet();
    }
    System.out.println("STARTED " + groups + " groups");
    System.out.flush();
    ch.closeFuture().awaitUninterruptibly();
  }

  /** "started S leaders L leading M quiesced Q threads T": S groups started, L with a leader. */
  private static String status(RaftNode[] nodes, int started, RaftHost host) {
    int leaders = 0;
    int leading = 0;
    for (int g = 0; g < started; g++) {
      NodeStatus s = nodes[g].status();
      if (s.leader().isPresent()) {
        leaders++;
      }
      if (s.role() == Role.LEADER) {
        leading++;
      }
    }
    return "started "
        + started
        + " leaders "
        + leaders
        + " leading "
        + leading
        + " quiesced "
        + host.quiescedGroups()
        + " threads "
        + Thread.activeCount();
  }

  /**
   * Hands every group this member leads to member {@code g mod 3} of the list, if that is another
   * one; completes when every transfer ended, with how many succeeded.
   */
  private static CompletableFuture<String> spread(
      RaftNode[] nodes, int started, List<Member> members) {
    List<CompletableFuture<Boolean>> all = new ArrayList<>();
    for (int g = 0; g < started; g++) {
      String want = members.get(g % members.size()).id();
      NodeStatus s = nodes[g].status();
      if (s.role() == Role.LEADER && !s.id().equals(want)) {
        all.add(nodes[g].transferLeadership(want).handle((v, e) -> e == null));
      }
    }
    return CompletableFuture.allOf(all.toArray(CompletableFuture[]::new))
        .thenApply(v -> all.stream().filter(CompletableFuture::join).count() + "/" + all.size());
  }

  /** One PUT to every group this member leads; completes when all are acknowledged. */
  private static CompletableFuture<String> putToLed(RaftNode[] nodes, int started) {
    List<CompletableFuture<?>> all = new ArrayList<>();
    for (int g = 0; g < started; g++) {
      if (nodes[g].status().role() == Role.LEADER) {
        all.add(
            nodes[g].submit(
                KvStateMachine.encodePut("k" + g, new byte[BenchProtocol.VALUE_BYTES])));
      }
    }
    return CompletableFuture.allOf(all.toArray(CompletableFuture[]::new))
        .thenApply(v -> String.valueOf(all.size()));
  }

  private static String leads(RaftNode[] nodes, int started) {
    StringBuilder b = new StringBuilder();
    for (int g = 0; g < started; g++) {
      if (nodes[g].status().role() == Role.LEADER) {
        if (b.length() > 0) {
          b.append(',');
        }
        b.append(g);
      }
    }
    return b.toString();
  }
}
