package org.flotilla.raft.examples;

import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpMessage;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.TooLongHttpHeaderException;
import io.netty.handler.codec.http.TooLongHttpLineException;
import io.netty.handler.timeout.IdleStateEvent;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Adapts Netty's HTTP codec to {@link KvApi}: one instance per connection, after an {@code
 * HttpServerCodec} and an {@link Aggregator} (which answers 413 to oversized bodies). A request the
 * codec could not read gets 400, 414 or 431 ({@link #malformed}) and the connection closes.
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

  /** The longest request line the server's {@code HttpServerCodec} reads. */
  static final int MAX_INITIAL_LINE = 4096;

  /** The most bytes of headers the server's {@code HttpServerCodec} reads. */
  static final int MAX_HEADER_BYTES = 8192;

  /** The largest chunk the server's {@code HttpServerCodec} hands on at once. */
  static final int MAX_CHUNK = 65536;

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
      response = CompletableFuture.completedFuture(malformed(req.decoderResult().cause()));
    } else {
      KvApi.Request r =
          new KvApi.Request(
              req.method().name(),
              req.uri(),
              req.headers().get("Client-Id"),
              req.headers().get("Request-Seq"),
              req.headers().contains(KvApi.FORWARDED),
              req.headers().contains(KvApi.ROUTED),
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

  /**
   * Answers a request Netty's decoder could not read: 414 for a request line over the limit, 431
   * for headers over it, 400 otherwise; the message is the decoder's, without its class name.
   */
  static KvApi.Response malformed(Throwable cause) {
    if (cause instanceof TooLongHttpLineException) {
      return KvApi.Response.error(
          ErrorCode.URI_TOO_LONG, "the request line is longer than " + MAX_INITIAL_LINE + " bytes");
    }
    if (cause instanceof TooLongHttpHeaderException) {
      return KvApi.Response.error(
          ErrorCode.HEADERS_TOO_LARGE,
          "the headers are larger than " + MAX_HEADER_BYTES + " bytes");
    }
    return KvApi.Response.error(
        ErrorCode.MALFORMED_REQUEST, "malformed HTTP request: " + KvApi.describe(cause));
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

  /**
   * Aggregates a request's body, as {@link HttpObjectAggregator} does, but answers a body over the
   * limit with 413 and a JSON error body ({@code body too large}) instead of an empty one, then
   * closes the connection (the rest of the body may be on its way). A request that announces a too
   * large body with {@code Expect: 100-continue} gets the same 413 before sending it.
   *
   * <p>Not thread-safe; one per connection, confined to its event loop.
   */
  static final class Aggregator extends HttpObjectAggregator {
    private final int maxBody;

    Aggregator(int maxBody) {
      super(maxBody);
      this.maxBody = maxBody;
    }

    private FullHttpResponse tooLarge() {
      KvApi.Response r =
          KvApi.Response.error(
              ErrorCode.BODY_TOO_LARGE,
              "the request body is larger than the limit of "
                  + maxBody
                  + " bytes (--max-body-bytes)");
      FullHttpResponse out =
          new DefaultFullHttpResponse(
              HttpVersion.HTTP_1_1,
              HttpResponseStatus.REQUEST_ENTITY_TOO_LARGE,
              Unpooled.wrappedBuffer(r.body()));
      out.headers().set(HttpHeaderNames.CONTENT_TYPE, r.contentType());
      out.headers().setInt(HttpHeaderNames.CONTENT_LENGTH, r.body().length);
      return out;
    }

    @Override
    protected Object newContinueResponse(
        HttpMessage start, int maxContentLength, ChannelPipeline pipeline) {
      Object answer = super.newContinueResponse(start, maxContentLength, pipeline);
      if (answer instanceof FullHttpResponse resp
          && resp.status().code() == HttpResponseStatus.REQUEST_ENTITY_TOO_LARGE.code()) {
        resp.release();
        return tooLarge();
      }
      return answer;
    }

    @Override
    protected void handleOversizedMessage(ChannelHandlerContext ctx, HttpMessage oversized) {
      if (!(oversized instanceof HttpRequest)) {
        ctx.close();
        return;
      }
      FullHttpResponse out = tooLarge();
      out.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
      ctx.writeAndFlush(out).addListener(ChannelFutureListener.CLOSE);
    }
  }
}
