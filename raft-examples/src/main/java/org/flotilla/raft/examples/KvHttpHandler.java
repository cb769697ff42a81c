package org.flotilla.raft.examples;

import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.timeout.IdleStateEvent;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Adapts Netty's HTTP codec to {@link KvApi}: one instance per connection, after an {@code
 * HttpServerCodec} and an {@code HttpObjectAggregator} (which answers 413 to oversized bodies).
 * Responses go out in request order even when a client pipelines requests; while a request is in
 * flight the connection stops reading, so one connection holds at most one read batch of requests.
 * An idle connection (see {@code IdleStateHandler}) is closed.
 *
 * <p>Not thread-safe; confined to the connection's event loop, except the response callbacks, which
 * only write to the channel (Netty queues the writes on the event loop in call order).
 */
@SuppressWarnings("FutureReturnValueIgnored") // Netty channel futures carry listeners
final class KvHttpHandler extends SimpleChannelInboundHandler<FullHttpRequest> {

  private static final Logger LOG = LoggerFactory.getLogger(KvHttpHandler.class);

  private final Function<KvApi.Request, CompletableFuture<KvApi.Response>> api;
  private final AtomicInteger inFlight = new AtomicInteger();
  // The previous response's write, so that responses leave in request order. Event loop only.
  private CompletableFuture<Void> tail = CompletableFuture.completedFuture(null);

  /**
   * Creates the handler of one connection.
   *
   * @param api answers requests, normally {@link KvApi#handle}; its futures must not fail
   */
  KvHttpHandler(Function<KvApi.Request, CompletableFuture<KvApi.Response>> api) {
    this.api = api;
  }

  @Override
  protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest req) {
    boolean keepAlive = HttpUtil.isKeepAlive(req);
    CompletableFuture<KvApi.Response> response;
    if (req.decoderResult().isFailure()) {
      keepAlive = false;
      response =
          CompletableFuture.completedFuture(
              KvApi.Response.error(
                  400, "malformed request: " + req.decoderResult().cause(), "not-applied"));
    } else {
      KvApi.Request r =
          new KvApi.Request(
              req.method().name(),
              req.uri(),
              req.headers().get("Client-Id"),
              req.headers().get("Request-Seq"),
              req.headers().contains(KvApi.FORWARDED),
              ByteBufUtil.getBytes(req.content()));
      response = api.apply(r);
    }
    inFlight.incrementAndGet();
    ctx.channel().config().setAutoRead(false);
    boolean close = !keepAlive;
    tail =
        tail.thenCombine(response, (x, resp) -> resp)
            .thenAccept(resp -> send(ctx, resp, close))
            .exceptionally(
                e -> {
                  LOG.warn("cannot answer on {}", ctx.channel(), e);
                  ctx.close();
                  return null;
                });
  }

  private void send(ChannelHandlerContext ctx, KvApi.Response resp, boolean close) {
    FullHttpResponse out =
        new DefaultFullHttpResponse(
            HttpVersion.HTTP_1_1,
            HttpResponseStatus.valueOf(resp.status()),
            Unpooled.wrappedBuffer(resp.body()));
    out.headers().set(HttpHeaderNames.CONTENT_TYPE, resp.contentType());
    out.headers().setInt(HttpHeaderNames.CONTENT_LENGTH, resp.body().length);
    for (Map.Entry<String, String> h : resp.headers().entrySet()) {
      out.headers().set(h.getKey(), h.getValue());
    }
    if (close) {
      out.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
      ctx.writeAndFlush(out).addListener(ChannelFutureListener.CLOSE);
      return;
    }
    ctx.writeAndFlush(out)
        .addListener(
            f -> {
              if (inFlight.decrementAndGet() == 0) {
                ctx.channel().config().setAutoRead(true);
                ctx.read();
              }
            });
  }

  @Override
  public void userEventTriggered(ChannelHandlerContext ctx, Object evt) throws Exception {
    if (evt instanceof IdleStateEvent) {
      LOG.debug("closing idle HTTP connection {}", ctx.channel());
      ctx.close();
      return;
    }
    super.userEventTriggered(ctx, evt);
  }

  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
    LOG.debug("HTTP connection {} failed; closing it", ctx.channel(), cause);
    ctx.close();
  }

  /**
   * Closes connections beyond a limit as soon as they are accepted. Shared by all connections of
   * one server; thread-safe (an atomic counter).
   */
  @ChannelHandler.Sharable
  static final class ConnectionLimit extends ChannelInboundHandlerAdapter {
    private final int max;
    private final AtomicInteger open = new AtomicInteger();

    ConnectionLimit(int max) {
      this.max = max;
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) throws Exception {
      if (open.incrementAndGet() > max) {
        LOG.warn("refusing HTTP connection {}: {} connections open", ctx.channel(), max);
        ctx.close();
        return;
      }
      super.channelActive(ctx);
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) throws Exception {
      open.decrementAndGet();
      super.channelInactive(ctx);
    }
  }
}
