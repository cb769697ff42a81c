package org.flotilla.raft.examples.bench;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import javax.xml.parsers.DocumentBuilderFactory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.w3c.dom.Document;

/** The cluster benchmark's accounting and report helpers (the benchmark itself is not a test). */
class BenchToolsTest {

  @Test
  void cpuTimeIsUtimePlusStimeCountedAfterTheCommandName() {
    // A command name with spaces and parentheses must not shift the fields.
    String stat =
        "4242 (java (x) y) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 75 0 0 20 0 30 0 123 456 789";
    assertThat(ProcStats.parseCpuNanos(stat, 100)).isEqualTo((250 + 75) * 10_000_000L);
  }

  @Test
  void machineBusyExcludesIdleAndIowait() {
    long[] m = ProcStats.parseMachine("cpu  100 5 50 800 40 3 2 0 0 0");
    assertThat(m[1]).isEqualTo(1000);
    assertThat(m[0]).isEqualTo(1000 - 800 - 40);
  }

  @Test
  void keysAreTheWorkloadsSixteenBytes() {
    byte[] k = new byte[BenchProtocol.KEY_BYTES];
    for (int i = 0; i < 1000; i++) {
      BenchProtocol.randomKey(k, 0);
      String s = new String(k, StandardCharsets.US_ASCII);
      assertThat(s).matches("k[0-9]{15}");
      assertThat(Integer.parseInt(s.substring(1))).isBetween(0, BenchProtocol.KEY_SPACE - 1);
    }
  }

  @Test
  void chartIsWellFormedSvgWithOneLinePerLibraryAndPercentile(@TempDir Path dir) throws Exception {
    Files.writeString(
        dir.resolve("jraft-write-c16.properties"),
        """
        variant=spec
        peer=jraft
        mode=write
        c=16
        ops_per_sec=5646.0
        p50_us=2480
        p99_us=8170
        cpu_s_per_1000_ops=0.3191
        """);
    Files.writeString(
        dir.resolve("jraft-warm-write-c16.properties"),
        """
        variant=warm
        peer=jraft
        mode=write
        c=16
        ops_per_sec=1
        p50_us=1
        p99_us=1
        """);
    List<ClusterBench.Row> rows =
        List.of(
            new ClusterBench.Row("put", 1, 1500, 450, 2000, 5000, 0, 1, 10, 90, 30_000),
            new ClusterBench.Row("put", 16, 11000, 1000, 6000, 30000, 0, 1, 15, 99, 220_000),
            new ClusterBench.Row("lin. read", 16, 42000, 320, 1100, 4000, 0, 2, 25, 98, 840_000));
    List<Chart.Series> series = new java.util.ArrayList<>();
    series.add(Chart.Series.of("flotilla", rows));
    series.addAll(Chart.Series.fromPeers(dir));
    assertThat(series).hasSize(2); // the warm-variant row is not table A
    String svg = Chart.svg(series);
    Document doc =
        DocumentBuilderFactory.newInstance()
            .newDocumentBuilder()
            .parse(new ByteArrayInputStream(svg.getBytes(StandardCharsets.UTF_8)));
    assertThat(doc.getElementsByTagName("polyline").getLength()).isEqualTo(4);
    assertThat(svg).contains(">flotilla<").contains(">jraft<");

    String table = Chart.comparison(rows, dir, "spec");
    assertThat(table).contains("| put | 16 | 11000 | jraft | 5646 | 1.95x |");
    assertThat(Chart.comparison(rows, dir, "warm"))
        .as("table B is compared with the peers' table B only")
        .contains("| put | 16 | 11000 | jraft | 1 | 11000.00x |")
        .doesNotContain("5646");
  }
}
