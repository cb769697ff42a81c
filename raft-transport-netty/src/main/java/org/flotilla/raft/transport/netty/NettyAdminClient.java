package org.flotilla.raft.transport.netty;

import com.google.protobuf.InvalidProtocolBufferException;
import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.ssl.SslContext;
import io.netty.util.concurrent.DefaultThreadFactory;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.flotilla.raft.NodeStatus;
import org.flotilla.raft.cluster.Member;
import org.flotilla.raft.transport.netty.proto.Wire;

/**
 * Sends administrative requests to members whose {@link NettyTransport} enables them ({@link
 * NettyTransport.Builder#adminRequests(boolean)}), on their Raft port: the status, membership
 * changes, leadership transfer and snapshots. The {@code flotilla} tool is built on it; an
 * embedder's own tooling can use it too.
 *
 * <p>Each call opens one connection to the member, says it is a tool of the cluster and group (its
 * Hello sets {@code admin}; with TLS it presents this client's certificate), sends one request,
 * waits for the answer and closes the connection. A member that fails the request answers with why,
 * and the call throws the exception the member's own {@link org.flotilla.raft.RaftNode} call threw:
 * {@link org.flotilla.raft.NotLeaderException} (with the leader it knows), {@link
 * org.flotilla.raft.CommandRejectedException}, {@link org.flotilla.raft.OutcomeUnknownException},
 * {@link org.flotilla.raft.OverloadedException}, {@link org.flotilla.raft.NodeStoppedException}, or
 * {@link IllegalArgumentException} for an invalid request. A member that cannot be reached, refuses
 * the connection (admin requests off, another cluster or group, a certificate it does not trust) or
 * does not answer in time makes the call throw {@link IOException} with the reason.
 *
 * <p>Thread-safe: calls may run concurrently, each on its own connection. {@link #close()} releases
 * the client's I/O thread.
 */
// Connect, write and close failures surface as the exchange's answer (exceptionCaught,
// channelInactive) or as the call's time-out; the futures need no other check.
@SuppressWarnings("FutureReturnValueIgnored")
public final class NettyAdminClient implements AutoCloseable {

  private static final int MAX_FRAME = 16 << 20;

  private final WireCodec codec;
  private final String toolName;
  private final Duration timeout;
  private final SslContext ssl;
  private final EventLoopGroup group;

  private NettyAdminClient(Builder b, SslContext ssl) {
    this.codec = new WireCodec(b.clusterId, b.groupId);
    this.toolName = b.toolName;
    this.timeout = b.timeout;
    this.ssl = ssl;
    this.group =
        new MultiThreadIoEventLoopGroup(
            1, new DefaultThreadFactory("flotilla-admin", true), NioIoHandler.newFactory());
  }

  /** {@return a new builder} */
  public static Builder builder() {
    return new Builder();
  }

  /**
   * Returns a member's status ({@link org.flotilla.raft.RaftNode#status()}).
   *
   * @param address the member's Raft address, {@code host:port}
   * @return its status; a failure's cause arrives as text, in a {@link
   *     org.flotilla.raft.RaftException}
   * @throws IOException if the member cannot be reached, refuses the tool, or does not answer in
   *     time
   */
  public NodeStatus status(String address) throws IOException {
    Wire.AdminResponse r = call(address, request(Wire.AdminRequest.Op.STATUS));
    try {
      return AdminProtocol.toRecord(r.getStatus());
    } catch (IllegalArgumentException e) {
      throw new IOException(address + " answered with an invalid status: " + e.getMessage(), e);
    }
  }

  /**
   * Adds a learner through the leader at {@code address} ({@link
   * org.flotilla.raft.RaftNode#addLearner(Member)}).
   *
   * @param address the leader's Raft address
   * @param member the member to add
   * @return the index of the configuration entry, once committed
   * @throws IOException if the member cannot be reached, refuses the tool, or does not answer in
   *     time
   */
  public long addLearner(String address, Member member) throws IOException {
    return call(
            address, request(Wire.AdminRequest.Op.ADD_LEARNER).setMember(WireCodec.toWire(member)))
        .getIndex();
  }

  /**
   * Makes a learner a voter through the leader at {@code address} ({@link
   * org.flotilla.raft.RaftNode#promote(String)}).
   *
   * @param address the leader's Raft address
   * @param memberId the learner
   * @return the index of the configuration entry, once committed
   * @throws IOException if the member cannot be reached, refuses the tool, or does not answer in
   *     time
   */
  public long promote(String address, String memberId) throws IOException {
    return call(address, request(Wire.AdminRequest.Op.PROMOTE).setTarget(memberId)).getIndex();
  }

  /**
   * Removes a member through the leader at {@code address} ({@link
   * org.flotilla.raft.RaftNode#removeMember(String)}).
   *
   * @param address the leader's Raft address
   * @param memberId the member to remove
   * @return the index of the configuration entry, once committed
   * @throws IOException if the member cannot be reached, refuses the tool, or does not answer in
   *     time
   */
  public long removeMember(String address, String memberId) throws IOException {
    return call(address, request(Wire.AdminRequest.Op.REMOVE).setTarget(memberId)).getIndex();
  }

  /**
   * Hands leadership to {@code memberId} through the leader at {@code address} ({@link
   * org.flotilla.raft.RaftNode#transferLeadership(String)}).
   *
   * @param address the leader's Raft address
   * @param memberId the voter to hand leadership to
   * @throws IOException if the member cannot be reached, refuses the tool, or does not answer in
   *     time
   */
  public void transferLeadership(String address, String memberId) throws IOException {
    call(address, request(Wire.AdminRequest.Op.TRANSFER_LEADER).setTarget(memberId));
  }

  /**
   * Makes the member at {@code address} take a snapshot now ({@link
   * org.flotilla.raft.RaftNode#takeSnapshot()}).
   *
   * @param address the member's Raft address
   * @return the snapshot's index, once it is durable
   * @throws IOException if the member cannot be reached, refuses the tool, or does not answer in
   *     time
   */
  public long takeSnapshot(String address) throws IOException {
    return call(address, request(Wire.AdminRequest.Op.SNAPSHOT)).getIndex();
  }

  /** Releases the client's I/O thread. */
  @Override
  public void close() {
    group.shutdownGracefully(0, 1, TimeUnit.SECONDS).awaitUninterruptibly(5, TimeUnit.SECONDS);
  }

  private static Wire.AdminRequest.Builder request(Wire.AdminRequest.Op op) {
    return Wire.AdminRequest.newBuilder()
        .setRequestId(ThreadLocalRandom.current().nextLong())
        .setOp(op);
  }

  /** One request on a connection of its own: the answer if ok, else the failure it stands for. */
  private Wire.AdminResponse call(String address, Wire.AdminRequest.Builder request)
      throws IOException {
    InetSocketAddress to;
    try {
      to = NettyTransport.parseAddress(address);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("not a host:port address: '" + address + "'", e);
    }
    Exchange exchange = new Exchange(request.build());
    Bootstrap b =
        new Bootstrap()
            .group(group)
            .channel(NioSocketChannel.class)
            .option(ChannelOption.TCP_NODELAY, true)
            .option(
                ChannelOption.CONNECT_TIMEOUT_MILLIS,
                (int) Math.min(Integer.MAX_VALUE, timeout.toMillis()))
            .handler(
                new ChannelInitializer<Channel>() {
                  @Override
                  protected void initChannel(Channel ch) {
                    if (ssl != null) {
                      ch.pipeline()
                          .addLast(
                              "tls", ssl.newHandler(ch.alloc(), to.getHostString(), to.getPort()));
                    }
                    ch.pipeline().addLast("frames", InboundHandler.frameDecoder(MAX_FRAME));
                    ch.pipeline().addLast("admin", exchange);
                  }
                });
    ChannelFuture connect = b.connect(to.getHostString(), to.getPort());
    connect.addListener(
        f -> {
          if (!f.isSuccess()) {
            exchange.answer.completeExceptionally(f.cause());
          }
        });
    try {
      Wire.AdminResponse r = exchange.answer.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
      if (!r.getOk()) {
        throw AdminProtocol.toException(exchange.memberId, r);
      }
      return r;
    } catch (TimeoutException e) {
      throw new IOException(address + " did not answer within " + timeout.toMillis() + " ms", e);
    } catch (ExecutionException e) {
      Throwable cause = e.getCause();
      throw new IOException(
          address + ": " + (cause.getMessage() == null ? cause.toString() : cause.getMessage()),
          cause);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted waiting for " + address, e);
    } finally {
      connect.channel().close();
    }
  }

  /**
   * One request's exchange on its connection: Hello, HelloAck, the request, the answer. Confined to
   * the connection's I/O thread but for {@link #answer}, which the caller waits on, and {@link
   * #memberId}, written before {@link #answer} completes.
   */
  private final class Exchange extends SimpleChannelInboundHandler<ByteBuf> {
    final Wire.AdminRequest request;
    final CompletableFuture<Wire.AdminResponse> answer = new CompletableFuture<>();
    volatile String memberId = "?";
    private boolean accepted;

    Exchange(Wire.AdminRequest request) {
      this.request = request;
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
      if (ssl == null) {
        sendHello(ctx);
      } else {
        ctx.pipeline()
            .get(io.netty.handler.ssl.SslHandler.class)
            .handshakeFuture()
            .addListener(
                f -> {
                  if (f.isSuccess()) {
                    sendHello(ctx);
                  } else {
                    answer.completeExceptionally(f.cause());
                  }
                });
      }
      ctx.fireChannelActive();
    }

    private void sendHello(ChannelHandlerContext ctx) {
      Wire.Hello hello = codec.hello(toolName, "").toBuilder().setAdmin(true).build();
      ctx.writeAndFlush(WireCodec.frame(ctx.alloc(), hello, Integer.MAX_VALUE));
    }

    @Override
    protected void channelRead0(ChannelHandlerContext ctx, ByteBuf body)
        throws InvalidProtocolBufferException {
      if (!body.isReadable()) {
        return; // a keepalive
      }
      if (!accepted) {
        Wire.HelloAck ack = WireCodec.parseHelloAck(body);
        memberId = ack.getReceiverId();
        if (!ack.getAccepted()) {
          answer.completeExceptionally(
              new IOException("member '" + memberId + "' refused the tool: " + ack.getReason()));
          ctx.close();
          return;
        }
        accepted = true;
        ctx.writeAndFlush(
            WireCodec.frame(
                ctx.alloc(),
                codec.envelope(toolName, memberId).setAdminRequest(request).build(),
                Integer.MAX_VALUE));
        return;
      }
      Wire.Envelope env = WireCodec.parseEnvelope(body);
      codec.checkHeader(env, memberId, toolName);
      if (!env.hasAdminResponse()
          || env.getAdminResponse().getRequestId() != request.getRequestId()) {
        throw new IllegalArgumentException("not the answer to this request: " + env.getBodyCase());
      }
      answer.complete(env.getAdminResponse());
      ctx.close();
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
      answer.completeExceptionally(new IOException("connection closed before an answer"));
      ctx.fireChannelInactive();
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
      answer.completeExceptionally(cause);
      ctx.close();
    }
  }

  /** Builds a {@link NettyAdminClient}. Not thread-safe. */
  public static final class Builder {
    private String clusterId;
    private String groupId = "default";
    private String toolName = "flotilla";
    private Duration timeout = Duration.ofSeconds(30);
    private Path tlsCertificateChain;
    private Path tlsPrivateKey;
    private Path tlsTrustedCertificates;
    private boolean tlsVerifyHostname = true;
    private SslContext sslContext;

    private Builder() {}

    /**
     * Sets the cluster id the members were started with (required).
     *
     * @param value the cluster id
     * @return this builder
     */
    public Builder clusterId(String value) {
      this.clusterId = value;
      return this;
    }

    /**
     * Sets the Raft group to address; default {@code "default"}.
     *
     * @param value the group id
     * @return this builder
     */
    public Builder groupId(String value) {
      this.groupId = value;
      return this;
    }

    /**
     * Sets the name the tool gives in its Hello, which members log with each request; default
     * {@code "flotilla"}.
     *
     * @param value 1 to 64 letters, digits, '.', '_' or '-'
     * @return this builder
     */
    public Builder toolName(String value) {
      this.toolName = value;
      return this;
    }

    /**
     * Sets how long a call waits for its connection and answer; default 30 s. A membership change
     * or snapshot answers once committed or durable.
     *
     * @param value the bound, positive
     * @return this builder
     */
    public Builder timeout(Duration value) {
      this.timeout = value;
      return this;
    }

    /**
     * Turns on TLS from PEM files, as for members ({@link NettyTransport.Builder#tls(Path, Path,
     * Path)}): the tool presents {@code certificateChain} and trusts members whose certificates
     * chain to {@code trustedCertificates}.
     *
     * @param certificateChain PEM file of the tool's certificate, then its intermediates
     * @param privateKey PEM file of its private key, PKCS#8
     * @param trustedCertificates PEM file of the cluster's CA certificates
     * @return this builder
     */
    public Builder tls(Path certificateChain, Path privateKey, Path trustedCertificates) {
      this.tlsCertificateChain = certificateChain;
      this.tlsPrivateKey = privateKey;
      this.tlsTrustedCertificates = trustedCertificates;
      return this;
    }

    /**
     * Turns on TLS with a client context built by the caller.
     *
     * @param client the context, {@link SslContext#isClient()} true
     * @return this builder
     */
    public Builder tls(SslContext client) {
      this.sslContext = client;
      return this;
    }

    /**
     * Chooses whether, with PEM-file TLS, a member's certificate must name the host the tool
     * connects to; default true.
     *
     * @param verify false to skip the host name check
     * @return this builder
     */
    public Builder tlsVerifyHostname(boolean verify) {
      this.tlsVerifyHostname = verify;
      return this;
    }

    /**
     * Checks the settings and builds the client.
     *
     * @return the client
     * @throws IllegalArgumentException naming the first missing or invalid setting, or a PEM file
     *     that cannot be read or loaded
     */
    public NettyAdminClient build() {
      NettyTransport.Builder.checkId("clusterId", clusterId);
      NettyTransport.Builder.checkId("groupId", groupId);
      NettyTransport.Builder.checkId("toolName", toolName);
      if (timeout == null || timeout.isNegative() || timeout.isZero()) {
        throw new IllegalArgumentException("timeout must be positive: " + timeout);
      }
      boolean pem =
          tlsCertificateChain != null || tlsPrivateKey != null || tlsTrustedCertificates != null;
      if (pem && sslContext != null) {
        throw new IllegalArgumentException("tls: give either PEM files or an SslContext, not both");
      }
      SslContext ssl = sslContext;
      if (ssl != null && !ssl.isClient()) {
        throw new IllegalArgumentException("tls: the SslContext must be a client context");
      }
      if (pem) {
        ssl =
            NettyTransport.Builder.clientContext(
                tlsCertificateChain, tlsPrivateKey, tlsTrustedCertificates, tlsVerifyHostname);
      }
      return new NettyAdminClient(this, ssl);
    }
  }
}
