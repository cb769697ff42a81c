package org.flotilla.raft.transport.netty;

import com.google.protobuf.InvalidProtocolBufferException;
import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelPipeline;
import io.netty.handler.codec.LengthFieldBasedFrameDecoder;
import io.netty.handler.timeout.IdleState;
import io.netty.handler.timeout.IdleStateEvent;
import io.netty.handler.timeout.IdleStateHandler;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.ScheduledFuture;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.BiConsumer;
import java.util.function.Function;
import java.util.function.IntConsumer;
import java.util.function.ObjIntConsumer;
import java.util.function.Predicate;
import org.flotilla.raft.CommandRejectedException;
import org.flotilla.raft.OverloadedException;
import org.flotilla.raft.RaftNode;
import org.flotilla.raft.message.RaftMessage;
import org.flotilla.raft.transport.netty.proto.Wire;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The accepting side of a connection: checks the peer's Hello, then decodes, validates and delivers
 * its envelopes to the node's inbox.
 *
 * <p>The validation layer: a frame longer than the maximum, bytes that are not a protobuf message,
 * a Hello from another cluster, group or an unknown member, an envelope whose header does not match
 * the connection, or whose fields a message record refuses, closes the connection with a log line;
 * nothing of it reaches the inbox. A message the inbox throws on is logged and the connection kept.
 *
 * <p>An operator's tool may open an admin connection instead (its Hello sets {@code admin}), if the
 * transport enables admin requests: its envelopes must be {@code AdminRequest}s, each served on the
 * node ({@link AdminProtocol}) and answered on the same connection, at most {@value
 * #MAX_ADMIN_IN_FLIGHT} at a time (more are answered {@code OVERLOADED} at once).
 *
 * <p>Not thread-safe; confined to its channel's event loop (one instance per connection).
 */
// Close and write failures surface through exceptionCaught or a listener; the futures need no
// other check.
@SuppressWarnings("FutureReturnValueIgnored")
final class InboundHandler extends ChannelInboundHandlerAdapter {

  private static final Logger LOG = LoggerFactory.getLogger(InboundHandler.class);
  private static final RateLimitedLog WARN = new RateLimitedLog(LOG, 10);

  /** Admin requests served at once on one admin connection, at most. */
  static final int MAX_ADMIN_IN_FLIGHT = 16;

  private final WireCodec codec;
  private final String localId;
  private final Predicate<String> knownMember;
  private final Predicate<String> inConfiguration;
  private final BiConsumer<String, String> nonMemberAccepted;
  // The group of each envelope: its codec, node and senders; null for a group not run here.
  private final Function<String, Route> routes;
  // Whether this is a host's transport: an envelope of a group not run here (being created, or
  // removed) or from a member its group does not know is dropped, not a reason to close the
  // connection the other groups share.
  private final boolean host;
  private final IntConsumer dropped;
  private final Duration handshakeTimeout;
  private final String who;
  private final ObjIntConsumer<String> received;
  private final boolean adminEnabled;

  // Whether the peer is an operator's tool on an admin connection (set with peerId).
  private boolean admin;
  // The group an admin connection administers (set with admin).
  private Route adminRoute;
  // Admin requests being served on this connection.
  private int adminInFlight;
  // The peer's id once its Hello was accepted; null before.
  private String peerId;
  // Set once the connection is being closed for bad input: later frames are dropped unread.
  private boolean rejected;
  private ScheduledFuture<?> handshakeTimer;

  InboundHandler(
      WireCodec codec,
      String localId,
      Predicate<String> knownMember,
      Predicate<String> inConfiguration,
      BiConsumer<String, String> nonMemberAccepted,
      Function<String, Route> routes,
      boolean host,
      IntConsumer dropped,
      Duration handshakeTimeout,
      String who,
      ObjIntConsumer<String> received,
      boolean adminEnabled) {
    this.codec = codec;
    this.localId = localId;
    this.knownMember = knownMember;
    this.inConfiguration = inConfiguration;
    this.nonMemberAccepted = nonMemberAccepted;
    this.routes = routes;
    this.host = host;
    this.dropped = dropped;
    this.handshakeTimeout = handshakeTimeout;
    this.who = who;
    this.received = received;
    this.adminEnabled = adminEnabled;
  }

  /**
   * Adds the frame decoder and this handler's kind to an accepted connection's pipeline.
   *
   * @param codec the connection's codec: its Hello, and admin answers
   * @param knownMember whether a sender may connect
   * @param inConfiguration whether a sender is in this node's configuration
   * @param nonMemberAccepted told the id and announced address of an accepted sender outside the
   *     configuration
   * @param routes the group of each envelope, by group id; null for a group not run here
   * @param host whether this is a host's transport (see {@link Route})
   * @param dropped counts envelopes dropped for a group not run here or a sender it does not hear
   * @param who the prefix of log lines (group/node)
   * @param received counts each delivered message's frame size against its sender; called on the
   *     connection's I/O thread
   * @param adminEnabled whether operators' tools may open admin connections
   */
  static void initPipeline(
      ChannelPipeline pipeline,
      int maxFrameSize,
      Duration keepalive,
      WireCodec codec,
      String localId,
      Predicate<String> knownMember,
      Predicate<String> inConfiguration,
      BiConsumer<String, String> nonMemberAccepted,
      Function<String, Route> routes,
      boolean host,
      IntConsumer dropped,
      Duration handshakeTimeout,
      String who,
      ObjIntConsumer<String> received,
      boolean adminEnabled) {
    pipeline.addLast("idle", idleHandler(keepalive));
    pipeline.addLast("frames", frameDecoder(maxFrameSize));
    pipeline.addLast(
        "inbound",
        new InboundHandler(
            codec,
            localId,
            knownMember,
            inConfiguration,
            nonMemberAccepted,
            routes,
            host,
            dropped,
            handshakeTimeout,
            who,
            received,
            adminEnabled));
  }

  /**
   * A decoder of 4-byte length-prefixed frames; {@code maxFrameSize} counts the prefix. It fails
   * (and the handler closes the connection) as soon as a prefix announces a longer frame, before
   * buffering any of it.
   */
  static LengthFieldBasedFrameDecoder frameDecoder(int maxFrameSize) {
    return new LengthFieldBasedFrameDecoder(
        maxFrameSize, 0, WireCodec.LENGTH_PREFIX_BYTES, 0, WireCodec.LENGTH_PREFIX_BYTES, true);
  }

  /**
   * Fires a writer-idle event after {@code keepalive} without writes (the handler then sends an
   * empty keepalive frame) and a reader-idle event after three intervals without reads (the handler
   * then closes the connection: the peer is gone or wedged).
   */
  static IdleStateHandler idleHandler(Duration keepalive) {
    long ms = keepalive.toMillis();
    return new IdleStateHandler(3 * ms, ms, 0, TimeUnit.MILLISECONDS);
  }

  /**
   * Answers the idle handler's events: sends a keepalive frame when writes are idle, closes the
   * connection when the peer has been silent too long.
   *
   * @return true if the event was an idle event and was handled
   */
  static boolean onIdle(ChannelHandlerContext ctx, Object evt, RateLimitedLog log, String what) {
    if (!(evt instanceof IdleStateEvent e)) {
      return false;
    }
    if (e.state() == IdleState.WRITER_IDLE) {
      ctx.writeAndFlush(ctx.alloc().buffer(4).writeInt(0), ctx.voidPromise());
    } else if (e.state() == IdleState.READER_IDLE) {
      log.warn("{}: nothing heard for three keepalive intervals; closing", what);
      ctx.close();
    }
    return true;
  }

  @Override
  public void userEventTriggered(ChannelHandlerContext ctx, Object evt) throws Exception {
    if (!onIdle(ctx, evt, WARN, who + ": connection from " + describePeer(ctx))) {
      super.userEventTriggered(ctx, evt);
    }
  }

  private String describePeer(ChannelHandlerContext ctx) {
    return (peerId == null ? "" : peerId + " ") + "at " + ctx.channel().remoteAddress();
  }

  @Override
  public void channelActive(ChannelHandlerContext ctx) throws Exception {
    handshakeTimer =
        ctx.executor()
            .schedule(
                () -> {
                  if (peerId == null && ctx.channel().isActive()) {
                    reject(ctx, "no Hello within " + handshakeTimeout.toMillis() + " ms");
                  }
                },
                handshakeTimeout.toMillis(),
                TimeUnit.MILLISECONDS);
    super.channelActive(ctx);
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) throws Exception {
    cancelTimer();
    if (peerId != null) {
      LOG.debug("{}: connection from {} closed", who, peerId);
    }
    super.channelInactive(ctx);
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    try {
      if (rejected) {
        return;
      }
      if (!(msg instanceof ByteBuf body)) {
        reject(ctx, "unexpected inbound object " + msg.getClass().getName());
        return;
      }
      if (!body.isReadable()) {
        return; // an empty frame is a keepalive
      }
      if (peerId == null) {
        onHello(ctx, body);
      } else {
        onEnvelope(ctx, body);
      }
    } catch (InvalidProtocolBufferException e) {
      reject(ctx, "undecodable frame: " + e.getMessage());
    } catch (IllegalArgumentException e) {
      reject(ctx, "invalid message: " + e.getMessage());
    } finally {
      ReferenceCountUtil.release(msg);
    }
  }

  private void onHello(ChannelHandlerContext ctx, ByteBuf body)
      throws InvalidProtocolBufferException {
    Wire.Hello hello = WireCodec.parseHello(body);
    String refusal =
        codec.checkHello(hello, localId, knownMember, adminEnabled, g -> routes.apply(g) != null);
    if (refusal != null) {
      rejected = true;
      cancelTimer();
      WARN.warn(
          "{}: refused connection from {} (claims '{}'): {}",
          who,
          ctx.channel().remoteAddress(),
          hello.getSenderId(),
          refusal);
      ByteBuf ack =
          WireCodec.frame(ctx.alloc(), WireCodec.refuse(localId, refusal), Integer.MAX_VALUE);
      ctx.writeAndFlush(ack).addListener(ChannelFutureListener.CLOSE);
      return;
    }
    peerId = hello.getSenderId();
    cancelTimer();
    admin = hello.getAdmin();
    if (admin) {
      adminRoute = routes.apply(hello.getGroupId());
      LOG.info(
          "{}: accepted admin connection from tool '{}' at {}",
          who,
          peerId,
          ctx.channel().remoteAddress());
    } else if (inConfiguration.test(peerId)) {
      LOG.info("{}: accepted connection from {} at {}", who, peerId, ctx.channel().remoteAddress());
    } else if (host) {
      // A host's groups are created after its transport listens, and a replica moved here learns
      // its group from the leader's first message: an unknown host is expected, not a warning.
      LOG.info(
          "{}: accepted connection from host {} at {}, which no group here has as a member yet"
              + " (acceptNonMembers is set)",
          who,
          peerId,
          ctx.channel().remoteAddress());
      nonMemberAccepted.accept(peerId, hello.getSenderAddress());
    } else {
      LOG.warn(
          "{}: accepted connection from {} at {}, which is not in this member's configuration"
              + " (acceptNonMembers is set: it may have joined while this member was away)",
          who,
          peerId,
          ctx.channel().remoteAddress());
      nonMemberAccepted.accept(peerId, hello.getSenderAddress());
    }
    ctx.writeAndFlush(
        WireCodec.frame(ctx.alloc(), WireCodec.accept(localId), Integer.MAX_VALUE),
        ctx.voidPromise());
  }

  private void onEnvelope(ChannelHandlerContext ctx, ByteBuf body)
      throws InvalidProtocolBufferException {
    int frameBytes = body.readableBytes() + WireCodec.LENGTH_PREFIX_BYTES;
    Wire.Envelope env = WireCodec.parseEnvelope(body);
    if (admin) {
      onAdminRequest(ctx, env);
      return;
    }
    if (env.hasBatch()) {
      if (!host) {
        reject(ctx, "a batch of envelopes on a single group's connection");
        return;
      }
      codec.checkHeader(env, peerId, localId);
      for (Wire.Envelope inner : env.getBatch().getEnvelopesList()) {
        if (inner.hasBatch() || inner.hasAdminRequest() || inner.hasAdminResponse()) {
          reject(ctx, "a batch holds a " + inner.getBodyCase());
          return;
        }
        onMessage(ctx, inner, inner.getSerializedSize() + WireCodec.LENGTH_PREFIX_BYTES);
        if (rejected) {
          return;
        }
      }
      return;
    }
    onMessage(ctx, env, frameBytes);
  }

  /** Delivers one envelope's message to its group, or drops it, or rejects the connection. */
  private void onMessage(ChannelHandlerContext ctx, Wire.Envelope env, int frameBytes) {
    Route route = routes.apply(env.getGroupId());
    if (route == null) {
      if (host) {
        dropped.accept(1);
        LOG.debug(
            "{}: dropped a message of group '{}' from {}: no such group here",
            who,
            env.getGroupId(),
            peerId);
        return;
      }
      reject(ctx, "envelope of group '" + env.getGroupId() + "'");
      return;
    }
    RaftMessage message = route.codec().fromEnvelope(env, peerId, localId);
    if (!route.hears(peerId)) {
      if (host) {
        dropped.accept(1);
        LOG.debug(
            "{}: dropped a message of group '{}' from {}, not a member of it here",
            who,
            env.getGroupId(),
            peerId);
        return;
      }
      reject(ctx, "'" + peerId + "' is no longer a member");
      return;
    }
    received.accept(peerId, frameBytes);
    try {
      route.inbox().receive(message);
    } catch (RuntimeException e) {
      // The node's bug, not the peer's: keep the connection, say so loudly.
      LOG.error("{}: inbox failed on a message from {}", who, peerId, e);
    }
  }

  private void onAdminRequest(ChannelHandlerContext ctx, Wire.Envelope env) {
    adminRoute.codec().checkHeader(env, peerId, localId);
    if (!env.hasAdminRequest()) {
      reject(ctx, "an admin connection carries admin requests only, not " + env.getBodyCase());
      return;
    }
    Wire.AdminRequest request = env.getAdminRequest();
    if (adminInFlight >= MAX_ADMIN_IN_FLIGHT) {
      answer(
          ctx,
          AdminProtocol.failure(
              request.getRequestId(),
              new OverloadedException(
                  localId
                      + ": "
                      + MAX_ADMIN_IN_FLIGHT
                      + " admin requests in flight on this connection")));
      return;
    }
    Optional<RaftNode> node = adminRoute.inbox().node();
    if (node.isEmpty()) {
      answer(
          ctx,
          AdminProtocol.failure(
              request.getRequestId(),
              new CommandRejectedException(localId + ": this node serves no admin requests")));
      return;
    }
    adminInFlight++;
    LOG.info("{}: admin request from '{}': {}", who, peerId, describe(request));
    CompletableFuture<?> unused =
        AdminProtocol.serve(node.get(), request)
            .thenAccept(
                response ->
                    ctx.executor()
                        .execute(
                            () -> {
                              adminInFlight--;
                              answer(ctx, response);
                            }));
  }

  private static String describe(Wire.AdminRequest r) {
    return switch (r.getOp()) {
      case ADD_LEARNER ->
          "ADD_LEARNER " + r.getMember().getId() + " at " + r.getMember().getAddress();
      case PROMOTE, REMOVE, TRANSFER_LEADER -> r.getOp() + " " + r.getTarget();
      default -> r.getOp().toString();
    };
  }

  private void answer(ChannelHandlerContext ctx, Wire.AdminResponse response) {
    ByteBuf frame =
        WireCodec.frame(
            ctx.alloc(),
            adminRoute.codec().envelope(localId, peerId).setAdminResponse(response).build(),
            Integer.MAX_VALUE);
    ctx.writeAndFlush(frame, ctx.voidPromise());
  }

  private void reject(ChannelHandlerContext ctx, String reason) {
    if (rejected) {
      return;
    }
    rejected = true;
    cancelTimer();
    WARN.warn(
        "{}: closing connection from {} ({}): {}",
        who,
        ctx.channel().remoteAddress(),
        peerId == null ? "before Hello" : peerId,
        reason);
    ctx.close();
  }

  private void cancelTimer() {
    if (handshakeTimer != null) {
      handshakeTimer.cancel(false);
      handshakeTimer = null;
    }
  }

  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
    // Decoder failures (a frame above the maximum, a malformed length) and I/O errors.
    reject(ctx, cause.getClass().getSimpleName() + ": " + cause.getMessage());
    rejected = true;
    ctx.close();
  }
}
