package org.flotilla.raft.transport.netty;

import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.ssl.ClientAuth;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.util.concurrent.DefaultThreadFactory;
import io.netty.util.concurrent.GlobalEventExecutor;
import io.netty.util.concurrent.ScheduledFuture;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Function;
import java.util.regex.Pattern;
import javax.net.ssl.SSLException;
import org.flotilla.raft.cluster.Member;
import org.flotilla.raft.message.RaftMessage;
import org.flotilla.raft.spi.PeerStats;
import org.flotilla.raft.spi.Scheduler;
import org.flotilla.raft.spi.Transport;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.MDC;

/**
 * The production {@link Transport}: protobuf messages in length-prefixed frames over Netty, with an
 * optional mutual-TLS layer. docs/wire-format.md describes the bytes.
 *
 * <p>Each node listens on its bind address and opens one connection to each other member, on which
 * it sends; it receives on the connections the others open to it. A connection starts with a
 * handshake naming the cluster, the group and both members: a node of another cluster, another
 * group, or a member this node does not know is refused and logged (unless {@link
 * Builder#acceptNonMembers(boolean)} is set, for members added while this one was away). Every
 * inbound frame is decoded and validated (size, ids, fields) before it reaches the node; a bad one
 * closes the connection.
 *
 * <p>Outbound messages wait in a bounded queue per peer; when it is full the oldest replication
 * messages are dropped first (Raft resends them). {@link #send} only queues; {@link #flush} writes
 * everything queued, coalesced into one socket flush per peer. A lost connection is re-established
 * with capped exponential backoff and jitter. Epoll is used when its native library is on the class
 * path, NIO otherwise.
 *
 * <pre>{@code
 * NettyTransport transport = NettyTransport.builder()
 *     .clusterId("prod-eu")
 *     .groupId("orders")
 *     .bindAddress("10.0.0.5", 7001)
 *     .tls(Path.of("node.crt"), Path.of("node.key"), Path.of("ca.crt"))
 *     .build();
 * }</pre>
 *
 * <p>Threading: {@link #start}, {@link #updateMembers}, {@link #send} and {@link #flush} are called
 * from the node's event loop and never block ({@link #start} binds synchronously); {@link #close}
 * may be called from any thread. Inbound messages reach the inbox on the transport's I/O threads.
 */
public final class NettyTransport implements Transport {

  private static final Logger LOG = LoggerFactory.getLogger(NettyTransport.class);

  /** The default maximum frame size: 16 MiB, room for a 1 MiB snapshot chunk many times over. */
  public static final int DEFAULT_MAX_FRAME_SIZE = 16 * 1024 * 1024;

  private static final int MIN_FRAME_SIZE = 64 * 1024;
  private static final Pattern ID = Pattern.compile("[A-Za-z0-9._-]{1,64}");
  private static final int MAX_LEARNED = 64;

  private final TransportOptions options;
  // The connections' codec: this group's, or on a host's transport the host codec (group "*").
  private final WireCodec codec;
  private final AtomicLong dropped = new AtomicLong();
  // Host mode: frames that carried many groups' heartbeats, and the heartbeats in them.
  private final LongAdder coalescedFrames = new LongAdder();
  private final LongAdder coalescedHeartbeats = new LongAdder();
  // Whether this transport serves a RaftHost's groups (NettyHostTransport) rather than one node.
  private final boolean host;
  // Host mode: the groups started on this host, by id. Thread-safe.
  private final ConcurrentHashMap<String, HostGroup> hostGroups = new ConcurrentHashMap<>();
  // Host mode: how many started groups name each member, and its address; guarded by
  // membersLock. members (below) is rebuilt from it on every change.
  private final Map<String, MemberCount> memberCounts = new HashMap<>();
  private final ReentrantLock membersLock = new ReentrantLock();
  // Single mode: the one group's route.
  private final Route singleRoute =
      new Route() {
        @Override
        public WireCodec codec() {
          return codec;
        }

        @Override
        public Inbox inbox() {
          return inbox;
        }

        @Override
        public boolean hears(String memberId) {
          return mayReceiveFrom(memberId);
        }
      };

  // Written by start (node's event loop) before any I/O thread runs; read by I/O threads after.
  private volatile String localId;
  private volatile String who; // "group/localId", the prefix of log lines
  private volatile Inbox inbox;
  // Inbound counters per sender, created on first message and kept; thread-safe.
  private final ConcurrentHashMap<String, LongAdder[]> inbound = new ConcurrentHashMap<>();
  private volatile EventLoopGroup group;
  private volatile Channel serverChannel;
  private volatile boolean nativeEpoll;
  // Replaced (never mutated) by updateMembers; read by I/O threads to check peers.
  private volatile Map<String, Member> members = Map.of();
  // Addresses of members outside the configuration that connected here (acceptNonMembers), so
  // that this node can answer them; written by I/O threads, read by the event loop.
  private final ConcurrentHashMap<String, Member> learned = new ConcurrentHashMap<>();
  private final ConcurrentHashMap<String, Peer> peers = new ConcurrentHashMap<>();
  private static final long TIMER_SLACK_NANOS = TimeUnit.MICROSECONDS.toNanos(100);
  // Every open channel (listening, accepted, connected): closed together by close(). Thread-safe.
  private final ChannelGroup channels =
      new DefaultChannelGroup("flotilla-transport", GlobalEventExecutor.INSTANCE);
  private volatile boolean closed;

  private NettyTransport(TransportOptions options, boolean host) {
    this.options = options;
    this.host = host;
    this.codec =
        new WireCodec(options.clusterId(), host ? WireCodec.HOST_GROUP : options.groupId());
  }

  /**
   * Returns a new builder.
   *
   * @return the builder
   */
  public static Builder builder() {
    return new Builder();
  }

  /**
   * Returns a scheduler that runs the node's event loop on one of this transport's I/O threads, and
   * every other worker of the node on a thread of its own ({@link Scheduler#system()}). Give it to
   * the same node as this transport ({@code RaftNode.Builder.scheduler(t.scheduler())}): messages
   * from peers then reach the node where they are read, and the node's messages are written where
   * they are produced, with no thread hand-off in either direction. On the cluster benchmark this
   * cut the p50 of a lone write by 15 %, and raised writes at C = 16 by 18 % and linearizable reads
   * by 55 % (docs/performance.md). With {@link Builder#ioThreads(int)} above 1, peer connections on
   * the other I/O threads still work, with a hand-off.
   *
   * <p>The I/O thread then also runs the node's turns, which may wait for a synchronous {@code
   * fsync} of the term and vote and for the log's bound on unsynced bytes; meanwhile that thread
   * reads and writes nothing. The node must be started after this transport could be: the loop is
   * placed on an I/O thread when the node starts, which is after it started the transport.
   *
   * @return the scheduler
   */
  public Scheduler scheduler() {
    return new Scheduler() {
      @Override
      public long nanoTime() {
        return System.nanoTime();
      }

      @Override
      public Worker start(String name, Turn turn) {
        return Scheduler.system().start(name, turn);
      }

      @Override
      public Worker startEventLoop(String name, Turn turn) {
        EventLoopGroup g = group;
        if (g == null || closed) {
          throw new IllegalStateException(
              "the transport of this scheduler is not running: give the node this transport too");
        }
        return new LoopWorker(g.next(), turn);
      }
    };
  }

  /**
   * A node's event loop run as tasks of a Netty event loop: one turn per task, woken by {@link
   * #wake()} or by a timer for the turn's requested wait. {@code timer}, {@code timerAt} and {@code
   * done} are owned by the event loop; {@code queued} is shared.
   */
  private static final class LoopWorker implements Scheduler.Worker {
    private final EventLoop loop;
    private final Scheduler.Turn turn;
    private final AtomicBoolean queued = new AtomicBoolean();
    private final CountDownLatch stopped = new CountDownLatch(1);
    private ScheduledFuture<?> timer;
    private long timerAt;
    private boolean done;

    LoopWorker(EventLoop loop, Scheduler.Turn turn) {
      this.loop = loop;
      this.turn = turn;
      wake();
    }

    @Override
    public void wake() {
      if (queued.compareAndSet(false, true)) {
        try {
          loop.execute(this::runTurn);
        } catch (RejectedExecutionException e) {
          // The transport closed, and with it the event loop: the node is stopping or stopped.
          queued.set(false);
          LOG.debug("event loop wake-up after the transport closed: {}", e.toString());
        }
      }
    }

    private void runTurn() {
      queued.set(false);
      if (done) {
        return;
      }
      long wait = turn.run();
      if (wait < 0) {
        done = true;
        if (timer != null) {
          timer.cancel(false);
        }
        stopped.countDown();
      } else if (wait == 0) {
        wake();
      } else if (wait != Long.MAX_VALUE) {
        // Keep a pending timer unless this turn wants an earlier one: a timer that fires early
        // costs one idle turn, rescheduling on every turn costs a task and a cancel each.
        long at = System.nanoTime() + wait;
        if (timer == null || timer.isDone() || at - timerAt < -TIMER_SLACK_NANOS) {
          if (timer != null) {
            timer.cancel(false);
          }
          timerAt = at;
          timer = loop.schedule(this::wake, wait, TimeUnit.NANOSECONDS);
        }
      }
    }

    @Override
    public boolean awaitStop(long timeoutMillis) {
      if (loop.inEventLoop()) {
        return false;
      }
      try {
        return stopped.await(timeoutMillis, TimeUnit.MILLISECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return false;
      }
    }

    @Override
    public boolean inWorker() {
      return loop.inEventLoop();
    }
  }

  @Override
  public void start(String localId, Inbox inbox) throws IOException {
    Objects.requireNonNull(inbox, "inbox");
    if (localId == null || !ID.matcher(localId).matches()) {
      throw new IllegalArgumentException("invalid local member id '" + localId + "'");
    }
    if (host) {
      throw new IllegalStateException("a host's transport starts with NettyHostTransport.start");
    }
    if (group != null || closed) {
      throw new IllegalStateException("transport already started or closed");
    }
    this.inbox = inbox;
    bind(localId, options.groupId() + "/" + localId);
  }

  /** Starts the host's transport: see {@link NettyHostTransport#start(String)}. */
  void startHost(String hostId) throws IOException {
    if (hostId == null || !ID.matcher(hostId).matches()) {
      throw new IllegalArgumentException("invalid host id '" + hostId + "'");
    }
    if (group != null || closed) {
      throw new IllegalStateException("transport already started or closed");
    }
    bind(hostId, "host/" + hostId);
  }

  /**
   * Binds the listening socket and starts the I/O threads, for member (or host) {@code localId}.
   */
  private void bind(String localId, String who) throws IOException {
    this.localId = localId;
    this.who = who;
    Function<String, Route> routes =
        host ? hostGroups::get : g -> options.groupId().equals(g) ? singleRoute : null;
    nativeEpoll = options.preferNative() && Epoll.isAvailable();
    IoHandlerFactory io = nativeEpoll ? EpollIoHandler.newFactory() : NioIoHandler.newFactory();
    EventLoopGroup g =
        new MultiThreadIoEventLoopGroup(
            options.ioThreads(),
            withLogContext(new DefaultThreadFactory("flotilla-net-" + localId, true)),
            io);
    ServerBootstrap sb =
        serverBootstrap(
            g,
            new ChannelInitializer<Channel>() {
              @Override
              protected void initChannel(Channel ch) {
                if (options.tls()) {
                  ch.pipeline().addLast("tls", options.serverSsl().newHandler(ch.alloc()));
                }
                channels.add(ch);
                InboundHandler.initPipeline(
                    ch.pipeline(),
                    options.maxFrameSize(),
                    options.keepalive(),
                    codec,
                    localId,
                    NettyTransport.this::mayReceiveFrom,
                    NettyTransport.this::isPeer,
                    NettyTransport.this::learnAddress,
                    routes,
                    host,
                    NettyTransport.this::countDropped,
                    options.handshakeTimeout(),
                    who,
                    NettyTransport.this::countReceived,
                    options.adminRequests());
              }
            });
    ChannelFuture bind = sb.bind(options.bindHost(), options.bindPort()).awaitUninterruptibly();
    if (!bind.isSuccess()) {
      g.shutdownGracefully(0, 1, TimeUnit.SECONDS).awaitUninterruptibly(5, TimeUnit.SECONDS);
      throw new IOException(
          "cannot listen on " + options.bindHost() + ":" + options.bindPort(), bind.cause());
    }
    serverChannel = bind.channel();
    channels.add(serverChannel);
    group = g;
    LOG.info(
        "{}: listening on {} (cluster '{}', {}, {}, max frame {} bytes)",
        who,
        serverChannel.localAddress(),
        options.clusterId(),
        host ? "every group of this host" : "group '" + options.groupId() + "'",
        nativeEpoll ? "epoll" : "nio",
        options.maxFrameSize());
    if (!options.tls()) {
      LOG.warn(
          "{}: TLS is OFF: Raft traffic on {} is neither encrypted nor authenticated;"
              + " use it only on a trusted network",
          who,
          serverChannel.localAddress());
    } else {
      LOG.info("{}: TLS is on, peers must present a certificate the trust store accepts", who);
    }
    updatePeers(members);
  }

  /**
   * Returns the address the transport listens on; with port 0 at build time, the port the system
   * chose.
   *
   * @return the bound address
   * @throws IllegalStateException if the transport is not started
   */
  public InetSocketAddress localAddress() {
    Channel ch = serverChannel;
    if (ch == null) {
      throw new IllegalStateException("transport not started");
    }
    return (InetSocketAddress) ch.localAddress();
  }

  /**
   * Listens for the embedding service's own protocol on this transport's I/O threads, so that a
   * request read there reaches a node whose event loop runs on the same threads ({@link
   * #scheduler()}) without a thread hand-off. The service's connections get {@code TCP_NODELAY} and
   * the pipeline {@code childInitializer} builds; nothing of the transport's (no TLS, no handshake,
   * no framing) is added to them. The listener and its connections are closed by the caller or, at
   * the latest, by {@link #close()}. Handlers run on an I/O thread that the node's turns also use:
   * they must not block.
   *
   * @param host the address to bind, a host name or literal
   * @param port the port, 0 for one the system chooses
   * @param childInitializer sets up each accepted connection's pipeline
   * @return the bound listening channel
   * @throws IOException if the address cannot be bound
   * @throws IllegalStateException if the transport is not started or is closed
   */
  public Channel bindService(String host, int port, ChannelInitializer<Channel> childInitializer)
      throws IOException {
    Objects.requireNonNull(childInitializer, "childInitializer");
    EventLoopGroup g = group;
    if (g == null || closed) {
      throw new IllegalStateException("transport not started or closed");
    }
    ChannelFuture bind =
        serverBootstrap(
                g,
                new ChannelInitializer<Channel>() {
                  @Override
                  protected void initChannel(Channel ch) {
                    channels.add(ch);
                    ch.pipeline().addLast(childInitializer);
                  }
                })
            .bind(host, port)
            .awaitUninterruptibly();
    if (!bind.isSuccess()) {
      throw new IOException("cannot listen on " + host + ":" + port, bind.cause());
    }
    channels.add(bind.channel());
    LOG.info(
        "{}: service listening on {} on the transport's I/O threads",
        who,
        bind.channel().localAddress());
    return bind.channel();
  }

  /**
   * A listener on {@code g} whose accepted connections get {@code TCP_NODELAY} and {@code child}.
   */
  private ServerBootstrap serverBootstrap(EventLoopGroup g, ChannelInitializer<Channel> child) {
    return new ServerBootstrap()
        .group(g)
        .channel(nativeEpoll ? EpollServerSocketChannel.class : NioServerSocketChannel.class)
        .option(ChannelOption.SO_REUSEADDR, true)
        .childOption(ChannelOption.TCP_NODELAY, true)
        .childHandler(child);
  }

  /**
   * Returns how many outbound messages were dropped so far: queue overflow, unknown or unreachable
   * receivers, frames above the maximum size, sends after close.
   *
   * @return the count
   */
  public long droppedMessages() {
    return dropped.get();
  }

  /**
   * Tells whether the native epoll transport is in use (rather than NIO).
   *
   * @return true for epoll
   */
  public boolean usesEpoll() {
    return nativeEpoll;
  }

  @Override
  public void updateMembers(Collection<Member> newMembers) {
    if (host) {
      throw new IllegalStateException("a host's transport is used through its groups' transports");
    }
    Map<String, Member> m = new HashMap<>();
    for (Member member : newMembers) {
      m.put(member.id(), member);
    }
    members = Map.copyOf(m);
    learned.keySet().removeAll(m.keySet());
    if (group != null) {
      updatePeers(members);
    }
  }

  private void updatePeers(Map<String, Member> configured) {
    if (closed) {
      return;
    }
    Map<String, Member> current = configured;
    if (!learned.isEmpty()) {
      current = new HashMap<>(learned);
      current.putAll(configured);
    }
    for (Map.Entry<String, Peer> e : peers.entrySet()) {
      Member m = current.get(e.getKey());
      if (m == null || !sameAddress(e.getValue(), m)) {
        peers.remove(e.getKey()).close();
      }
    }
    for (Member m : current.values()) {
      if (m.id().equals(localId) || peers.containsKey(m.id())) {
        continue;
      }
      InetSocketAddress address;
      try {
        address = parseAddress(m.address());
      } catch (IllegalArgumentException e) {
        LOG.error("{}: cannot reach member {}: {}", who, m.id(), e.getMessage());
        continue;
      }
      Peer peer = new Peer(m.id(), address, this, group.next());
      peers.put(m.id(), peer);
      peer.start();
    }
  }

  private static boolean sameAddress(Peer peer, Member m) {
    try {
      return parseAddress(m.address()).equals(peer.address);
    } catch (IllegalArgumentException e) {
      return false;
    }
  }

  /** Parses "host:port" or "[v6]:port" into an unresolved address (resolved when connecting). */
  static InetSocketAddress parseAddress(String address) {
    int colon = address.lastIndexOf(':');
    if (colon <= 0 || colon == address.length() - 1) {
      throw new IllegalArgumentException("address '" + address + "' is not host:port");
    }
    String host = address.substring(0, colon);
    if (host.startsWith("[") && host.endsWith("]")) {
      host = host.substring(1, host.length() - 1);
    }
    int port;
    try {
      port = Integer.parseInt(address.substring(colon + 1));
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("address '" + address + "' has no numeric port", e);
    }
    if (port < 1 || port > 65535 || host.isEmpty()) {
      throw new IllegalArgumentException("address '" + address + "' is not host:port");
    }
    return InetSocketAddress.createUnresolved(host, port);
  }

  @Override
  public void send(RaftMessage message) {
    if (message == null) {
      return;
    }
    Peer peer = closed ? null : peers.get(message.to());
    if (peer == null && !closed && group != null && learned.containsKey(message.to())) {
      updatePeers(members);
      peer = peers.get(message.to());
    }
    if (peer == null) {
      dropped.incrementAndGet();
      LOG.debug("{}: dropped a message to unknown or unreachable member {}", who, message.to());
      return;
    }
    peer.send(codec, message);
  }

  /**
   * Returns the maximum frame size ({@link Builder#maxFrameSize(int)}): no larger message can be
   * sent or received.
   *
   * @return bytes, the length prefix included
   */
  @Override
  public int maxMessageBytes() {
    return options.maxFrameSize();
  }

  @Override
  public void flush() {
    if (closed) {
      return;
    }
    for (Peer peer : peers.values()) {
      peer.flush();
    }
  }

  @Override
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    for (Peer peer : peers.values()) {
      peer.close();
    }
    peers.clear();
    if (!channels.close().awaitUninterruptibly(5, TimeUnit.SECONDS)) {
      LOG.warn("{}: connections did not close within 5 s", who);
    }
    EventLoopGroup g = group;
    if (g != null) {
      if (!g.shutdownGracefully(0, 2, TimeUnit.SECONDS)
          .awaitUninterruptibly(10, TimeUnit.SECONDS)) {
        LOG.warn("{}: I/O threads did not stop within 10 s", who);
      }
    }
    LOG.info("{}: transport closed ({} messages dropped in its life)", who, dropped.get());
  }

  /**
   * Returns per-peer counters: messages and bytes (whole frames) sent to and received from each
   * member, messages dropped towards it, and the state of the connection this node opened to it.
   * Callable from any thread; allocates a fresh list.
   */
  @Override
  public List<PeerStats> peerStats() {
    List<PeerStats> out = new ArrayList<>();
    for (Peer p : peers.values()) {
      LongAdder[] in = inbound.get(p.id);
      out.add(p.stats(in == null ? 0 : in[0].sum(), in == null ? 0 : in[1].sum()));
    }
    out.sort((a, b) -> a.peer().compareTo(b.peer()));
    return List.copyOf(out);
  }

  /** Counts one message received from {@code peer}; on an I/O thread. */
  void countReceived(String peer, int bytes) {
    LongAdder[] c = inbound.get(peer);
    if (c == null) {
      LongAdder[] fresh = {new LongAdder(), new LongAdder()};
      c = inbound.putIfAbsent(peer, fresh);
      if (c == null) {
        c = fresh;
      }
    }
    c[0].increment();
    c[1].add(bytes);
  }

  /**
   * Wraps a thread factory so that its threads log with the slf4j MDC of the caller of {@link
   * #start} (the node's group and id).
   */
  private static ThreadFactory withLogContext(ThreadFactory factory) {
    Map<String, String> context = MDC.getCopyOfContextMap();
    if (context == null) {
      return factory;
    }
    return r ->
        factory.newThread(
            () -> {
              MDC.setContextMap(context);
              r.run();
            });
  }

  // ---------------------------------------------------------------- host mode

  /** Returns a new, unstarted transport of one group of this host: see {@link HostGroup}. */
  Transport hostGroup(String groupId) {
    Builder.checkId("groupId", groupId);
    return new HostGroup(groupId);
  }

  /** Returns the ids of the groups started on this host's transport. */
  List<String> hostGroupIds() {
    List<String> ids = new ArrayList<>(hostGroups.keySet());
    ids.sort(null);
    return ids;
  }

  /** A member named by the started groups of a host, and by how many of them. */
  private static final class MemberCount {
    final Member member;
    int count;

    MemberCount(Member member) {
      this.member = member;
    }
  }

  /**
   * Replaces what one group contributes to the members this host connects to, and updates the
   * connections. Any group's event loop; serialized by {@code membersLock}.
   */
  private void recount(HostGroup g, List<Member> next) {
    membersLock.lock();
    try {
      for (Member m : g.counted) {
        MemberCount c = memberCounts.get(m.id());
        if (c != null && --c.count == 0) {
          memberCounts.remove(m.id());
        }
      }
      for (Member m : next) {
        MemberCount c = memberCounts.computeIfAbsent(m.id(), id -> new MemberCount(m));
        c.count++;
        if (!c.member.address().equals(m.address())) {
          LOG.error(
              "{}: group {} names member {} at {}, other groups at {}: a member id names one host,"
                  + " with one address; using {}",
              who(),
              g.groupId,
              m.id(),
              m.address(),
              c.member.address(),
              c.member.address());
        }
      }
      g.counted = next;
      Map<String, Member> all = new HashMap<>();
      memberCounts.forEach((id, c) -> all.put(id, c.member));
      members = Map.copyOf(all);
      if (group != null) {
        updatePeers(members);
      }
    } finally {
      membersLock.unlock();
    }
  }

  /**
   * One group's transport on a host: started by the group's node with the host's id, it receives
   * the envelopes of its group from every connection of the host, and sends on the host's one
   * connection to each member. Its members add to the host's; when it closes, the host forgets them
   * (and closes a connection no group needs any more).
   *
   * <p>Threading: as {@link Transport} says; several groups' transports are used at once.
   */
  private final class HostGroup implements Transport, Route {
    private final String groupId;
    private final WireCodec groupCodec;
    // Written by start before the group is routed to; read by I/O threads.
    private volatile Inbox groupInbox;
    // Replaced (never mutated) by updateMembers; read by I/O threads.
    private volatile java.util.Set<String> groupMembers = java.util.Set.of();
    // Guarded by membersLock: what this group added to memberCounts.
    private List<Member> counted = List.of();
    private volatile boolean groupClosed;

    HostGroup(String groupId) {
      this.groupId = groupId;
      this.groupCodec = new WireCodec(options.clusterId(), groupId);
    }

    @Override
    public void start(String memberId, Inbox inbox) {
      Objects.requireNonNull(inbox, "inbox");
      if (group == null || closed) {
        throw new IllegalStateException("the host's transport is not running");
      }
      if (!localId.equals(memberId)) {
        throw new IllegalArgumentException(
            "group " + groupId + " starts as '" + memberId + "' on host '" + localId + "'");
      }
      if (groupInbox != null || groupClosed) {
        throw new IllegalStateException("group " + groupId + "'s transport was already started");
      }
      groupInbox = inbox;
      if (hostGroups.putIfAbsent(groupId, this) != null) {
        groupClosed = true;
        throw new IllegalStateException("group " + groupId + " already runs on this host");
      }
    }

    @Override
    public void updateMembers(Collection<Member> newMembers) {
      if (groupClosed) {
        return;
      }
      java.util.Set<String> ids = new java.util.HashSet<>();
      for (Member m : newMembers) {
        ids.add(m.id());
      }
      groupMembers = java.util.Set.copyOf(ids);
      recount(this, List.copyOf(newMembers));
    }

    @Override
    public void send(RaftMessage message) {
      Peer peer = groupClosed || closed ? null : peers.get(message.to());
      if (peer == null) {
        dropped.incrementAndGet();
        LOG.debug(
            "{}: dropped a message of group {} to unknown or unreachable member {}",
            who(),
            groupId,
            message.to());
        return;
      }
      peer.send(groupCodec, message);
    }

    @Override
    public void flush() {
      NettyTransport.this.flush();
    }

    @Override
    public int maxMessageBytes() {
      return options.maxFrameSize();
    }

    /** The host's connections to this group's members: counters are per host, for all groups. */
    @Override
    public List<PeerStats> peerStats() {
      java.util.Set<String> ids = groupMembers;
      return NettyTransport.this.peerStats().stream().filter(p -> ids.contains(p.peer())).toList();
    }

    @Override
    public void close() {
      if (groupClosed) {
        return;
      }
      groupClosed = true;
      hostGroups.remove(groupId, this);
      if (!closed) {
        recount(this, List.of());
      }
    }

    @Override
    public WireCodec codec() {
      return groupCodec;
    }

    @Override
    public Inbox inbox() {
      return groupInbox;
    }

    @Override
    public boolean hears(String memberId) {
      return groupMembers.contains(memberId) || options.acceptNonMembers();
    }

    @Override
    public String toString() {
      return "NettyTransport[" + groupId + "/" + localId + " on host]";
    }
  }

  // ---------------------------------------------------------------- for Peer and the handlers

  String who() {
    String w = who;
    return w == null ? String.valueOf(localId) : w;
  }

  TransportOptions options() {
    return options;
  }

  WireCodec codec() {
    return codec;
  }

  /** Counts one frame that carried {@code heartbeats} heartbeats (or responses) of many groups. */
  void countCoalesced(int heartbeats) {
    coalescedFrames.increment();
    coalescedHeartbeats.add(heartbeats);
  }

  /** Frames that carried the heartbeats of many groups, and how many heartbeats they carried. */
  long[] coalesced() {
    return new long[] {coalescedFrames.sum(), coalescedHeartbeats.sum()};
  }

  /** Whether this is a host's transport, whose connections carry many groups. */
  boolean isHost() {
    return host;
  }

  String localId() {
    return localId;
  }

  void countDropped(int n) {
    dropped.addAndGet(n);
  }

  /** Reports a message of {@code codec}'s group that can never be sent (too large). Any thread. */
  void unsendable(WireCodec codec, RaftMessage message, String reason) {
    Route r = host ? hostGroups.get(codec.groupId()) : singleRoute;
    Inbox in = r == null ? null : r.inbox();
    if (in != null && !closed) {
      in.unsendable(message, reason);
    }
  }

  boolean isPeer(String id) {
    return !id.equals(localId) && members.containsKey(id);
  }

  /** This node's address as its configuration names it, or empty if it is not in it. */
  String ownAddress() {
    Member self = members.get(localId);
    return self == null ? "" : self.address();
  }

  /**
   * Remembers where a member outside the configuration that connected here listens, so that this
   * node can answer it. Called by I/O threads; the peer is created at the first send to it.
   */
  void learnAddress(String id, String address) {
    if (address.isEmpty() || members.containsKey(id)) {
      return;
    }
    try {
      parseAddress(address);
    } catch (IllegalArgumentException e) {
      LOG.warn("{}: {} announced an unusable address: {}", localId, id, e.getMessage());
      return;
    }
    if (learned.size() >= MAX_LEARNED && !learned.containsKey(id)) {
      LOG.warn(
          "{}: not remembering the address of {}: already {} members outside the configuration",
          localId,
          id,
          MAX_LEARNED);
      return;
    }
    Member previous = learned.put(id, Member.of(id, address));
    if (previous == null || !previous.address().equals(address)) {
      LOG.info("{}: will answer {} (not in the configuration) at {}", localId, id, address);
    }
  }

  /** Whether a connection from this id may deliver messages (its handshake is checked apart). */
  boolean mayReceiveFrom(String id) {
    return !id.equals(localId) && (options.acceptNonMembers() || members.containsKey(id));
  }

  Bootstrap clientBootstrap() {
    return new Bootstrap()
        .channel(nativeEpoll ? EpollSocketChannel.class : NioSocketChannel.class)
        .option(ChannelOption.TCP_NODELAY, true)
        .option(ChannelOption.SO_KEEPALIVE, true)
        .option(
            ChannelOption.CONNECT_TIMEOUT_MILLIS,
            (int) Math.min(Integer.MAX_VALUE, options.handshakeTimeout().toMillis()))
        .option(
            ChannelOption.WRITE_BUFFER_WATER_MARK,
            new WriteBufferWaterMark(512 * 1024, 2 * 1024 * 1024));
  }

  void initClientPipeline(Channel ch, Peer peer) {
    channels.add(ch);
    if (options.tls()) {
      ch.pipeline()
          .addLast(
              "tls",
              options
                  .clientSsl()
                  .newHandler(ch.alloc(), peer.address.getHostString(), peer.address.getPort()));
    }
    ch.pipeline().addLast("idle", InboundHandler.idleHandler(options.keepalive()));
    // The acceptor only ever sends a HelloAck and keepalives: a small frame limit suffices.
    ch.pipeline().addLast("frames", InboundHandler.frameDecoder(MIN_FRAME_SIZE));
    ch.pipeline().addLast("outbound", new OutboundHandler(peer, this));
  }

  @Override
  public String toString() {
    SocketAddress bound = serverChannel == null ? null : serverChannel.localAddress();
    return "NettyTransport[" + localId + " " + bound + "]";
  }

  /**
   * Builds a {@link NettyTransport}; {@link #build()} checks every option.
   *
   * <p>Not thread-safe; use from one thread.
   */
  public static final class Builder {

    private String clusterId;
    private String groupId = "default";
    private String bindHost;
    private int bindPort = -1;
    private int maxFrameSize = DEFAULT_MAX_FRAME_SIZE;
    private int maxQueuedMessages = 4096;
    private long maxQueuedBytes = 64L * 1024 * 1024;
    private Duration reconnectMin = Duration.ofMillis(50);
    private Duration reconnectMax = Duration.ofSeconds(2);
    private Duration handshakeTimeout = Duration.ofSeconds(5);
    private Duration keepalive = Duration.ofSeconds(1);
    private int ioThreads = 2;
    private boolean preferNative = true;
    private boolean acceptNonMembers;
    private boolean adminRequests;
    private Path tlsCertificateChain;
    private Path tlsPrivateKey;
    private Path tlsTrustedCertificates;
    private boolean tlsVerifyHostname = true;
    private SslContext serverSsl;
    private SslContext clientSsl;

    private Builder() {}

    /**
     * Sets the cluster id, which every handshake and frame carries; required.
     *
     * @param clusterId 1 to 64 characters of letters, digits, '.', '_' or '-'
     * @return this builder
     */
    public Builder clusterId(String clusterId) {
      this.clusterId = clusterId;
      return this;
    }

    /**
     * Sets the Raft group id, which every handshake and frame carries; default {@code "default"}.
     *
     * @param groupId 1 to 64 characters of letters, digits, '.', '_' or '-'
     * @return this builder
     */
    public Builder groupId(String groupId) {
      this.groupId = groupId;
      return this;
    }

    /**
     * Sets the address to listen on; required.
     *
     * @param host a host name or IP address, for example {@code 0.0.0.0} or {@code 127.0.0.1}
     * @param port the port, 0 for one the system chooses (see {@link #localAddress()})
     * @return this builder
     */
    public Builder bindAddress(String host, int port) {
      this.bindHost = host;
      this.bindPort = port;
      return this;
    }

    /**
     * Sets the largest frame, length prefix included, that is sent or accepted; default {@value
     * NettyTransport#DEFAULT_MAX_FRAME_SIZE} bytes. It is the transport's {@link
     * NettyTransport#maxMessageBytes()}: a node whose {@code RaftOptions.maxMessageBytes()} is
     * larger refuses to build. A larger outbound message is dropped, logged and reported to the
     * node as unsendable (which stops it: re-sending would never succeed); a larger inbound frame
     * closes the connection. All members must agree on it.
     *
     * @param bytes at least 64 KiB, at most 1 GiB
     * @return this builder
     */
    public Builder maxFrameSize(int bytes) {
      this.maxFrameSize = bytes;
      return this;
    }

    /**
     * Bounds each peer's outbound queue; default 4096 messages and 64 MiB.
     *
     * @param messages the most messages waiting for one peer, at least 16
     * @param bytes the most estimated bytes waiting for one peer, at least the maximum frame size
     * @return this builder
     */
    public Builder maxQueued(int messages, long bytes) {
      this.maxQueuedMessages = messages;
      this.maxQueuedBytes = bytes;
      return this;
    }

    /**
     * Sets the reconnection backoff: the first retry waits about {@code min}, each further one
     * twice as long up to {@code max}, each with random jitter of up to half; defaults 50 ms and 2
     * s.
     *
     * @param min the first delay, positive
     * @param max the cap, at least {@code min}
     * @return this builder
     */
    public Builder reconnectBackoff(Duration min, Duration max) {
      this.reconnectMin = min;
      this.reconnectMax = max;
      return this;
    }

    /**
     * Sets how long a connection may take to connect and complete its handshake; default 5 s.
     *
     * @param timeout positive
     * @return this builder
     */
    public Builder handshakeTimeout(Duration timeout) {
      this.handshakeTimeout = timeout;
      return this;
    }

    /**
     * Sets the keepalive interval: a connection with nothing to write for this long sends an empty
     * frame, and one that hears nothing for three intervals is closed (and, outbound,
     * re-established), so a vanished peer is noticed; default 1 s.
     *
     * @param interval at least 10 ms
     * @return this builder
     */
    public Builder keepalive(Duration interval) {
      this.keepalive = interval;
      return this;
    }

    /**
     * Sets whether a member of this cluster and group that is not in this node's configuration may
     * connect and send; default false (it is refused and logged, like a stranger).
     *
     * <p>Raft servers are meant to process messages from members of configurations they have not
     * seen yet (Raft thesis §4.1): a node that was down while a new member joined and then became
     * leader learns the new configuration only from that leader. With the default, such a node
     * refuses the new leader and cannot catch up until it is removed and added again. Set this on
     * clusters whose membership changes, preferably with TLS, so that only holders of a cluster
     * certificate can connect. The cluster id and group id are checked either way.
     *
     * @param accept whether to accept members not in the configuration
     * @return this builder
     */
    public Builder acceptNonMembers(boolean accept) {
      this.acceptNonMembers = accept;
      return this;
    }

    /**
     * Sets whether operators' tools ({@code flotilla}, or {@link NettyAdminClient}) may send this
     * member administrative requests on its Raft port: status, membership changes, leadership
     * transfer and snapshots, each with the semantics of the {@link org.flotilla.raft.RaftNode}
     * call it makes. Default false: a tool's connection is refused with a message that says so.
     *
     * <p>A tool must belong to the cluster and group (their ids are checked) and, with TLS on,
     * present a certificate the trust store accepts, like a member: enable this with TLS anywhere
     * but a trusted network, since whoever may connect may change the membership.
     *
     * @param enabled whether to serve administrative requests
     * @return this builder
     */
    public Builder adminRequests(boolean enabled) {
      this.adminRequests = enabled;
      return this;
    }

    /**
     * Sets the number of I/O threads; default 2.
     *
     * @param threads 1 to 64
     * @return this builder
     */
    public Builder ioThreads(int threads) {
      this.ioThreads = threads;
      return this;
    }

    /**
     * Chooses whether to use the native epoll transport when its library is present; default true.
     * NIO is the fallback either way.
     *
     * @param preferNative false to always use NIO
     * @return this builder
     */
    public Builder preferNativeTransport(boolean preferNative) {
      this.preferNative = preferNative;
      return this;
    }

    /**
     * Turns on mutual TLS from PEM files: this node presents {@code certificateChain} with {@code
     * privateKey} both when it accepts and when it connects, and accepts only peers whose
     * certificate chains to {@code trustedCertificates} (the cluster's CA). By default the peer's
     * certificate must also name the host of the member's address (see {@link
     * #tlsVerifyHostname(boolean)}).
     *
     * @param certificateChain PEM file of this node's certificate, then its intermediates
     * @param privateKey PEM file of this node's private key, PKCS#8 ("BEGIN PRIVATE KEY")
     * @param trustedCertificates PEM file of the CA certificates that sign members' certificates
     * @return this builder
     */
    public Builder tls(Path certificateChain, Path privateKey, Path trustedCertificates) {
      this.tlsCertificateChain = certificateChain;
      this.tlsPrivateKey = privateKey;
      this.tlsTrustedCertificates = trustedCertificates;
      return this;
    }

    /**
     * Turns on TLS with contexts built by the caller, who is then responsible for requiring client
     * certificates on {@code server} (mutual authentication) and for the client's trust and key
     * material.
     *
     * @param server the context for accepted connections, {@link SslContext#isServer()} true
     * @param client the context for connections this node opens, {@link SslContext#isClient()} true
     * @return this builder
     */
    public Builder tls(SslContext server, SslContext client) {
      this.serverSsl = server;
      this.clientSsl = client;
      return this;
    }

    /**
     * Chooses whether, with PEM-file TLS, a peer's certificate must name the host of its member
     * address (as a subject alternative name); default true.
     *
     * @param verify false to trust any certificate the CA signed, whatever host it names
     * @return this builder
     */
    public Builder tlsVerifyHostname(boolean verify) {
      this.tlsVerifyHostname = verify;
      return this;
    }

    /**
     * Checks the options and builds the transport. Nothing is bound until {@link
     * NettyTransport#start}.
     *
     * @return the transport
     * @throws IllegalArgumentException if an option is missing or out of range, or the TLS material
     *     cannot be loaded, with a message naming it
     */
    public NettyTransport build() {
      return new NettyTransport(options(), false);
    }

    /**
     * Validates the settings and builds the transport of a {@link org.flotilla.raft.RaftHost} (not
     * started): one listening socket and one connection per remote host for every group the host
     * runs. The group id set here is not used: each envelope names its group.
     *
     * @return the host's transport
     * @throws IllegalArgumentException naming the first missing or invalid setting
     */
    public NettyHostTransport buildHost() {
      return new NettyHostTransport(new NettyTransport(options(), true));
    }

    private TransportOptions options() {
      checkId("clusterId", clusterId);
      checkId("groupId", groupId);
      if (bindHost == null || bindHost.isBlank()) {
        throw new IllegalArgumentException("bindAddress(host, port) is required");
      }
      if (bindPort < 0 || bindPort > 65535) {
        throw new IllegalArgumentException("bind port must be in [0, 65535]: " + bindPort);
      }
      if (maxFrameSize < MIN_FRAME_SIZE || maxFrameSize > (1 << 30)) {
        throw new IllegalArgumentException(
            "maxFrameSize must be in [64 KiB, 1 GiB]: " + maxFrameSize);
      }
      if (maxQueuedMessages < 16) {
        throw new IllegalArgumentException(
            "maxQueued messages must be at least 16: " + maxQueuedMessages);
      }
      if (maxQueuedBytes < maxFrameSize) {
        throw new IllegalArgumentException(
            "maxQueued bytes ("
                + maxQueuedBytes
                + ") must be at least maxFrameSize ("
                + maxFrameSize
                + ")");
      }
      checkPositive("reconnectBackoff min", reconnectMin);
      checkPositive("reconnectBackoff max", reconnectMax);
      if (reconnectMax.compareTo(reconnectMin) < 0) {
        throw new IllegalArgumentException(
            "reconnectBackoff max " + reconnectMax + " is below min " + reconnectMin);
      }
      checkPositive("handshakeTimeout", handshakeTimeout);
      if (keepalive == null || keepalive.toMillis() < 10) {
        throw new IllegalArgumentException("keepalive must be at least 10 ms: " + keepalive);
      }
      if (ioThreads < 1 || ioThreads > 64) {
        throw new IllegalArgumentException("ioThreads must be in [1, 64]: " + ioThreads);
      }
      SslContext server = serverSsl;
      SslContext client = clientSsl;
      boolean pem =
          tlsCertificateChain != null || tlsPrivateKey != null || tlsTrustedCertificates != null;
      if (pem && (server != null || client != null)) {
        throw new IllegalArgumentException("tls: give either PEM files or SslContexts, not both");
      }
      if (pem) {
        client =
            clientContext(
                tlsCertificateChain, tlsPrivateKey, tlsTrustedCertificates, tlsVerifyHostname);
        try {
          server =
              SslContextBuilder.forServer(tlsCertificateChain.toFile(), tlsPrivateKey.toFile())
                  .trustManager(tlsTrustedCertificates.toFile())
                  .clientAuth(ClientAuth.REQUIRE)
                  .build();
        } catch (SSLException | RuntimeException e) {
          throw cannotLoad(e);
        }
      } else if (server != null || client != null) {
        if (server == null || !server.isServer()) {
          throw new IllegalArgumentException("tls: the server SslContext must be a server context");
        }
        if (client == null || !client.isClient()) {
          throw new IllegalArgumentException("tls: the client SslContext must be a client context");
        }
      }
      return new TransportOptions(
          clusterId,
          groupId,
          bindHost,
          bindPort,
          maxFrameSize,
          maxQueuedMessages,
          maxQueuedBytes,
          reconnectMin,
          reconnectMax,
          handshakeTimeout,
          keepalive,
          ioThreads,
          preferNative,
          acceptNonMembers,
          adminRequests,
          server,
          client);
    }

    static void checkId(String name, String value) {
      if (value == null || !ID.matcher(value).matches()) {
        throw new IllegalArgumentException(
            name + " must be 1-64 characters of [A-Za-z0-9._-]: '" + value + "'");
      }
    }

    private static void checkPositive(String name, Duration d) {
      if (d == null || d.isNegative() || d.isZero()) {
        throw new IllegalArgumentException(name + " must be positive: " + d);
      }
    }

    /**
     * The TLS context of a connecting side from PEM files: this side's certificate chain and key,
     * and the CA certificates it trusts; shared with {@link NettyAdminClient}.
     *
     * @throws IllegalArgumentException if a file is missing, unreadable or cannot be loaded
     */
    static SslContext clientContext(
        Path certificateChain, Path privateKey, Path trustedCertificates, boolean verifyHostname) {
      checkReadable("tls certificateChain", certificateChain);
      checkReadable("tls privateKey", privateKey);
      checkReadable("tls trustedCertificates", trustedCertificates);
      try {
        return SslContextBuilder.forClient()
            .keyManager(certificateChain.toFile(), privateKey.toFile())
            .trustManager(trustedCertificates.toFile())
            .endpointIdentificationAlgorithm(verifyHostname ? "HTTPS" : null)
            .build();
      } catch (SSLException | RuntimeException e) {
        throw cannotLoad(e);
      }
    }

    private static IllegalArgumentException cannotLoad(Exception e) {
      return new IllegalArgumentException(
          "tls: cannot load the PEM files (the key must be PKCS#8): " + e.getMessage(), e);
    }

    private static void checkReadable(String name, Path p) {
      if (p == null) {
        throw new IllegalArgumentException(name + " is missing");
      }
      if (!Files.isReadable(p)) {
        throw new IllegalArgumentException(name + " is not a readable file: " + p);
      }
    }
  }
}
