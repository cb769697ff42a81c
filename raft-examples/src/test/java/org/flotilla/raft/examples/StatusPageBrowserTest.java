package org.flotilla.raft.examples;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The status page ({@code GET /ui}) in a real headless browser: after the leader is killed, the
 * page a surviving member serves shows the new leader and the old one unreachable, and a screenshot
 * is taken ({@code target/ui-after-leader-kill.png}; docs/images/ui.png is one).
 *
 * <p>Needs Chromium (Debian: {@code apt-get install chromium}; another binary with {@code
 * -Dflotilla.chromium=PATH}). Not in the default build: {@code mvn -B -P ui -pl raft-examples -am
 * verify -Dtest=StatusPageBrowserTest -Dsurefire.failIfNoSpecifiedTests=false}.
 */
@Tag("browser")
@Timeout(240)
class StatusPageBrowserTest {

  @TempDir Path dir;

  private final HttpTestClient http = new HttpTestClient(java.time.Duration.ofSeconds(5));
  private final Map<String, KvServer> servers = new LinkedHashMap<>();
  private final Map<String, String> httpAddress = new LinkedHashMap<>();

  @AfterEach
  void stop() {
    servers.values().forEach(KvServer::close);
  }

  @Test
  void thePageShowsTheNewLeaderAfterTheLeaderIsKilled() throws Exception {
    List<Integer> ports = HttpTestClient.freePorts(6);
    List<String> parts = new ArrayList<>();
    for (int i = 1; i <= 3; i++) {
      String id = "n" + i;
      httpAddress.put(id, "127.0.0.1:" + ports.get(2 + i));
      parts.add(id + "=127.0.0.1:" + ports.get(i - 1) + "@" + httpAddress.get(id));
    }
    String members = String.join(",", parts);
    for (String id : httpAddress.keySet()) {
      servers.put(
          id,
          KvServer.start(
              ServerConfig.parse(
                  new String[] {
                    "--id",
                    id,
                    "--data-dir",
                    dir.resolve(id).toString(),
                    "--members",
                    members,
                    "--election-timeout-ms",
                    "500",
                    "--heartbeat-ms",
                    "50"
                  })));
    }
    String leader = awaitLeader(null);
    for (int i = 0; i < 20; i++) {
      http.send("PUT", "http://" + httpAddress.get(leader) + "/kv/k" + i, "v" + i);
    }
    String page =
        httpAddress.keySet().stream().filter(id -> !id.equals(leader)).findFirst().orElseThrow();

    servers.remove(leader).close();
    String next = awaitLeader(leader);

    String url = "http://" + httpAddress.get(page) + "/ui";
    String dom = chromium("--dump-dom", url);
    assertThat(dom).contains("data-leader=\"" + next + "\"");
    assertThat(dom).contains("data-member=\"" + leader + "\" data-role=\"DOWN\"");
    assertThat(dom).contains("data-member=\"" + next + "\" data-role=\"LEADER\"");

    Path shot = Path.of("target", "ui-after-leader-kill.png").toAbsolutePath();
    Files.deleteIfExists(shot);
    chromium("--window-size=1100,640", "--screenshot=" + shot, url);
    assertThat(shot).exists();
    assertThat(Files.size(shot)).isGreaterThan(10_000);
  }

  /** Waits until a surviving member leads, other than {@code not}; returns its id. */
  private String awaitLeader(String not) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (true) {
      for (String id : servers.keySet()) {
        try {
          HttpTestClient.Reply r =
              http.send("GET", "http://" + httpAddress.get(id) + "/status", null);
          if (r.status() == 200 && r.body().contains("\"role\":\"LEADER\"") && !id.equals(not)) {
            return id;
          }
        } catch (IOException e) {
          // not answering yet
        }
      }
      assertThat(System.nanoTime()).as("a leader within 30 s").isLessThan(deadline);
      Thread.sleep(50);
    }
  }

  /** Runs headless Chromium on a page for a few seconds of its time; returns its output. */
  private static String chromium(String... args) throws Exception {
    List<String> cmd = new ArrayList<>();
    cmd.add(System.getProperty("flotilla.chromium", "chromium"));
    cmd.addAll(
        List.of(
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--hide-scrollbars",
            // The page polls every second: let it run several polls (the last one waits on the
            // killed member's time-out) before the DOM is read or the screenshot taken.
            "--virtual-time-budget=8000"));
    cmd.addAll(List.of(args));
    Process p;
    try {
      p = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.DISCARD).start();
    } catch (IOException e) {
      throw new IllegalStateException(
          "cannot run " + cmd.get(0) + " (install chromium, or set -Dflotilla.chromium=PATH)", e);
    }
    byte[] out = p.getInputStream().readAllBytes();
    assertThat(p.waitFor(60, TimeUnit.SECONDS)).as("chromium finished within 60 s").isTrue();
    assertThat(p.exitValue()).as("chromium's exit status").isZero();
    return new String(out, StandardCharsets.UTF_8);
  }
}
