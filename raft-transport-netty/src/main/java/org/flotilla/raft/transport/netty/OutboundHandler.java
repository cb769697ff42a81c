package org.flotilla.raft.transport.netty;

import com.google.protobuf.InvalidProtocolBufferException;
import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import org.flotilla.raft.transport.netty.proto.Wire;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The connecting side of a connection: sends the Hello, waits for the HelloAck, then hands the
 * channel to its {@link Peer}. After the handshake nothing is expected from the acceptor; anything
 * it sends closes the connection.
 *
 * <p>Not thread-safe; confined to its channel's event loop, which is its peer's loop.
 */
// Close and write failures surface through exceptionCaught or a listener; the futures need no
// other check.
@SuppressWarnings("FutureReturnValueIgnored")
final class OutboundHandler extends ChannelInboundHandlerAdapter {

  private static final Logger LOG = LoggerFactory.getLogger(OutboundHandler.class);
  private static final RateLimitedLog WARN = new RateLimitedLog(LOG, 10);

  private final Peer peer;
  private final NettyTransport transport;
  private boolean handshaken;
  private ScheduledFuture<?> handshakeTimer;

  OutboundHandler(Peer peer, NettyTransport transport) {
    this.peer = peer;
    this.transport = transport;
  }

  @Override
  public void channelActive(ChannelHandlerContext ctx) throws Exception {
    long timeout = transport.options().handshakeTimeout().toMillis();
    handshakeTimer =
        ctx.executor()
            .schedule(
                () -> {
                  if (!handshaken) {
                    LOG.warn(
                        "{}: no HelloAck from {} within {} ms; closing",
                        transport.who(),
                        peer.id,
                        timeout);
                    ctx.close();
                  }
                },
                timeout,
                TimeUnit.MILLISECONDS);
    Wire.Hello hello =
        transport.codec().hello(transport.localId(), peer.id, transport.ownAddress());
    ctx.writeAndFlush(WireCodec.frame(ctx.alloc(), hello, Integer.MAX_VALUE), ctx.voidPromise());
    super.channelActive(ctx);
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    try {
      if (msg instanceof ByteBuf b && !b.isReadable()) {
        return; // an empty frame is a keepalive
      }
      if (handshaken || !(msg instanceof ByteBuf body)) {
        LOG.warn("{}: unexpected frame from {}; closing", transport.who(), peer.id);
        ctx.close();
        return;
      }
      Wire.HelloAck ack = WireCodec.parseHelloAck(body);
      if (!ack.getAccepted()) {
        LOG.warn("{}: {} refused the connection: {}", transport.who(), peer.id, ack.getReason());
        ctx.close();
        return;
      }
      if (!peer.id.equals(ack.getReceiverId())) {
        LOG.warn(
            "{}: {} at {} answered as '{}'; closing",
            transport.who(),
            peer.id,
            peer.where,
            ack.getReceiverId());
        ctx.close();
        return;
      }
      handshaken = true;
      cancelTimer();
      peer.onReady(ctx.channel());
    } catch (InvalidProtocolBufferException e) {
      LOG.warn("{}: undecodable HelloAck from {}: {}", transport.who(), peer.id, e.getMessage());
      ctx.close();
    } finally {
      ReferenceCountUtil.release(msg);
    }
  }

  @Override
  public void userEventTriggered(ChannelHandlerContext ctx, Object evt) throws Exception {
    if (!InboundHandler.onIdle(
        ctx, evt, WARN, transport.localId() + ": connection to " + peer.id)) {
      super.userEventTriggered(ctx, evt);
    }
  }

  @Override
  public void channelWritabilityChanged(ChannelHandlerContext ctx) throws Exception {
    if (handshaken && ctx.channel().isWritable()) {
      peer.drain();
    }
    super.channelWritabilityChanged(ctx);
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) throws Exception {
    cancelTimer();
    peer.onClosed(ctx.channel());
    super.channelInactive(ctx);
  }

  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
    LOG.warn("{}: connection to {} failed: {}", transport.who(), peer.id, cause.toString());
    ctx.close();
  }

  private void cancelTimer() {
    if (handshakeTimer != null) {
      handshakeTimer.cancel(false);
      handshakeTimer = null;
    }
  }
}
