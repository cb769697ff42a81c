package org.flotilla.raft.examples.bench;

import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReferenceArray;
import org.HdrHistogram.Histogram;

/**
 * The multi-group workload of WORKLOAD.md ("Multi-group workload") for Flotilla: 3 member JVMs
 * ({@code MultiGroupBenchServer}), each a {@code RaftHost} with the same G groups.
 *
 * <p>Idle rows (G from {@code -Dbench.mg.idle}, default "1,100,1000"): start-up until every group
 * has a leader on every member, leadership spread (group g to member g mod 3), one PUT per group
 * ("ready"), then 30 s without traffic: CPU seconds of each member over those 30 s, live heap after
 * a full GC, threads and RSS, and how many groups changed leader. Active rows ({@code
 * -Dbench.mg.active}, default "1,64"; empty to skip): after the same start-up, C = 256 closed-loop
 * PUTs, each to the leader of its key's group (key number mod G), 10 s of warm-up then 20 s
 * measured.
 *
 * <pre>
 * mvn -B -P bench -pl raft-examples -am verify \
 *     -Dbench.main=org.flotilla.raft.examples.bench.MultiGroupBench [-Dbench.mg.idle=1,100,1000,10000]
 * </pre>
 */
public final class MultiGroupBench {

  private MultiGroupBench() {}

  private static final PrintStream OUT = System.out;
  private static final String SERVER = "org.flotilla.raft.examples.MultiGroupBenchServer";

  /**
   * Runs the rows and prints them.
   *
   * @param args unused
   * @throws Exception if a cluster fails
   */
  public static void main(String[] args) throws Exception {
    Path out = Path.of(System.getProperty("bench.out", "target/bench"));
    Files.createDirectories(out);
    List<String> rows = new ArrayList<>();
    for (String g : System.getProperty("bench.mg.idle", "1,100,1000").split(",", -1)) {
      if (!g.isBlank()) {
        rows.add(idle(out, Integer.parseInt(g.trim())));
      }
    }
    for (String g : System.getProperty("bench.mg.active", "1,64").split(",", -1)) {
      if (!g.isBlank()) {
        rows.add(active(out, Integer.parseInt(g.trim()), 256));
      }
    }
    OUT.println();
    OUT.println("Multi-group results (" + loadAverage() + "):");
    rows.forEach(OUT::println);
    Files.writeString(out.resolve("multigroup.txt"), String.join("\n", rows) + "\n");
  }

  /** A started cluster of G groups, spread and ready. */
  private record Started(
      ClusterBench.Cluster cluster,
      BenchClient admin,
      long leadersMs,
      long readyMs,
      String spread) {}

  private static Started startUp(Path out, String name, int groups) throws Exception {
    long t0 = System.nanoTime();
    int maxSeconds = Integer.getInteger("bench.childMaxSec", 900);
    ClusterBench.Cluster cluster =
        ClusterBench.Cluster.start(out, name, maxSeconds, SERVER, List.of(String.valueOf(groups)));
    BenchClient admin = new BenchClient(cluster.clientAddresses(), 1, k -> 0);
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(600);
    while (true) {
      boolean all = true;
      for (int m = 0; m < 3; m++) {
        String[] s = text(admin, m, BenchProtocol.OP_STATUS).split(" ", -1);
        all &= Integer.parseInt(s[1]) == groups && Integer.parseInt(s[3]) == groups;
      }
      if (all) {
        break;
      }
      if (System.nanoTime() > deadline) {
        throw new IllegalStateException(name + ": not every group has a leader within 600 s");
      }
      Thread.sleep(100);
    }
    long leadersMs = (System.nanoTime() - t0) / 1_000_000;
    String spread = "";
    for (int round = 0; round < 5; round++) {
      for (int m = 0; m < 3; m++) {
        text(admin, m, BenchProtocol.OP_TRANSFER);
      }
      spread = spread(admin, groups);
      if (spread.endsWith(" 0 misplaced")) {
        break;
      }
    }
    for (int m = 0; m < 3; m++) {
      text(admin, m, BenchProtocol.OP_PUT_GROUP);
    }
    long readyMs = (System.nanoTime() - t0) / 1_000_000;
    return new Started(cluster, admin, leadersMs, readyMs, spread);
  }

  private static String text(BenchClient c, int member, byte op) throws Exception {
    return new String(
        c.call(member, op, new byte[0]).get(600, TimeUnit.SECONDS), StandardCharsets.UTF_8);
  }

  /** Who leads each group, as the members say: {@code leader[g]} is a member index or -1. */
  private static int[] leaders(BenchClient admin, int groups) throws Exception {
    int[] leader = new int[groups];
    java.util.Arrays.fill(leader, -1);
    for (int m = 0; m < 3; m++) {
      String s = text(admin, m, BenchProtocol.OP_LEADS);
      if (!s.isEmpty()) {
        for (String g : s.split(",", -1)) {
          leader[Integer.parseInt(g)] = m;
        }
      }
    }
    return leader;
  }

  private static String spread(BenchClient admin, int groups) throws Exception {
    int[] leader = leaders(admin, groups);
    int[] count = new int[3];
    int misplaced = 0;
    for (int g = 0; g < groups; g++) {
      if (leader[g] >= 0) {
        count[leader[g]]++;
      }
      if (leader[g] != g % 3) {
        misplaced++;
      }
    }
    return count[0] + "/" + count[1] + "/" + count[2] + " led, " + misplaced + " misplaced";
  }

  private static String idle(Path out, int groups) throws Exception {
    Started s = startUp(out, "idle-" + groups, groups);
    try (ClusterBench.Cluster cluster = s.cluster();
        BenchClient admin = s.admin()) {
      // WORKLOAD.md waits 1 s; -Dbench.mg.settleSec waits longer, to see the steady state.
      Thread.sleep(1_000L * Integer.getInteger("bench.mg.settleSec", 1));
      int[] before = leaders(admin, groups);
      long[] pids = cluster.pids();
      long[] cpu0 = new long[3];
      java.util.Map<String, Long> threads0 = ProcStats.threadCpuNanos(pids[0]);
      for (int m = 0; m < 3; m++) {
        cpu0[m] = ProcStats.cpuNanos(pids[m]);
      }
      Thread.sleep(30_000);
      java.util.Map<String, Long> threads1 = ProcStats.threadCpuNanos(pids[0]);
      double cpu = 0;
      StringBuilder perMember = new StringBuilder();
      for (int m = 0; m < 3; m++) {
        double c = (ProcStats.cpuNanos(pids[m]) - cpu0[m]) / 1e9;
        cpu += c;
        perMember.append(String.format(Locale.ROOT, "%s%.2f", m == 0 ? "" : "/", c));
      }
      int[] after = leaders(admin, groups);
      int changed = 0;
      for (int g = 0; g < groups; g++) {
        if (before[g] != after[g] || after[g] < 0) {
          changed++;
        }
      }
      long heap = 0;
      StringBuilder threads = new StringBuilder();
      StringBuilder rss = new StringBuilder();
      String quiesced = "";
      for (int m = 0; m < 3; m++) {
        heap +=
            java.nio.ByteBuffer.wrap(admin.call(m, BenchProtocol.OP_GC_HEAP, new byte[0]).get())
                .getLong();
        String status = Files.readString(Path.of("/proc/" + pids[m] + "/status"));
        threads.append(m == 0 ? "" : "/").append(field(status, "Threads:"));
        rss.append(m == 0 ? "" : "/").append(Long.parseLong(field(status, "VmRSS:")) / 1024);
        String[] st = text(admin, m, BenchProtocol.OP_STATUS).split(" ", -1);
        quiesced += (m == 0 ? "" : "/") + st[7];
      }
      return String.format(
          Locale.ROOT,
          "idle G=%d: CPU %.2f s in 30 s (members %s), live heap %.1f MiB (%.1f KiB per group"
              + " replica), threads %s, RSS %s MiB, all leaders after %.1f s, ready after %.1f"
              + " s, spread %s, quiesced %s, %d groups changed leader or had none; member 1's"
              + " busiest threads in the window (CPU ms): %s",
          groups,
          cpu,
          perMember,
          heap / 1048576.0,
          heap / 1024.0 / (3.0 * groups),
          threads,
          rss,
          s.leadersMs() / 1000.0,
          s.readyMs() / 1000.0,
          s.spread(),
          quiesced,
          changed,
          busiest(threads0, threads1));
    }
  }

  /** The five threads (by name) that used the most CPU between two readings, in ms. */
  private static String busiest(
      java.util.Map<String, Long> before, java.util.Map<String, Long> after) {
    return after.entrySet().stream()
        .map(
            e ->
                java.util.Map.entry(e.getKey(), e.getValue() - before.getOrDefault(e.getKey(), 0L)))
        .sorted((a, b) -> Long.compare(b.getValue(), a.getValue()))
        .limit(5)
        .map(e -> e.getKey() + " " + e.getValue() / 1_000_000)
        .collect(java.util.stream.Collectors.joining(", "));
  }

  private static String field(String status, String name) {
    for (String line : status.split("\n", -1)) {
      if (line.startsWith(name)) {
        return line.substring(name.length()).trim().split("\\s+", -1)[0];
      }
    }
    return "?";
  }

  private static String active(Path out, int groups, int c) throws Exception {
    Started s = startUp(out, "active-" + groups, groups);
    try (ClusterBench.Cluster cluster = s.cluster();
        BenchClient admin = s.admin()) {
      AtomicReferenceArray<Integer> leaderOf = new AtomicReferenceArray<>(groups);
      refresh(admin, leaderOf, groups);
      try (BenchClient client =
          new BenchClient(
              cluster.clientAddresses(),
              4,
              key -> {
                Integer m = leaderOf.get(key % groups);
                return m == null ? 0 : m;
              })) {
        Thread refresher =
            new Thread(
                () -> {
                  while (!Thread.currentThread().isInterrupted()) {
                    try {
                      Thread.sleep(1_000);
                      refresh(admin, leaderOf, groups);
                    } catch (InterruptedException e) {
                      return;
                    } catch (Exception e) {
                      OUT.println("leader refresh failed: " + e);
                    }
                  }
                },
                "leader-refresh");
        refresher.setDaemon(true);
        refresher.start();
        long[] pids = cluster.pids();
        client.start(c, false, false);
        Thread.sleep(10_000);
        long[] w0 = client.markWindow();
        long cpu0 = ProcessHandle.current().info().totalCpuDuration().orElseThrow().toNanos();
        for (long pid : pids) {
          cpu0 += ProcStats.cpuNanos(pid);
        }
        long t0 = System.nanoTime();
        Thread.sleep(20_000);
        long[] w1 = client.counters();
        double secs = (System.nanoTime() - t0) / 1e9;
        long cpu1 = ProcessHandle.current().info().totalCpuDuration().orElseThrow().toNanos();
        for (long pid : pids) {
          cpu1 += ProcStats.cpuNanos(pid);
        }
        Histogram h = client.intervalHistogram();
        refresher.interrupt();
        client.stop(10_000);
        long ok = w1[0] - w0[0];
        return String.format(
            Locale.ROOT,
            "active G=%d C=%d: %.0f writes/s, p50 %.2f ms, p99 %.2f ms, p99.9 %.2f ms, %d errors,"
                + " %.3f CPU s per 1000 writes (4 JVMs), spread %s",
            groups,
            c,
            ok / secs,
            h.getValueAtPercentile(50) / 1000.0,
            h.getValueAtPercentile(99) / 1000.0,
            h.getValueAtPercentile(99.9) / 1000.0,
            w1[1] - w0[1],
            (cpu1 - cpu0) / 1e9 / Math.max(1, ok) * 1000,
            s.spread());
      }
    }
  }

  private static void refresh(BenchClient admin, AtomicReferenceArray<Integer> leaderOf, int groups)
      throws Exception {
    int[] leader = leaders(admin, groups);
    for (int g = 0; g < groups; g++) {
      if (leader[g] >= 0) {
        leaderOf.set(g, leader[g]);
      }
    }
  }

  private static String loadAverage() {
    try {
      return "load average " + Files.readString(Path.of("/proc/loadavg")).trim();
    } catch (java.io.IOException e) {
      return "load average unknown";
    }
  }
}
