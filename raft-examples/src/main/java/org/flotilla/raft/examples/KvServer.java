package org.flotilla.raft.examples;

import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.timeout.IdleStateHandler;
import io.netty.util.concurrent.DefaultThreadFactory;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Function;
import org.flotilla.raft.RaftListener;
import org.flotilla.raft.RaftNode;
import org.flotilla.raft.RaftOptions;
import org.flotilla.raft.cluster.Role;
import org.flotilla.raft.spi.StorageException;
import org.flotilla.raft.storage.FileLogStore;
import org.flotilla.raft.storage.FileMetaStore;
import org.flotilla.raft.storage.FileSnapshotStore;
import org.flotilla.raft.transport.netty.NettyTransport;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A replicated key-value server: Flotilla embedded as a user would embed it (a {@link
 * KvStateMachine} plus one builder call), over the Netty transport and the file stores, with an
 * HTTP API on its own event loop group. Run it with {@code raft-examples/bin/flotilla-kv --help}.
 *
 * <p>Thread-safe: {@link #close()} may be called from any thread, once the server has started.
 */
public final class KvServer implements AutoCloseable {

  /**
   * Holds the logger, so that the first line logged, not the loading of this class, starts logback:
   * {@link #main} names the log file after the member first (logback.xml reads {@code
   * flotilla.node}).
   */
  private static final class Log {
    static final Logger LOG = LoggerFactory.getLogger(KvServer.class);
  }

  /** The example server runs one Raft group, under this id (in its MBean names and log lines). */
  static final String GROUP_ID = "kv";

  private final RaftNode node;
  private final EventLoopGroup httpGroup;
  private final Channel httpChannel;
  private final CountDownLatch closed = new CountDownLatch(1);

  private KvServer(RaftNode node, EventLoopGroup httpGroup, Channel httpChannel) {
    this.node = node;
    this.httpGroup = httpGroup;
    this.httpChannel = httpChannel;
  }

  /**
   * Runs a server until the process is stopped.
   *
   * @param args the command line; {@code --help} describes it
   */
  public static void main(String[] args) {
    ServerConfig.Invocation invocation;
    try {
      invocation = ServerConfig.invocation(args);
    } catch (IllegalArgumentException e) {
      PrintStream err = System.err;
      err.println("flotilla-kv: " + e.getMessage());
      err.println("Run with --help for the flags.");
      System.exit(ServerConfig.EXIT_USAGE);
      return;
    }
    if (invocation instanceof ServerConfig.Help) {
      System.out.print(ServerConfig.USAGE);
      return;
    }
    if (invocation instanceof ServerConfig.Completion c) {
      System.out.print(c.script());
      return;
    }
    ServerConfig config = ((ServerConfig.Run) invocation).config();
    if (System.getProperty("flotilla.node") == null) {
      // Before the first line is logged: logback.xml names the rolling file after it.
      System.setProperty("flotilla.node", config.id());
    }
    AutoCloseable server;
    try {
      if (config.shards() > 0) {
        ShardedKvServer sharded = ShardedKvServer.start(config);
        sharded.exitOnFailure(failureHandler(config));
        server = sharded;
      } else {
        KvServer single = start(config);
        single.exitOnFailure(config);
        server = single;
      }
    } catch (StorageException e) {
      // A data directory in use by another process, or damaged: the message names the directory
      // (and the holder's process id, or the file and offset); a stack trace would bury it.
      Log.LOG.error("flotilla-kv {} cannot start: {}", config.id(), e.getMessage());
      System.exit(ServerConfig.EXIT_CANNOT_START);
      return;
    } catch (IOException | RuntimeException e) {
      Log.LOG.error("flotilla-kv {} cannot start", config.id(), e);
      System.exit(ServerConfig.EXIT_CANNOT_START);
      return;
    }
    AutoCloseable running = server;
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  try {
                    running.close();
                  } catch (Exception e) {
                    Log.LOG.warn("flotilla-kv {}: close failed", config.id(), e);
                  } finally {
                    stopped.countDown();
                  }
                },
                "flotilla-kv-shutdown"));
    try {
      stopped.await();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /**
   * Makes the process exit with {@link ServerConfig#EXIT_FAILED} a grace period after the node
   * stops on a fatal error, unless the configuration keeps it running. Meanwhile the HTTP API stays
   * up: it answers 503 naming the failure, and {@code /status} shows it, so that clients move to
   * the other members and the operator sees why. Only for a process of its own: tests that run
   * servers in their JVM never call it.
   */
  private void exitOnFailure(ServerConfig c) {
    watchFailure(node, failureHandler(c));
  }

  /**
   * Returns what a process does when one of its nodes stops on a fatal error: exit with {@link
   * ServerConfig#EXIT_FAILED} after {@code --failure-exit-delay-ms} (the HTTP API answering 503
   * meanwhile), or stay up with {@code --keep-running-on-failure}. Runs once however often it is
   * called.
   *
   * @param c the settings
   * @return the handler; thread-safe
   */
  static Runnable failureHandler(ServerConfig c) {
    AtomicBoolean handled = new AtomicBoolean();
    return () -> {
      if (!handled.compareAndSet(false, true)) {
        return;
      }
      if (c.keepRunningOnFailure()) {
        Log.LOG.warn(
            "flotilla-kv {} FAILED; staying up for inspection (--keep-running-on-failure):"
                + " requests get 503 and /status shows the failure until the process is"
                + " stopped",
            c.id());
        return;
      }
      Log.LOG.warn(
          "flotilla-kv {} FAILED; answering 503 and exiting with status {} in {} ms"
              + " (--keep-running-on-failure keeps it up for inspection)",
          c.id(),
          ServerConfig.EXIT_FAILED,
          c.failureExitDelay().toMillis());
      Thread exit =
          new Thread(
              () -> {
                try {
                  Thread.sleep(c.failureExitDelay().toMillis());
                } catch (InterruptedException e) {
                  Thread.currentThread().interrupt();
                }
                System.exit(ServerConfig.EXIT_FAILED);
              },
              "flotilla-kv-exit");
      exit.setDaemon(true);
      exit.start();
    };
  }

  /**
   * Runs {@code onFailure} when the node stops on a fatal error, or now if it already has.
   *
   * @param node the node
   * @param onFailure the handler of {@link #failureHandler}
   */
  static void watchFailure(RaftNode node, Runnable onFailure) {
    node.addListener(
        new RaftListener() {
          @Override
          public void onFatalError(Throwable cause) {
            onFailure.run();
          }
        });
    // A failure before the listener was added has been reported already.
    if (node.status().role() == Role.FAILED) {
      onFailure.run();
    }
  }

  /**
   * Starts a server: opens the stores, starts the Raft node and the HTTP API.
   *
   * @param c the settings
   * @return the running server
   * @throws IOException if the data directory or a listening address cannot be used
   */
  static KvServer start(ServerConfig c) throws IOException {
    Files.createDirectories(c.dataDir());
    Path logDir = Files.createDirectories(c.dataDir().resolve("log"));
    Path metaDir = Files.createDirectories(c.dataDir().resolve("meta"));
    Path snapDir = Files.createDirectories(c.dataDir().resolve("snapshots"));

    NettyTransport.Builder transport =
        NettyTransport.builder()
            .clusterId(c.clusterId())
            .groupId(GROUP_ID)
            .bindAddress(ServerConfig.host(c.raftBind()), ServerConfig.port(c.raftBind()))
            // Membership changes through POST /members: a node that was down while a new member
            // joined and took the lead must accept that leader to learn the new configuration.
            .acceptNonMembers(true)
            .adminRequests(c.adminRequests())
            // The node's event loop runs on this one I/O thread (scheduler() below): messages
            // between members cross no thread hand-off inside a process.
            .ioThreads(1);
    if (c.tlsCert() != null) {
      transport.tls(c.tlsCert(), c.tlsKey(), c.tlsCa());
    }
    RaftOptions options = options(c);
    NettyTransport raftTransport = transport.build();
    KvStateMachine machine = new KvStateMachine(c.httpAddresses());
    // This node's meters, served at GET /metrics; one registry per server, so that servers in one
    // JVM (the tests) report separately.
    PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    RaftNode.Builder builder = RaftNode.builder();
    if (c.join()) {
      // Added by the leader later: no configuration of its own (--members only names the others'
      // HTTP addresses), and the transport accepts the leader it does not know yet.
      builder.join();
    } else {
      // Stored at the first start; a later start with another --members list is refused.
      builder.bootstrap(c.members());
    }
    RaftNode node =
        builder
            .id(c.id())
            .groupId(GROUP_ID)
            .metrics(new MicrometerRaftMetrics(registry))
            .stateMachine(machine)
            .transport(raftTransport)
            .scheduler(raftTransport.scheduler())
            .logStore(
                FileLogStore.open(
                    logDir, FileLogStore.Options.defaults().withSegmentSize(c.segmentSize())))
            .metaStore(FileMetaStore.open(metaDir))
            .snapshotStore(FileSnapshotStore.open(snapDir, 2))
            .options(options)
            .listener(
                new RaftListener() {
                  @Override
                  public void onRoleChange(Role role, long term) {
                    Log.LOG.info("{} is {} in term {}", c.id(), role, term);
                  }

                  @Override
                  public void onLeaderChange(String leaderId, long term) {
                    Log.LOG.info("{} sees leader {} in term {}", c.id(), leaderId, term);
                  }

                  // A fatal error is logged by the node, with the way out; main() handles the exit.
                })
            .build();
    node.start();

    EventLoopGroup group =
        new MultiThreadIoEventLoopGroup(
            2, new DefaultThreadFactory("flotilla-kv-http", true), NioIoHandler.newFactory());
    try {
      KvApi api =
          new KvApi(
              node,
              machine,
              new HttpForwarder(group, c.requestTimeout().plusSeconds(1), c.maxBodyBytes() + 65536),
              c.requestTimeout(),
              registry);
      Channel ch = serveHttp(group, c, api::handle);
      Log.LOG.info(
          "flotilla-kv {} serving HTTP on {}, Raft on {} (members {}{})",
          c.id(),
          c.httpAddress(),
          c.raftBind(),
          c.members(),
          c.join() ? ", joining" : "");
      return new KvServer(node, group, ch);
    } catch (RuntimeException e) {
      var unused = group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
      node.close();
      if (e.getCause() instanceof IOException io) {
        throw new UncheckedIOException("cannot listen on " + c.httpAddress(), io);
      }
      throw e;
    }
  }

  /**
   * Serves the HTTP API on {@code --http-address}: connection limit, idle timeout, request size
   * limits, then the handler.
   *
   * @param group the event loop group of the HTTP API
   * @param c the settings
   * @param api answers requests; its futures must not fail
   * @return the listening channel
   * @throws RuntimeException (with an {@link IOException} cause) if the address cannot be bound
   */
  static Channel serveHttp(
      EventLoopGroup group,
      ServerConfig c,
      Function<KvApi.Request, CompletableFuture<KvApi.Response>> api) {
    KvHttpHandler.ConnectionLimit limit = new KvHttpHandler.ConnectionLimit(c.maxConnections());
    long idleMs = c.idleTimeout().toMillis();
    int maxBody = c.maxBodyBytes();
    return new ServerBootstrap()
        .group(group)
        .channel(NioServerSocketChannel.class)
        .option(ChannelOption.SO_BACKLOG, 256)
        .childHandler(
            new ChannelInitializer<SocketChannel>() {
              @Override
              protected void initChannel(SocketChannel ch) {
                ch.pipeline()
                    .addLast(limit)
                    .addLast(new IdleStateHandler(0, 0, idleMs, TimeUnit.MILLISECONDS))
                    .addLast(
                        new HttpServerCodec(
                            KvHttpHandler.MAX_INITIAL_LINE,
                            KvHttpHandler.MAX_HEADER_BYTES,
                            KvHttpHandler.MAX_CHUNK))
                    .addLast(new KvHttpHandler.Aggregator(maxBody))
                    .addLast(new KvHttpHandler(api));
              }
            })
        .bind(
            new InetSocketAddress(
                ServerConfig.host(c.httpAddress()), ServerConfig.port(c.httpAddress())))
        .syncUninterruptibly()
        .channel();
  }

  /**
   * Returns the Raft options the settings give: a 10 ms tick (or the heartbeat, if shorter), the
   * election timeout and heartbeat, a lease drift margin of a quarter of the election timeout (at
   * most 100 ms), and the snapshot threshold.
   *
   * @param c the settings
   * @return the options
   */
  static RaftOptions options(ServerConfig c) {
    Duration tick =
        c.heartbeat().compareTo(Duration.ofMillis(10)) < 0 ? c.heartbeat() : Duration.ofMillis(10);
    Duration margin = c.electionTimeout().dividedBy(4);
    return RaftOptions.builder()
        .tickInterval(tick)
        .electionTimeout(c.electionTimeout())
        .heartbeatInterval(c.heartbeat())
        .leaseDriftMargin(
            margin.compareTo(Duration.ofMillis(100)) < 0 ? margin : Duration.ofMillis(100))
        .snapshotThresholdEntries(c.snapshotThreshold())
        .snapshotTrailingEntries(Math.min(10_000, Math.max(1, c.snapshotThreshold() / 2)))
        .build();
  }

  /**
   * Returns the embedded Raft node.
   *
   * @return the node
   */
  RaftNode node() {
    return node;
  }

  /**
   * Returns the address the HTTP API listens on.
   *
   * @return the address
   */
  InetSocketAddress httpAddress() {
    return (InetSocketAddress) httpChannel.localAddress();
  }

  /** Stops the HTTP API, then the Raft node (which makes its log durable). Idempotent. */
  @Override
  public void close() {
    if (closed.getCount() == 0) {
      return;
    }
    httpChannel.close().syncUninterruptibly();
    httpGroup.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly();
    node.close();
    closed.countDown();
  }
}
