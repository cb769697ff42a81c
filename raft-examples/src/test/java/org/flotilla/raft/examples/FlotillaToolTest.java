package org.flotilla.raft.examples;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.stream.Stream;
import org.flotilla.raft.RaftOptions;
import org.flotilla.raft.cluster.Member;
import org.flotilla.raft.examples.embedding.CounterService;
import org.flotilla.raft.examples.tool.FlotillaTool;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The {@code flotilla} tool as an operator runs it: online against key-value servers started with
 * {@code --admin-requests} and against the embedding example, offline on their data directories
 * once stopped, and the unsafe recovery of a group from one survivor.
 */
@Timeout(180)
class FlotillaToolTest {

  @TempDir Path dir;

  private final HttpTestClient http = new HttpTestClient(Duration.ofSeconds(10));
  private final Map<String, KvServer> servers = new LinkedHashMap<>();
  private final Map<String, String> raft = new LinkedHashMap<>();
  private final Map<String, String> httpUrl = new LinkedHashMap<>();
  private String members;

  @AfterEach
  void stop() {
    servers.values().forEach(KvServer::close);
  }

  /** What one run of the tool printed, and its exit status. */
  record Run(int status, String out, String err) {}

  static Run tool(String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    int status = FlotillaTool.run(args, new PrintWriter(out, true), new PrintWriter(err, true));
    return new Run(status, out.toString(), err.toString());
  }

  private void startCluster(String... extra) throws IOException {
    List<Integer> ports = HttpTestClient.freePorts(6);
    List<String> parts = new ArrayList<>();
    for (int i = 1; i <= 3; i++) {
      String id = "n" + i;
      String h = "127.0.0.1:" + ports.get(2 + i);
      raft.put(id, "127.0.0.1:" + ports.get(i - 1));
      parts.add(id + "=" + raft.get(id) + "@" + h);
      httpUrl.put(id, "http://" + h);
    }
    members = String.join(",", parts);
    for (String id : raft.keySet()) {
      start(id, extra);
    }
  }

  private void start(String id, String... extra) throws IOException {
    List<String> args =
        new ArrayList<>(
            List.of(
                "--id",
                id,
                "--data-dir",
                dir.resolve(id).toString(),
                "--members",
                members,
                "--election-timeout-ms",
                "300",
                "--heartbeat-ms",
                "30"));
    args.addAll(List.of(extra));
    servers.put(id, KvServer.start(ServerConfig.parse(args.toArray(String[]::new))));
  }

  private String leaderUrl() throws InterruptedException {
    String[] leader = new String[1];
    await(
        "a leader every node agrees on",
        () -> {
          for (String id : servers.keySet()) {
            try {
              HttpTestClient.Reply r = http.send("GET", httpUrl.get(id) + "/status", null);
              if (r.status() == 200 && r.body().contains("\"role\":\"LEADER\"")) {
                leader[0] = httpUrl.get(id);
                return true;
              }
            } catch (IOException e) {
              // not up yet
            } catch (InterruptedException e) {
              Thread.currentThread().interrupt();
              return false;
            }
          }
          return false;
        });
    return leader[0];
  }

  @Test
  void statusAndChangesOnlineThenVerifyAndDumpOffline() throws Exception {
    startCluster("--admin-requests");
    String leader = leaderUrl();
    assertThat(http.send("PUT", leader + "/kv/greeting", "hello, raft").status()).isEqualTo(200);

    Run status = tool("status", "-m", raft.get("n2"));
    assertThat(status.status()).as(status.err()).isZero();
    for (String id : raft.keySet()) {
      assertThat(status.out()).contains(id + "  " + raft.get(id));
    }
    assertThat(status.out()).contains("LEADER").doesNotContain("UNREACHABLE");

    Run members = tool("members", "-m", raft.get("n3"));
    assertThat(members.out()).contains("n1", "n2", "n3", "voter");

    Run transfer = tool("transfer-leader", "n3", "-m", raft.get("n1"));
    assertThat(transfer.status()).as(transfer.err()).isZero();
    assertThat(transfer.out()).contains("n3 leads");

    Run refused = tool("remove", "n9", "-m", raft.get("n1"));
    assertThat(refused.status()).isEqualTo(FlotillaTool.EXIT_FAILED);
    assertThat(refused.err()).contains("n9 is not a member");

    Run snapshot = tool("snapshot", "-m", raft.get("n1"));
    assertThat(snapshot.status()).as(snapshot.err()).isZero();
    assertThat(snapshot.out()).contains("snapshot at index");

    Run stranger = tool("--cluster-id", "other", "status", "-m", raft.get("n1"));
    assertThat(stranger.status()).isEqualTo(FlotillaTool.EXIT_FAILED);
    assertThat(stranger.err()).contains("cluster id 'other'");

    stop();
    Path n1 = dir.resolve("n1");
    Run verify = tool("log", "verify", "-d", n1.toString(), "--progress");
    assertThat(verify.status()).as(verify.out() + verify.err()).isZero();
    assertThat(verify.out()).contains("OK");
    assertThat(verify.err()).contains("verifying [", "100%");

    Run dump = tool("log", "dump", "-d", n1.toString(), "--decode", "kv");
    assertThat(dump.status()).isZero();
    assertThat(dump.out()).contains("NOOP", "COMMAND", "PUT greeting = \"hello, raft\"");

    assertThat(tool("meta", "show", "-d", n1.toString()).out()).contains("term: ");
    Run snapshots = tool("snapshot", "verify", "-d", n1.toString());
    assertThat(snapshots.status()).as(snapshots.out()).isZero();
    assertThat(snapshots.out()).contains("0 corrupt");

    // One flipped byte in a copy: reported, with the file and offset, and exit status 1.
    Path copy = dir.resolve("copy");
    copyTree(n1, copy);
    Path segment;
    try (Stream<Path> s = Files.list(copy.resolve("log"))) {
      segment = s.filter(p -> p.toString().endsWith(".log")).sorted().findFirst().orElseThrow();
    }
    flip(segment, 40);
    Run corrupt = tool("log", "verify", "-d", copy.toString());
    assertThat(corrupt.status()).isEqualTo(FlotillaTool.EXIT_FAILED);
    assertThat(corrupt.out()).contains("CORRUPT", segment.toString(), "offset 32");
  }

  @Test
  void aMemberWithoutAdminRequestsRefusesTheTool() throws Exception {
    startCluster();
    leaderUrl();
    Run r = tool("status", "-m", raft.get("n1"));
    assertThat(r.status()).isEqualTo(FlotillaTool.EXIT_FAILED);
    assertThat(r.err()).contains("admin requests are off");
  }

  @Test
  void statusOfTheEmbeddingExample() throws Exception {
    List<Integer> ports = HttpTestClient.freePorts(3);
    List<Member> voters = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      voters.add(Member.of("c" + (i + 1), "127.0.0.1:" + ports.get(i)));
    }
    RaftOptions options =
        RaftOptions.builder()
            .electionTimeout(Duration.ofMillis(300))
            .heartbeatInterval(Duration.ofMillis(30))
            .leaseDriftMargin(Duration.ofMillis(50))
            .build();
    List<CounterService> counters = new ArrayList<>();
    try {
      for (Member m : voters) {
        counters.add(new CounterService(m, voters, dir.resolve(m.id()), options));
      }
      String[] out = new String[1];
      await(
          "flotilla status names every member and a leader",
          () -> {
            Run r =
                tool(
                    "--cluster-id",
                    "counter",
                    "--group",
                    "default",
                    "status",
                    "-m",
                    voters.get(1).address());
            out[0] = r.out();
            return r.status() == 0 && r.out().contains("LEADER");
          });
      for (Member m : voters) {
        assertThat(out[0]).contains(m.id() + "  " + m.address());
      }
    } finally {
      counters.forEach(CounterService::close);
    }
  }

  @Test
  void recoverBringsAGroupBackFromOneSurvivor() throws Exception {
    startCluster();
    String leader = leaderUrl();
    assertThat(http.send("PUT", leader + "/kv/kept", "yes").status()).isEqualTo(200);
    await(
        "n1 applied the write",
        () -> {
          try {
            HttpTestClient.Reply r =
                http.send("GET", httpUrl.get("n1") + "/kv/kept?consistency=stale", null);
            return r.status() == 200 && r.body().equals("yes");
          } catch (IOException e) {
            return false;
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
          }
        });
    stop();
    servers.clear();

    Run refused =
        tool(
            "recover",
            "-d",
            dir.resolve("n1").toString(),
            "--force-members",
            "n1=" + raft.get("n1"));
    assertThat(refused.status()).isEqualTo(FlotillaTool.EXIT_USAGE);
    assertThat(refused.err()).contains("WARNING", "--yes-i-accept-data-loss");

    Run recover =
        tool(
            "recover",
            "-d",
            dir.resolve("n1").toString(),
            "--force-members",
            "n1=" + raft.get("n1"),
            "--yes-i-accept-data-loss");
    assertThat(recover.status()).as(recover.err()).isZero();
    assertThat(recover.out()).contains("forced configuration");

    // n2 and n3 are gone for good: n1 alone leads, with the write acknowledged before.
    start("n1");
    await(
        "n1 leads alone and serves the kept write",
        () -> {
          try {
            HttpTestClient.Reply r = http.send("GET", httpUrl.get("n1") + "/kv/kept", null);
            return r.status() == 200 && r.body().equals("yes");
          } catch (IOException e) {
            return false;
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
          }
        });
    assertThat(http.send("PUT", httpUrl.get("n1") + "/kv/after", "1").status()).isEqualTo(200);
  }

  private static void flip(Path file, long offset) throws IOException {
    try (FileChannel ch =
        FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
      java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(1);
      ch.read(b, offset);
      b.put(0, (byte) (b.get(0) ^ 1)).rewind();
      ch.write(b, offset);
    }
  }

  private static void copyTree(Path from, Path to) throws IOException {
    try (Stream<Path> all = Files.walk(from)) {
      for (Path p : (Iterable<Path>) all::iterator) {
        Path target = to.resolve(from.relativize(p).toString());
        if (Files.isDirectory(p)) {
          Files.createDirectories(target);
        } else if (!p.getFileName().toString().endsWith(".lock")) {
          Files.copy(p, target);
        }
      }
    }
  }

  private static void await(String what, BooleanSupplier condition) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (!condition.getAsBoolean()) {
      assertThat(System.nanoTime()).as("waiting for " + what).isLessThan(deadline);
      Thread.sleep(50);
    }
  }
}
