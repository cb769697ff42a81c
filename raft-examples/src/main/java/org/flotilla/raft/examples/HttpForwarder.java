package org.flotilla.raft.examples;

import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpClientCodec;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpVersion;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * Forwards a request to the leader's HTTP API over a fresh connection (one per request: simple, and
 * good enough for an example), marked with {@link KvApi#FORWARDED} so that it is not forwarded
 * again.
 *
 * <p>Thread-safe: each forward has its own channel on the HTTP event loop group; the returned
 * future completes on that channel's event loop.
 */
@SuppressWarnings("FutureReturnValueIgnored") // Netty channel futures carry listeners
final class HttpForwarder implements KvApi.Forwarder {

  private final EventLoopGroup group;
  private final Duration timeout;
  private final int maxResponseBytes;

  HttpForwarder(EventLoopGroup group, Duration timeout, int maxResponseBytes) {
    this.group = group;
    this.timeout = timeout;
    this.maxResponseBytes = maxResponseBytes;
  }

  @Override
  public CompletableFuture<KvApi.Response> forward(String httpAddress, KvApi.Request r) {
    return send(httpAddress, r, KvApi.FORWARDED);
  }

  /**
   * Passes a request for a group this server does not hold to a server of a sharded cluster that
   * does, marked with {@link KvApi#ROUTED} (so that it is not passed on again, but may still be
   * forwarded once to the group's leader). Answers as {@link #forward} does.
   *
   * @param httpAddress the target "host:port"
   * @param r the request
   * @return the target's response
   */
  CompletableFuture<KvApi.Response> route(String httpAddress, KvApi.Request r) {
    return send(httpAddress, r, KvApi.ROUTED);
  }

  private CompletableFuture<KvApi.Response> send(String httpAddress, KvApi.Request r, String mark) {
    String who = mark.equals(KvApi.FORWARDED) ? "the leader" : "the server holding the group";
    CompletableFuture<KvApi.Response> result = new CompletableFuture<>();
    boolean[] sent = {false}; // confined to the channel's event loop
    Bootstrap b =
        new Bootstrap()
            .group(group)
            .channel(NioSocketChannel.class)
            .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, (int) Math.min(timeout.toMillis(), 5000))
            .handler(
                new ChannelInitializer<SocketChannel>() {
                  @Override
                  protected void initChannel(SocketChannel ch) {
                    ch.pipeline()
                        .addLast(new HttpClientCodec())
                        .addLast(new HttpObjectAggregator(maxResponseBytes))
                        .addLast(
                            new SimpleChannelInboundHandler<FullHttpResponse>() {
                              @Override
                              protected void channelRead0(
                                  ChannelHandlerContext ctx, FullHttpResponse resp) {
                                Map<String, String> headers = new HashMap<>();
                                for (String h :
                                    new String[] {"Retry-After", "X-Raft-Index", "Allow"}) {
                                  String v = resp.headers().get(h);
                                  if (v != null) {
                                    headers.put(h, v);
                                  }
                                }
                                String type = resp.headers().get(HttpHeaderNames.CONTENT_TYPE);
                                result.complete(
                                    new KvApi.Response(
                                        resp.status().code(),
                                        type == null ? "application/octet-stream" : type,
                                        ByteBufUtil.getBytes(resp.content()),
                                        Map.copyOf(headers)));
                                ctx.close();
                              }

                              @Override
                              public void channelInactive(ChannelHandlerContext ctx) {
                                unknown(result, sent[0], who + " closed the connection");
                              }

                              @Override
                              public void exceptionCaught(ChannelHandlerContext ctx, Throwable e) {
                                unknown(result, sent[0], "forwarding failed: " + KvApi.describe(e));
                                ctx.close();
                              }
                            });
                  }
                });
    String host = ServerConfig.host(httpAddress);
    int port = ServerConfig.port(httpAddress);
    b.connect(host, port)
        .addListener(
            (ChannelFutureListener)
                cf -> {
                  if (!cf.isSuccess()) {
                    result.complete(
                        KvApi.Response.error(
                            503,
                            ErrorCode.LEADER_UNREACHABLE,
                            who
                                + " at "
                                + httpAddress
                                + " is unreachable: "
                                + KvApi.describe(cf.cause()),
                            "not-applied"));
                    return;
                  }
                  Channel ch = cf.channel();
                  ch.eventLoop()
                      .schedule(
                          () -> {
                            unknown(result, sent[0], who + " did not answer in " + timeout);
                            ch.close();
                          },
                          timeout.toMillis(),
                          TimeUnit.MILLISECONDS);
                  sent[0] = true;
                  ch.writeAndFlush(request(r, httpAddress, mark));
                });
    return result;
  }

  private static void unknown(CompletableFuture<KvApi.Response> result, boolean sent, String what) {
    if (sent) {
      result.complete(
          KvApi.Response.error(
              504,
              ErrorCode.FORWARD_FAILED,
              what + "; the operation may have taken effect",
              "unknown"));
    } else {
      result.complete(
          KvApi.Response.error(
              503,
              ErrorCode.LEADER_UNREACHABLE,
              what + " before the request was sent",
              "not-applied"));
    }
  }

  private static FullHttpRequest request(KvApi.Request r, String httpAddress, String mark) {
    FullHttpRequest req =
        new DefaultFullHttpRequest(
            HttpVersion.HTTP_1_1,
            HttpMethod.valueOf(r.method()),
            r.uri(),
            Unpooled.wrappedBuffer(r.body()));
    req.headers().set(HttpHeaderNames.HOST, httpAddress);
    req.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
    req.headers().setInt(HttpHeaderNames.CONTENT_LENGTH, r.body().length);
    req.headers().set(mark, "1");
    if (r.routed()) {
      req.headers().set(KvApi.ROUTED, "1");
    }
    if (r.clientId() != null) {
      req.headers().set("Client-Id", r.clientId());
    }
    if (r.requestSeq() != null) {
      req.headers().set("Request-Seq", r.requestSeq());
    }
    return req;
  }
}
