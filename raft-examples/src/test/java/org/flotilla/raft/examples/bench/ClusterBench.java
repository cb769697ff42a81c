package org.flotilla.raft.examples.bench;

import java.io.IOException;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.stream.Stream;
import org.HdrHistogram.Histogram;

/**
 * The cluster benchmark of WORKLOAD.md: for every row a fresh 3-member cluster of {@link
 * org.flotilla.raft.examples.KvBenchServer} JVMs on loopback (file log with fsync, Netty
 * transport), a closed-loop client in this JVM on the binary protocol, warm-up, then a measured
 * window; throughput, latency percentiles, errors and the CPU of every process per 1000 operations.
 * Prints progress while it runs and one table at the end; writes {@code results.csv} and {@code
 * chart.svg} to {@code -Dbench.out} (default {@code target/bench}).
 *
 * <p>Run it with {@code raft-examples/bin/bench.sh} (or {@code mvn -B -P bench -pl raft-examples
 * -am verify}). Properties: {@code bench.quick=true} (short windows), {@code bench.rows}
 * (comma-separated among {@code put1,put16,put256,read16,memory}), {@code bench.warmup}, {@code
 * bench.measure}, {@code bench.preload} (seconds), {@code bench.peersResults} (the {@code results}
 * directory of a bench-peers run, to chart and compare), {@code bench.serverJvmArgs} (extra flags
 * for the member JVMs, e.g. JFR).
 */
public final class ClusterBench {

  private ClusterBench() {}

  private static final PrintStream OUT = System.out;

  /** One measured row of the table. */
  record Row(
      String op,
      int c,
      double opsPerSec,
      long p50,
      long p99,
      long p999,
      long errors,
      double cpuClient,
      double cpuServers,
      double busyPct,
      long ops) {
    double cpuPer1000() {
      return ops == 0 ? Double.NaN : (cpuClient + cpuServers) / ops * 1000;
    }
  }

  /**
   * Runs the benchmark.
   *
   * @param args ignored; settings are system properties
   * @throws Exception if a cluster cannot be started
   */
  public static void main(String[] args) throws Exception {
    boolean quick = Boolean.getBoolean("bench.quick");
    int warmup = Integer.getInteger("bench.warmup", quick ? 2 : 10);
    int measure = Integer.getInteger("bench.measure", quick ? 4 : 20);
    int preload = Integer.getInteger("bench.preload", quick ? 1 : 5);
    int prewarm = Integer.getInteger("bench.prewarm", quick ? 3 : 90);
    String rowsProp = System.getProperty("bench.rows", "");
    List<String> rows =
        List.of(
            (rowsProp.isBlank() ? "put1,put16,put256,read16,memory,tableB" : rowsProp)
                .split("\\s*,\\s*", -1));
    Path out = Path.of(System.getProperty("bench.out", "target/bench")).toAbsolutePath();
    Files.createDirectories(out);
    long t0 = System.nanoTime();
    OUT.printf(
        Locale.ROOT,
        "== Flotilla cluster benchmark (WORKLOAD.md)%s: rows %s, warm-up %d s, measure %d s%n",
        quick ? " QUICK" : "",
        rows,
        warmup,
        measure);
    OUT.println("== load before: " + loadAverage());

    Path probeDir = out.resolve("data/limits");
    Histogram fs = Limits.fsync(probeDir, quick ? 300 : 2000, 100);
    Histogram rtt = Limits.roundTrip(quick ? 2000 : 20000, 2000);
    deleteTree(probeDir);
    double floorMs = (fs.getValueAtPercentile(50) + rtt.getValueAtPercentile(50)) / 1000.0;
    OUT.printf(
        Locale.ROOT,
        "== limits: fsync(4 KiB append, force(false)) p50 %d us p99 %d us; loopback RTT p50 %d us"
            + " p99 %d us; floor fsync+RTT = %.3f ms%n",
        fs.getValueAtPercentile(50),
        fs.getValueAtPercentile(99),
        rtt.getValueAtPercentile(50),
        rtt.getValueAtPercentile(99),
        floorMs);

    List<Row> results = new ArrayList<>();
    List<Row> tableB = new ArrayList<>();
    String memory = null;
    for (String r : rows) {
      if (r.equals("memory")) {
        memory = memoryRow(out);
        continue;
      }
      if (r.equals("tableB")) {
        tableB.addAll(runTableB(out, warmup, measure, prewarm));
        continue;
      }
      boolean read = r.startsWith("read");
      int c = Integer.parseInt(r.substring(read ? 4 : 3));
      Row row = runRow(out, read, c, warmup, measure, preload);
      results.add(row);
      printResult("RESULT", row);
    }
    OUT.println("== load after: " + loadAverage());
    OUT.printf(Locale.ROOT, "== done in %.0f s%n%n", (System.nanoTime() - t0) / 1e9);

    if (!results.isEmpty()) {
      OUT.println("### A. Fresh cluster per row (WORKLOAD.md)");
      printTable(results, fs, rtt, floorMs);
    }
    if (!tableB.isEmpty()) {
      OUT.printf(
          Locale.ROOT,
          "%n### B. One cluster after a %d s untimed pre-warm (C=16 writes), in the order C=1,"
              + " 16, 256, read%n",
          prewarm);
      printTable(tableB, fs, rtt, floorMs);
      writeCsv(out.resolve("results-b.csv"), tableB, fs, rtt);
    }
    if (memory != null) {
      OUT.println(memory);
    }
    writeCsv(out.resolve("results.csv"), results, fs, rtt);
    List<Chart.Series> series = new ArrayList<>();
    series.add(Chart.Series.of("flotilla", results));
    String peers = System.getProperty("bench.peersResults", "");
    if (!peers.isBlank()) {
      series.addAll(Chart.Series.fromPeers(Path.of(peers)));
      OUT.println();
      OUT.println("### A beside the peers' table A");
      OUT.print(Chart.comparison(results, Path.of(peers), "spec"));
      if (!tableB.isEmpty()) {
        OUT.println();
        OUT.println("### B beside the peers' table B");
        OUT.print(Chart.comparison(tableB, Path.of(peers), "warm"));
      }
    }
    Path svg = out.resolve("chart.svg");
    Files.writeString(svg, Chart.svg(series), StandardCharsets.UTF_8);
    OUT.println("wrote " + out.resolve("results.csv") + " and " + svg);
    System.exit(0);
  }

  private static void printResult(String label, Row row) {
    OUT.printf(
        Locale.ROOT,
        "%s %s C=%d ops/s=%.0f p50=%dus p99=%dus p999=%dus errors=%d cpu_s/1000ops=%.4f"
            + " (client %.2fs, servers %.2fs) machine_busy=%.0f%%%n",
        label,
        row.op(),
        row.c(),
        row.opsPerSec(),
        row.p50(),
        row.p99(),
        row.p999(),
        row.errors(),
        row.cpuPer1000(),
        row.cpuClient(),
        row.cpuServers(),
        row.busyPct());
  }

  private static void printTable(List<Row> rows, Histogram fs, Histogram rtt, double floorMs) {
    StringBuilder table = new StringBuilder();
    table.append(
        "| op | C | ops/s | p50 ms | p99 ms | p99.9 ms | CPU s / 1000 ops (client + servers) |"
            + " machine busy % | errors |\n");
    table.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    for (Row row : rows) {
      table.append(
          String.format(
              Locale.ROOT,
              "| %s | %d | %.0f | %.2f | %.2f | %.2f | %.4f (%.3f + %.3f) | %.1f | %d |%n",
              row.op(),
              row.c(),
              row.opsPerSec(),
              row.p50() / 1000.0,
              row.p99() / 1000.0,
              row.p999() / 1000.0,
              row.cpuPer1000(),
              row.cpuClient(),
              row.cpuServers(),
              row.busyPct(),
              row.errors()));
    }
    OUT.print(table);
    for (Row row : rows) {
      if (row.op().equals("put") && row.c() == 1) {
        OUT.printf(
            Locale.ROOT,
            "%nC=1 p50 %.3f ms against the floor fsync p50 %.3f ms + loopback RTT p50 %.3f ms ="
                + " %.3f ms: %.2fx the floor%n%n",
            row.p50() / 1000.0,
            fs.getValueAtPercentile(50) / 1000.0,
            rtt.getValueAtPercentile(50) / 1000.0,
            floorMs,
            row.p50() / 1000.0 / floorMs);
      }
    }
  }

  private static String loadAverage() {
    try {
      return Files.readString(Path.of("/proc/loadavg")).trim();
    } catch (IOException e) {
      return "?";
    }
  }

  /** Runs one row on a fresh cluster. */
  private static Row runRow(Path out, boolean read, int c, int warmup, int measure, int preload)
      throws Exception {
    String name = (read ? "read" : "put") + "-c" + c;
    try (Cluster cluster = Cluster.start(out, name)) {
      InetSocketAddress leader = cluster.awaitLeaderAndFirstPut();
      try (BenchClient client = new BenchClient(leader, Math.min(c, 4))) {
        client.start(c, false, false);
        if (read) {
          Thread.sleep(preload * 1000L);
          client.setReads(true);
        }
        return warmUpAndMeasure(client, cluster, name, read, c, warmup, measure);
      }
    }
  }

  /**
   * A warm-up window, then the measured one, then stops the client (waiting up to 10 s for its
   * outstanding requests); prints the warm-up's figures and any error or leftover.
   */
  private static Row warmUpAndMeasure(
      BenchClient client,
      Cluster cluster,
      String name,
      boolean read,
      int c,
      int warmup,
      int measure)
      throws InterruptedException {
    Row w = window(client, cluster, read, c, warmup);
    OUT.printf(
        Locale.ROOT,
        "[%s] warm-up: %.0f ops/s, p50 %d us, errors %d%n",
        name,
        w.opsPerSec(),
        w.p50(),
        w.errors());
    Row m = window(client, cluster, read, c, measure);
    int left = client.stop(10_000);
    if (m.errors() > 0) {
      OUT.printf("[%s] last error: %s%n", name, client.lastError());
    }
    if (left > 0) {
      OUT.printf("[%s] %d requests still outstanding after 10 s%n", name, left);
    }
    return m;
  }

  /**
   * Table B of WORKLOAD.md: one cluster, {@code prewarm} seconds of untimed C = 16 PUTs so that the
   * JIT has settled, then a warm-up and a measured window for PUTs at C = 1, 16 and 256 and for
   * linearizable reads at C = 16, in that order, each with a client of its own.
   */
  private static List<Row> runTableB(Path out, int warmup, int measure, int prewarm)
      throws Exception {
    int[] writes = {1, 16, 256};
    // pre-warm, four phases with their drain, and a minute of margin for start and stops
    int lifetime = prewarm + (writes.length + 1) * (warmup + measure + 15) + 60;
    List<Row> rows = new ArrayList<>();
    try (Cluster cluster = Cluster.start(out, "warm", lifetime)) {
      InetSocketAddress leader = cluster.awaitLeaderAndFirstPut();
      try (BenchClient client = new BenchClient(leader, 4)) {
        client.start(16, false, false);
        Thread.sleep(prewarm * 1000L);
        int left = client.stop(10_000);
        OUT.printf(
            Locale.ROOT,
            "[warm] pre-warm done (%d s, %d errors, %d outstanding at the end)%n",
            prewarm,
            client.counters()[1],
            left);
      }
      for (int c : writes) {
        rows.add(tableBPhase(cluster, leader, false, c, warmup, measure));
      }
      rows.add(tableBPhase(cluster, leader, true, 16, warmup, measure));
    }
    return rows;
  }

  private static Row tableBPhase(
      Cluster cluster, InetSocketAddress leader, boolean read, int c, int warmup, int measure)
      throws Exception {
    String name = "warm-" + (read ? "read" : "put") + "-c" + c;
    try (BenchClient client = new BenchClient(leader, Math.min(c, 4))) {
      client.start(c, read, false);
      Row m = warmUpAndMeasure(client, cluster, name, read, c, warmup, measure);
      printResult("RESULT-B", m);
      return m;
    }
  }

  /** Measures one window: the completions inside it, errors, the CPU of every process. */
  private static Row window(BenchClient client, Cluster cluster, boolean read, int c, int seconds)
      throws InterruptedException {
    long[] pids = cluster.pids();
    long self = ProcessHandle.current().pid();
    long self0 = ProcStats.cpuNanos(self);
    long[] srv0 = new long[pids.length];
    for (int i = 0; i < pids.length; i++) {
      srv0[i] = ProcStats.cpuNanos(pids[i]);
    }
    long[] m0 = ProcStats.machineJiffies();
    long[] k0 = client.markWindow();
    long t0 = System.nanoTime();
    Thread.sleep(seconds * 1000L);
    Histogram h = client.intervalHistogram();
    long t1 = System.nanoTime();
    long[] k1 = client.counters();
    long self1 = ProcStats.cpuNanos(self);
    long srv = 0;
    for (int i = 0; i < pids.length; i++) {
      srv += ProcStats.cpuNanos(pids[i]) - srv0[i];
    }
    long[] m1 = ProcStats.machineJiffies();
    double secs = (t1 - t0) / 1e9;
    long ops = h.getTotalCount();
    long dt = m1[1] - m0[1];
    return new Row(
        read ? "lin. read" : "put",
        c,
        ops / secs,
        h.getValueAtPercentile(50),
        h.getValueAtPercentile(99),
        h.getValueAtPercentile(99.9),
        k1[1] - k0[1],
        (self1 - self0) / 1e9,
        srv / 1e9,
        dt > 0 ? 100.0 * (m1[0] - m0[0]) / dt : 0,
        ops);
  }

  /**
   * Offers 100,000 PUTs at once to the leader of a fresh cluster and reports how many it took and
   * refused, and the leader's peak heap.
   */
  private static String memoryRow(Path out) throws Exception {
    int n = Integer.getInteger("bench.memoryOps", 100_000);
    try (Cluster cluster = Cluster.start(out, "memory")) {
      InetSocketAddress leader = cluster.awaitLeaderAndFirstPut();
      try (BenchClient client = new BenchClient(leader, 4)) {
        System.gc();
        byte[] before =
            client.call(BenchProtocol.OP_HEAP, new byte[] {1}).get(10, TimeUnit.SECONDS);
        long t0 = System.nanoTime();
        client.start(n, false, true);
        int left = client.awaitIdle(Long.getLong("bench.memoryWaitMs", 60_000));
        double secs = (System.nanoTime() - t0) / 1e9;
        byte[] after = client.call(BenchProtocol.OP_HEAP, new byte[] {0}).get(10, TimeUnit.SECONDS);
        long[] k = client.counters();
        long peak = ByteBuffer.wrap(after).getLong();
        String s =
            String.format(
                Locale.ROOT,
                "MEMORY offered %d PUTs at once: %d acknowledged, %d refused (%s), %d unanswered"
                    + " after %.1f s; leader heap before %.0f MiB, peak %.0f MiB (sum of G1 heap"
                    + " pools' peaks, -Xmx2g)",
                n,
                k[0],
                k[1],
                k[1] > 0 ? truncate(client.lastError(), 120) : "none",
                left,
                secs,
                ByteBuffer.wrap(before).getLong(8) / 1048576.0,
                peak / 1048576.0);
        OUT.println(s);
        return s;
      }
    }
  }

  private static String truncate(String s, int n) {
    return s.length() <= n ? s : s.substring(0, n) + "...";
  }

  private static void writeCsv(Path f, List<Row> rows, Histogram fs, Histogram rtt)
      throws IOException {
    StringBuilder sb = new StringBuilder();
    sb.append(
        "op,c,ops_per_sec,p50_us,p99_us,p999_us,errors,cpu_client_s,cpu_servers_s,"
            + "cpu_s_per_1000_ops,machine_busy_pct,when\n");
    String when = Instant.now().toString();
    for (Row r : rows) {
      sb.append(
          String.format(
              Locale.ROOT,
              "%s,%d,%.1f,%d,%d,%d,%d,%.3f,%.3f,%.4f,%.1f,%s%n",
              r.op(),
              r.c(),
              r.opsPerSec(),
              r.p50(),
              r.p99(),
              r.p999(),
              r.errors(),
              r.cpuClient(),
              r.cpuServers(),
              r.cpuPer1000(),
              r.busyPct(),
              when));
    }
    sb.append(
        String.format(
            Locale.ROOT,
            "# limits fsync_p50_us=%d fsync_p99_us=%d rtt_p50_us=%d rtt_p99_us=%d%n",
            fs.getValueAtPercentile(50),
            fs.getValueAtPercentile(99),
            rtt.getValueAtPercentile(50),
            rtt.getValueAtPercentile(99)));
    Files.writeString(f, sb, StandardCharsets.UTF_8);
  }

  static void deleteTree(Path p) throws IOException {
    if (!Files.exists(p)) {
      return;
    }
    try (Stream<Path> s = Files.walk(p)) {
      for (Path x : s.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(x);
      }
    }
  }

  /** Three member JVMs, children of this one, with fresh data directories. */
  static final class Cluster implements AutoCloseable {
    private final List<Process> procs = new ArrayList<>();
    private final List<Path> logs = new ArrayList<>();
    private final List<InetSocketAddress> clientAddrs = new ArrayList<>();
    private final Path data;
    private final String name;
    private final String mainClass;
    // the member's arguments between its client port and the member list
    private final List<String> extraArgs;

    private Cluster(Path data, String name, String mainClass, List<String> extraArgs) {
      this.data = data;
      this.name = name;
      this.mainClass = mainClass;
      this.extraArgs = extraArgs;
    }

    static Cluster start(Path out, String name) throws Exception {
      return start(out, name, Integer.getInteger("bench.childMaxSec", 240));
    }

    /** Starts a cluster whose members exit on their own after {@code maxSeconds}. */
    static Cluster start(Path out, String name, int maxSeconds) throws Exception {
      return start(out, name, maxSeconds, "org.flotilla.raft.examples.KvBenchServer", List.of());
    }

    /**
     * Starts a cluster of {@code mainClass} members ({@code ID DATA_DIR CLIENT_PORT extraArgs...
     * MEMBERS}) that exit on their own after {@code maxSeconds}.
     */
    static Cluster start(
        Path out, String name, int maxSeconds, String mainClass, List<String> extraArgs)
        throws Exception {
      Path data = out.resolve("data").resolve(name);
      deleteTree(data);
      Files.createDirectories(data);
      Cluster c = new Cluster(data, name, mainClass, extraArgs);
      try {
        c.launch(out, maxSeconds);
      } catch (Exception | Error e) {
        c.close();
        throw e;
      }
      return c;
    }

    private void launch(Path out, int maxSeconds) throws Exception {
      // Six distinct ports from one call: two calls could hand out the same port twice.
      int[] ports = freePorts(6);
      int[] raft = Arrays.copyOfRange(ports, 0, 3);
      int[] client = Arrays.copyOfRange(ports, 3, 6);
      StringBuilder members = new StringBuilder();
      for (int i = 0; i < 3; i++) {
        if (i > 0) {
          members.append(',');
        }
        members.append("n").append(i + 1).append("=127.0.0.1:").append(raft[i]);
      }
      String java = ProcessHandle.current().info().command().orElse("java");
      Path logDir = Files.createDirectories(out.resolve("logs"));
      for (int i = 0; i < 3; i++) {
        String id = "n" + (i + 1);
        List<String> cmd = new ArrayList<>();
        cmd.add(java);
        cmd.add("-Xms2g");
        cmd.add("-Xmx2g");
        cmd.add("-Djava.util.concurrent.ForkJoinPool.common.parallelism=2");
        cmd.add("-Dbench.childMaxSec=" + maxSeconds);
        String extra = System.getProperty("bench.serverJvmArgs", "").trim();
        if (!extra.isEmpty()) {
          for (String a : extra.split("\\s+", -1)) {
            cmd.add(a.replace("{id}", name + "-" + id));
          }
        }
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        cmd.add(mainClass);
        cmd.add(id);
        cmd.add(data.resolve(id).toString());
        cmd.add(String.valueOf(client[i]));
        cmd.addAll(extraArgs);
        cmd.add(members.toString());
        Path log = logDir.resolve(name + "-" + id + ".log");
        procs.add(
            new ProcessBuilder(cmd)
                .redirectErrorStream(true)
                .redirectOutput(log.toFile())
                .redirectInput(ProcessBuilder.Redirect.PIPE)
                .start());
        logs.add(log);
        clientAddrs.add(new InetSocketAddress(InetAddress.getLoopbackAddress(), client[i]));
      }
      long deadline = System.currentTimeMillis() + 60_000;
      for (int i = 0; i < 3; i++) {
        while (!Files.readString(logs.get(i)).contains("READY")) {
          if (!procs.get(i).isAlive() || System.currentTimeMillis() > deadline) {
            throw new IllegalStateException(
                "member " + (i + 1) + " did not start; see " + logs.get(i));
          }
          Thread.sleep(50);
        }
      }
    }

    private static int[] freePorts(int n) throws IOException {
      int[] ports = new int[n];
      List<ServerSocket> open = new ArrayList<>();
      try {
        for (int i = 0; i < n; i++) {
          ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
          open.add(s);
          ports[i] = s.getLocalPort();
        }
      } finally {
        for (ServerSocket s : open) {
          s.close();
        }
      }
      return ports;
    }

    long[] pids() {
      return procs.stream().mapToLong(Process::pid).toArray();
    }

    List<InetSocketAddress> clientAddresses() {
      return List.copyOf(clientAddrs);
    }

    /** Finds the leader (once) and waits until one PUT has been acknowledged. */
    InetSocketAddress awaitLeaderAndFirstPut() throws Exception {
      long start = System.currentTimeMillis();
      long deadline = start + 60_000;
      Exception lastFailure = null;
      while (System.currentTimeMillis() < deadline) {
        for (InetSocketAddress a : clientAddrs) {
          try (BenchClient probe = new BenchClient(a, 1)) {
            byte[] r = probe.call(BenchProtocol.OP_IS_LEADER, new byte[0]).get(5, TimeUnit.SECONDS);
            if (r.length == 1 && r[0] == 1 && firstPut(probe, deadline)) {
              OUT.printf(
                  Locale.ROOT,
                  "[%s] leader %s, first PUT acknowledged after %d ms%n",
                  name,
                  a,
                  System.currentTimeMillis() - start);
              return a;
            }
          } catch (ExecutionException | TimeoutException | IOException e) {
            lastFailure = e; // not ready yet
          }
        }
        Thread.sleep(200);
      }
      throw new IllegalStateException("no leader acknowledged a PUT within 60 s", lastFailure);
    }

    private static boolean firstPut(BenchClient probe, long deadline) throws Exception {
      byte[] body = new byte[BenchProtocol.KEY_BYTES + BenchProtocol.VALUE_BYTES];
      BenchProtocol.randomKey(body, 0);
      while (System.currentTimeMillis() < deadline) {
        try {
          probe.call(BenchProtocol.OP_PUT, body).get(5, TimeUnit.SECONDS);
          return true;
        } catch (ExecutionException | TimeoutException e) {
          if (String.valueOf(e.getCause()).contains("NotLeader")) {
            return false;
          }
          Thread.sleep(100);
        }
      }
      return false;
    }

    @Override
    public void close() throws IOException {
      for (Process p : procs) {
        p.destroy(); // SIGTERM to this child only
      }
      for (Process p : procs) {
        try {
          if (!p.waitFor(10, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            p.waitFor(5, TimeUnit.SECONDS);
          }
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      }
      deleteTree(data);
    }
  }
}
