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

  private final HttpClient client =
      HttpClient.newBuilder()
          .version(HttpClient.Version.HTTP_1_1)
          .connectTimeout(Duration.ofSeconds(2))
          .build();
  private final Duration timeout;

  HttpTestClient(Duration timeout) {
    this.timeout = timeout;
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
