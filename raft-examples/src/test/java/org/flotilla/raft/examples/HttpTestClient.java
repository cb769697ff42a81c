package org.flotilla.raft.examples;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/** A small blocking HTTP client for the tests, on {@link HttpClient}. Thread-safe. */
final class HttpTestClient {

  /**
   * A response.
   *
   * @param status the status code
   * @param body the body as text
   * @param retryAfter the Retry-After header, or null
   */
  record Reply(int status, String body, String retryAfter) {}

  private volatile HttpClient client = newClient();
  private final Duration timeout;

  HttpTestClient(Duration timeout) {
    this.timeout = timeout;
  }

  private static HttpClient newClient() {
    return HttpClient.newBuilder()
        .version(HttpClient.Version.HTTP_1_1)
        .connectTimeout(Duration.ofSeconds(2))
        .build();
  }

  /**
   * Drops the pooled keep-alive connections: call it after a server was restarted in this JVM on
   * the same port. The JDK client can otherwise send the next request on a connection to the old
   * server that it has not yet seen closed; it then records "header parser received no bytes" and
   * waits for the request's whole time-out (seen in KvClusterTest about once in a hundred restarts
   * on a loaded machine, with the JDK's HTTP log on: the new server never got the request).
   */
  void reconnect() {
    client = newClient();
  }

  Reply send(String method, String url, String body, String... headers)
      throws IOException, InterruptedException {
    HttpRequest.Builder b =
        HttpRequest.newBuilder(URI.create(url))
            .timeout(timeout)
            .method(
                method,
                body == null
                    ? HttpRequest.BodyPublishers.noBody()
                    : HttpRequest.BodyPublishers.ofString(body, StandardCharsets.UTF_8));
    for (int i = 0; i + 1 < headers.length; i += 2) {
      b.header(headers[i], headers[i + 1]);
    }
    HttpResponse<String> r = client.send(b.build(), HttpResponse.BodyHandlers.ofString());
    return new Reply(r.statusCode(), r.body(), r.headers().firstValue("Retry-After").orElse(null));
  }

  /**
   * Returns ports that were free a moment ago on 127.0.0.1, outside the ephemeral range ({@link
   * org.flotilla.raft.testkit.TestPorts}).
   *
   * @param n how many
   * @return the ports
   * @throws IOException if no port can be had
   */
  static List<Integer> freePorts(int n) throws IOException {
    List<Integer> ports = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      ports.add(org.flotilla.raft.testkit.TestPorts.free());
    }
    return ports;
  }
}
