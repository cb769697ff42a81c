package org.flotilla.raft.examples;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.HttpServerCodec;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.function.Function;
import org.junit.jupiter.api.Test;

/**
 * Tests the Netty side of the HTTP API with {@link EmbeddedChannel}: the server's pipeline fed raw
 * bytes, with a stand-in for {@link KvApi} whose answers the test controls.
 */
class KvHttpHandlerTest {

  private static final int MAX_BODY = 1024;

  private final List<KvApi.Request> seen = new ArrayList<>();

  private EmbeddedChannel channel(Function<KvApi.Request, CompletableFuture<KvApi.Response>> api) {
    return new EmbeddedChannel(
        new HttpServerCodec(
            KvHttpHandler.MAX_INITIAL_LINE,
            KvHttpHandler.MAX_HEADER_BYTES,
            KvHttpHandler.MAX_CHUNK),
        new KvHttpHandler.Aggregator(MAX_BODY),
        new KvHttpHandler(
            r -> {
              seen.add(r);
              return api.apply(r);
            }));
  }

  private static CompletableFuture<KvApi.Response> echo(KvApi.Request r) {
    return CompletableFuture.completedFuture(
        KvApi.Response.json(200, KvApi.object().put("uri", r.uri())));
  }

  private static String written(EmbeddedChannel ch) {
    StringBuilder b = new StringBuilder();
    for (ByteBuf buf; (buf = ch.readOutbound()) != null; ) {
      b.append(buf.toString(StandardCharsets.UTF_8));
      buf.release();
    }
    return b.toString();
  }

  private static ByteBuf bytes(String s) {
    return Unpooled.copiedBuffer(s, StandardCharsets.UTF_8);
  }

  @Test
  void passesMethodUriHeadersAndBodyToTheApiAndWritesItsAnswer() {
    EmbeddedChannel ch = channel(KvHttpHandlerTest::echo);
    ch.writeInbound(
        bytes(
            "PUT /kv/a?x=1 HTTP/1.1\r\nHost: h\r\nClient-Id: c1\r\nRequest-Seq: 7\r\n"
                + "Content-Length: 5\r\n\r\nhello"));
    String out = written(ch);
    assertThat(out).startsWith("HTTP/1.1 200 OK\r\n").contains("content-type: application/json");
    assertThat(out).contains("content-length: 20").endsWith("{\"uri\":\"/kv/a?x=1\"}\n");
    assertThat(seen).hasSize(1);
    KvApi.Request r = seen.get(0);
    assertThat(r.method()).isEqualTo("PUT");
    assertThat(r.clientId()).isEqualTo("c1");
    assertThat(r.requestSeq()).isEqualTo("7");
    assertThat(r.forwarded()).isFalse();
    assertThat(new String(r.body(), StandardCharsets.UTF_8)).isEqualTo("hello");
    assertThat(ch.isOpen()).isTrue();
  }

  @Test
  void pipelinedRequestsAreAnsweredInOrderEvenWhenTheSecondFinishesFirst() {
    List<CompletableFuture<KvApi.Response>> pending = new ArrayList<>();
    EmbeddedChannel ch =
        channel(
            r -> {
              CompletableFuture<KvApi.Response> f = new CompletableFuture<>();
              pending.add(f);
              return f;
            });
    ch.writeInbound(
        bytes(
            "GET /kv/first HTTP/1.1\r\nHost: h\r\n\r\nGET /kv/second HTTP/1.1\r\nHost: h\r\n\r\n"));
    assertThat(pending).hasSize(2);
    assertThat(ch.config().isAutoRead()).as("stops reading while requests are in flight").isFalse();
    pending.get(1).complete(KvApi.Response.json(200, "\"second\""));
    ch.runPendingTasks();
    assertThat(written(ch)).as("nothing before the first answer").isEmpty();
    pending.get(0).complete(KvApi.Response.json(200, "\"first\""));
    ch.runPendingTasks();
    String out = written(ch);
    assertThat(out.indexOf("\"first\"")).isPositive().isLessThan(out.indexOf("\"second\""));
    assertThat(ch.config().isAutoRead()).isTrue();
  }

  @Test
  void oversizedBodyGets413WithoutReachingTheApi() {
    EmbeddedChannel ch = channel(KvHttpHandlerTest::echo);
    ch.writeInbound(
        bytes("PUT /kv/big HTTP/1.1\r\nHost: h\r\nContent-Length: " + (MAX_BODY + 1) + "\r\n\r\n"));
    String out = written(ch);
    assertThat(out).startsWith("HTTP/1.1 413 Request Entity Too Large");
    assertThat(out)
        .contains("content-type: application/json")
        .contains("\"error\":\"body too large\"")
        .contains("larger than the limit of " + MAX_BODY + " bytes")
        .doesNotContain("Retry-After");
    assertThat(seen).isEmpty();
    assertThat(ch.isOpen()).as("the rest of the body may be on its way: closed").isFalse();
  }

  @Test
  void oversizedBodyAnnouncedWithExpectContinueGets413BeforeItIsSent() {
    EmbeddedChannel ch = channel(KvHttpHandlerTest::echo);
    ch.writeInbound(
        bytes(
            "PUT /kv/big HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: "
                + (MAX_BODY + 1)
                + "\r\n\r\n"));
    String out = written(ch);
    assertThat(out).startsWith("HTTP/1.1 413").contains("\"error\":\"body too large\"");
    assertThat(seen).isEmpty();
  }

  @Test
  void tooLongRequestLineAndHeadersGet414And431WithoutClassNames() {
    EmbeddedChannel ch = channel(KvHttpHandlerTest::echo);
    ch.writeInbound(bytes("GET /kv/" + "k".repeat(5000) + " HTTP/1.1\r\nHost: h\r\n\r\n"));
    String out = written(ch);
    assertThat(out).startsWith("HTTP/1.1 414").contains("\"error\":\"uri too long\"");
    assertThat(out).doesNotContain("Exception").doesNotContain("io.netty");
    assertThat(seen).isEmpty();

    EmbeddedChannel ch2 = channel(KvHttpHandlerTest::echo);
    ch2.writeInbound(
        bytes("GET /kv/a HTTP/1.1\r\nHost: h\r\nX-Big: " + "v".repeat(9000) + "\r\n\r\n"));
    String out2 = written(ch2);
    assertThat(out2).startsWith("HTTP/1.1 431").contains("\"error\":\"headers too large\"");
    assertThat(out2).doesNotContain("Exception").doesNotContain("io.netty");
  }

  @Test
  void malformedRequestGets400AndTheConnectionCloses() {
    EmbeddedChannel ch = channel(KvHttpHandlerTest::echo);
    ch.writeInbound(bytes("GET /kv/a HTTP/1.1\r\nHost: h\r\nContent-Length: banana\r\n\r\n"));
    String out = written(ch);
    assertThat(out).startsWith("HTTP/1.1 400 Bad Request").contains("malformed request");
    assertThat(out).doesNotContain("Exception").doesNotContain("io.netty");
    assertThat(seen).isEmpty();
    assertThat(ch.isOpen()).isFalse();
  }

  @Test
  void extraHeadersAndConnectionCloseAreHonoured() {
    EmbeddedChannel ch =
        channel(
            r ->
                CompletableFuture.completedFuture(
                    new KvApi.Response(
                        503, "application/json", new byte[0], Map.of("Retry-After", "1"))));
    ch.writeInbound(bytes("GET /kv/a HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n"));
    String out = written(ch);
    assertThat(out)
        .startsWith("HTTP/1.1 503")
        .contains("Retry-After: 1")
        .contains("connection: close");
    assertThat(ch.isOpen()).isFalse();
  }

  @Test
  void connectionsBeyondTheLimitAreClosedAtOnce() {
    KvHttpHandler.ConnectionLimit limit = new KvHttpHandler.ConnectionLimit(1);
    EmbeddedChannel first = new EmbeddedChannel(limit);
    EmbeddedChannel second = new EmbeddedChannel(limit);
    assertThat(first.isOpen()).isTrue();
    assertThat(second.isOpen()).isFalse();
    first.close().syncUninterruptibly();
    EmbeddedChannel third = new EmbeddedChannel(limit);
    assertThat(third.isOpen()).as("a slot frees when a connection closes").isTrue();
    third.close().syncUninterruptibly();
  }
}
