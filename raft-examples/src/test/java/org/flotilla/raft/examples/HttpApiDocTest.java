package org.flotilla.raft.examples;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Keeps docs/http-api.md true to the code: its endpoint table lists exactly {@link
 * KvApi#ENDPOINTS}, its error table exactly {@link ErrorCode} (code and status), and every endpoint
 * it lists answers a well-formed request on a running server.
 */
@Timeout(120)
class HttpApiDocTest {

  private static final Path DOC = Path.of("../docs/http-api.md");

  /** A row of the endpoint table: | `METHOD /path` | ... */
  private static final Pattern ENDPOINT_ROW =
      Pattern.compile("^\\| `(GET|PUT|POST|DELETE|PATCH|HEAD) (/[^` ]*)` \\|");

  /** A row of the error table: | STATUS | `code` | ... */
  private static final Pattern ERROR_ROW = Pattern.compile("^\\| (\\d{3}) \\| `([a-z ]+)` \\|");

  @TempDir Path dir;

  private static List<String> section(String heading) throws IOException {
    List<String> lines = Files.readAllLines(DOC, StandardCharsets.UTF_8);
    int start = lines.indexOf(heading);
    assertThat(start).as("docs/http-api.md has the section %s", heading).isNotNegative();
    List<String> out = new ArrayList<>();
    for (int i = start + 1; i < lines.size() && !lines.get(i).startsWith("## "); i++) {
      out.add(lines.get(i));
    }
    return out;
  }

  private static List<String> documentedEndpoints() throws IOException {
    return documentedEndpoints("## Endpoints");
  }

  private static List<String> documentedEndpoints(String heading) throws IOException {
    List<String> out = new ArrayList<>();
    for (String line : section(heading)) {
      Matcher m = ENDPOINT_ROW.matcher(line);
      if (m.find()) {
        out.add(m.group(1) + " " + m.group(2));
      }
    }
    return out;
  }

  @Test
  void theEndpointTableListsExactlyTheEndpointsOfTheCode() throws IOException {
    List<String> code = KvApi.ENDPOINTS.stream().map(e -> e.method() + " " + e.path()).toList();
    assertThat(documentedEndpoints()).containsExactlyElementsOf(code);
  }

  @Test
  void theShardedTableListsExactlyTheEndpointsOfAShardedServer() throws IOException {
    List<String> code =
        ShardedApi.ENDPOINTS.stream().map(e -> e.method() + " " + e.path()).toList();
    assertThat(documentedEndpoints("## Sharded cluster")).containsExactlyElementsOf(code);
  }

  @Test
  void theErrorTableListsExactlyTheErrorCodesOfTheCode() throws IOException {
    Map<String, Integer> documented = new LinkedHashMap<>();
    for (String line : section("## Status codes and errors")) {
      Matcher m = ERROR_ROW.matcher(line);
      if (m.find()) {
        assertThat(documented.put(m.group(2), Integer.parseInt(m.group(1))))
            .as("%s documented once", m.group(2))
            .isNull();
      }
    }
    Map<String, Integer> code = new LinkedHashMap<>();
    for (ErrorCode c : ErrorCode.values()) {
      code.put(c.text, c.status);
    }
    assertThat(documented).containsExactlyEntriesOf(code);
  }

  /** Calls every endpoint the page lists, with a request it documents as valid. */
  @Test
  void everyDocumentedEndpointAnswersAValidRequest() throws Exception {
    List<Integer> ports = HttpTestClient.freePorts(4);
    int port = ports.get(1);
    KvServer server =
        KvServer.start(
            ServerConfig.parse(
                new String[] {
                  "--id", "n1",
                  "--data-dir", dir.resolve("n1").toString(),
                  "--members", "n1=127.0.0.1:" + ports.get(0) + "@127.0.0.1:" + port,
                  "--election-timeout-ms", "300",
                  "--heartbeat-ms", "30"
                }));
    try {
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
      while (RawHttp.send(port, "GET", "/health", null).status() != 200) {
        assertThat(System.nanoTime()).as("n1 leads within 30 s").isLessThan(deadline);
        Thread.sleep(20);
      }
      String learner =
          "{\"id\":\"l9\",\"raftAddress\":\"127.0.0.1:"
              + ports.get(2)
              + "\",\"httpAddress\":\"127.0.0.1:"
              + ports.get(3)
              + "\",\"role\":\"learner\"}";
      // In an order where each request can succeed: the key exists before it is read.
      String[][] calls = {
        {"PUT /kv/{key}", "PUT", "/kv/doc", "v"},
        {"GET /kv/{key}", "GET", "/kv/doc?consistency=lease", null},
        {"POST /kv/{key}", "POST", "/kv/doc?cas", "{\"expect\":\"v\",\"value\":\"w\"}"},
        {"DELETE /kv/{key}", "DELETE", "/kv/doc", null},
        {"GET /status", "GET", "/status", null},
        {"GET /health", "GET", "/health", null},
        {"GET /metrics", "GET", "/metrics", null},
        {"GET /members", "GET", "/members", null},
        {"POST /members", "POST", "/members", learner},
        {"DELETE /members/{id}", "DELETE", "/members/l9", null},
        {"POST /leader/transfer", "POST", "/leader/transfer?to=n1", null},
        {"POST /snapshot", "POST", "/snapshot", null},
        {"GET /ui", "GET", "/ui", null},
      };
      Set<String> called = new LinkedHashSet<>();
      for (String[] c : calls) {
        RawHttp.Reply r =
            RawHttp.send(
                port, c[1], c[2], c[3] == null ? null : c[3].getBytes(StandardCharsets.UTF_8));
        assertThat(r.status()).as("%s %s: %s", c[1], c[2], r.body()).isEqualTo(200);
        called.add(c[0]);
      }
      assertThat(called).containsExactlyInAnyOrderElementsOf(documentedEndpoints());
    } finally {
      server.close();
    }
  }
}
