package org.flotilla.raft.examples.bench;

import java.io.IOException;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.stream.Stream;

/**
 * Draws throughput against latency as an SVG (log-log): one line per library through its write rows
 * at C=1, 16 and 256 (p50 solid, p99 dashed), and its linearizable-read row as a diamond. Also
 * compares the rows with a bench-peers {@code results} directory.
 */
public final class Chart {

  private Chart() {}

  /**
   * One library's points.
   *
   * @param name the library
   * @param points op, C, ops/s, p50 µs, p99 µs for every row
   */
  public record Series(String name, List<Point> points) {

    /**
     * Builds the series of this benchmark's rows.
     *
     * @param name the library's name
     * @param rows the rows
     * @return the series
     */
    static Series of(String name, List<ClusterBench.Row> rows) {
      List<Point> p = new ArrayList<>();
      for (ClusterBench.Row r : rows) {
        p.add(
            new Point(
                r.op().equals("put") ? "put" : "read", r.c(), r.opsPerSec(), r.p50(), r.p99()));
      }
      return new Series(name, p);
    }

    /**
     * Reads the table-A rows ({@code variant=spec}) of a bench-peers results directory.
     *
     * @param dir the directory of {@code *.properties} files
     * @return one series per peer, in the order of their names
     * @throws IOException if the directory cannot be read
     */
    public static List<Series> fromPeers(Path dir) throws IOException {
      Map<String, List<Point>> byPeer = new LinkedHashMap<>();
      for (Properties p : peerRows(dir, "spec")) {
        byPeer
            .computeIfAbsent(p.getProperty("peer"), k -> new ArrayList<>())
            .add(
                new Point(
                    p.getProperty("mode").equals("read") ? "read" : "put",
                    Integer.parseInt(p.getProperty("c")),
                    Double.parseDouble(p.getProperty("ops_per_sec")),
                    Long.parseLong(p.getProperty("p50_us")),
                    Long.parseLong(p.getProperty("p99_us"))));
      }
      List<Series> out = new ArrayList<>();
      byPeer.forEach((k, v) -> out.add(new Series(k, v)));
      return out;
    }
  }

  /**
   * One row.
   *
   * @param op put or read
   * @param c concurrency
   * @param opsPerSec throughput
   * @param p50 median latency, µs
   * @param p99 99th percentile, µs
   */
  public record Point(String op, int c, double opsPerSec, long p50, long p99) {}

  /** The rows of one variant ({@code spec}: table A, {@code warm}: table B) of a results dir. */
  static List<Properties> peerRows(Path dir, String variant) throws IOException {
    List<Properties> rows = new ArrayList<>();
    if (!Files.isDirectory(dir)) {
      return rows;
    }
    List<Path> files;
    try (Stream<Path> s = Files.list(dir)) {
      files =
          s.filter(f -> f.getFileName().toString().endsWith(".properties"))
              .sorted(Comparator.comparing(Path::toString))
              .toList();
    }
    for (Path f : files) {
      Properties p = new Properties();
      try (Reader r = Files.newBufferedReader(f, StandardCharsets.ISO_8859_1)) {
        p.load(r);
      }
      if (variant.equals(p.getProperty("variant")) && p.getProperty("ops_per_sec") != null) {
        rows.add(p);
      }
    }
    return rows;
  }

  /**
   * Formats a table of this run's rows beside the peers' rows of the same op and C, with the ratio
   * to each peer's throughput.
   *
   * @param rows this run
   * @param peersDir bench-peers results
   * @param variant the peers' rows to compare with: {@code spec} (table A) or {@code warm} (B)
   * @return Markdown
   * @throws IOException if the directory cannot be read
   */
  static String comparison(List<ClusterBench.Row> rows, Path peersDir, String variant)
      throws IOException {
    List<Properties> peers = peerRows(peersDir, variant);
    StringBuilder sb = new StringBuilder();
    sb.append(
        "| op | C | flotilla ops/s | peer | peer ops/s | ratio | flotilla p50 ms | peer p50 ms |"
            + " flotilla CPU s/1000 | peer CPU s/1000 |\n");
    sb.append("|---|---:|---:|---|---:|---:|---:|---:|---:|---:|\n");
    for (ClusterBench.Row r : rows) {
      String mode = r.op().equals("put") ? "write" : "read";
      for (Properties p : peers) {
        if (!p.getProperty("mode").equals(mode) || Integer.parseInt(p.getProperty("c")) != r.c()) {
          continue;
        }
        double peerOps = Double.parseDouble(p.getProperty("ops_per_sec"));
        if (peerOps <= 0) {
          sb.append(
              String.format(
                  Locale.ROOT,
                  "| %s | %d | %.0f | %s | failed (%s errors) | - | %.2f | - | %.4f | - |%n",
                  r.op(),
                  r.c(),
                  r.opsPerSec(),
                  p.getProperty("peer"),
                  p.getProperty("errors", "?"),
                  r.p50() / 1000.0,
                  r.cpuPer1000()));
          continue;
        }
        sb.append(
            String.format(
                Locale.ROOT,
                "| %s | %d | %.0f | %s | %.0f | %.2fx | %.2f | %.2f | %.4f | %s |%n",
                r.op(),
                r.c(),
                r.opsPerSec(),
                p.getProperty("peer"),
                peerOps,
                r.opsPerSec() / peerOps,
                r.p50() / 1000.0,
                Long.parseLong(p.getProperty("p50_us")) / 1000.0,
                r.cpuPer1000(),
                p.getProperty("cpu_s_per_1000_ops")));
      }
    }
    return sb.toString();
  }

  /**
   * Redraws the chart from saved results: {@code OUT.svg FLOTILLA_RESULTS.csv [NAME=PEERS_DIR]...};
   * each peers directory's series are named {@code peer NAME} (for example {@code jraft
   * (PEERS.md)}).
   *
   * @param args the output file, this benchmark's results.csv, then peers' results directories
   * @throws IOException if a file cannot be read or written
   */
  public static void main(String[] args) throws IOException {
    List<Series> series = new ArrayList<>();
    List<ClusterBench.Row> rows = new ArrayList<>();
    for (String line : Files.readAllLines(Path.of(args[1]), StandardCharsets.UTF_8)) {
      if (line.startsWith("op,") || line.startsWith("#") || line.isBlank()) {
        continue;
      }
      String[] f = line.split(",", -1);
      rows.add(
          new ClusterBench.Row(
              f[0],
              Integer.parseInt(f[1]),
              Double.parseDouble(f[2]),
              Long.parseLong(f[3]),
              Long.parseLong(f[4]),
              Long.parseLong(f[5]),
              Long.parseLong(f[6]),
              Double.parseDouble(f[7]),
              Double.parseDouble(f[8]),
              Double.parseDouble(f[10]),
              Math.round(Double.parseDouble(f[2]) * 20)));
    }
    series.add(Series.of("flotilla", rows));
    for (int i = 2; i < args.length; i++) {
      String[] kv = args[i].split("=", 2);
      for (Series s : Series.fromPeers(Path.of(kv[1]))) {
        series.add(new Series(s.name() + " " + kv[0], s.points()));
      }
    }
    Files.writeString(Path.of(args[0]), svg(series), StandardCharsets.UTF_8);
  }

  private static final String[] COLORS = {
    "#d62728", "#1f77b4", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#17becf"
  };
  private static final int W = 900;
  private static final int H = 500;
  private static final int L = 70;
  private static final int R = 270;
  private static final int T = 40;
  private static final int B = 50;
  private static final double X_MIN = 100;
  private static final double X_MAX = 1_000_000;
  private static final double Y_MIN = 0.01;
  private static final double Y_MAX = 10_000;

  private static double x(double opsPerSec) {
    double v = Math.max(X_MIN, Math.min(X_MAX, opsPerSec));
    return L
        + (W - L - R)
            * (Math.log10(v) - Math.log10(X_MIN))
            / (Math.log10(X_MAX) - Math.log10(X_MIN));
  }

  private static double y(double ms) {
    double v = Math.max(Y_MIN, Math.min(Y_MAX, ms));
    return T
        + (H - T - B)
            * (Math.log10(Y_MAX) - Math.log10(v))
            / (Math.log10(Y_MAX) - Math.log10(Y_MIN));
  }

  /**
   * Renders the chart.
   *
   * @param series the libraries, the first drawn on top
   * @return SVG text
   */
  public static String svg(List<Series> series) {
    StringBuilder s = new StringBuilder();
    s.append(
        String.format(
            Locale.ROOT,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" font-family=\"sans-serif\" font-size=\"12\">%n",
            W,
            H));
    s.append("<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n");
    s.append(
        String.format(
            Locale.ROOT,
            "<text x=\"%d\" y=\"22\" font-size=\"13\">Throughput against latency (WORKLOAD.md, table A;"
                + " p50 solid, p99 dashed; C=1, 16, 256 writes; &#9670; reads C=16)</text>%n",
            L - 40));
    for (double v = X_MIN; v <= X_MAX * 1.001; v *= 10) {
      double px = x(v);
      s.append(
          String.format(
              Locale.ROOT,
              "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#ddd\"/><text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%s</text>%n",
              px,
              T,
              px,
              H - B,
              px,
              H - B + 16,
              label(v)));
    }
    for (double v = Y_MIN; v <= Y_MAX * 1.001; v *= 10) {
      double py = y(v);
      s.append(
          String.format(
              Locale.ROOT,
              "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#ddd\"/><text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%s</text>%n",
              L,
              py,
              W - R,
              py,
              L - 6,
              py + 4,
              v < 1 ? String.valueOf(v) : label(v)));
    }
    s.append(
        String.format(
            Locale.ROOT,
            "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">throughput, ops/s (log)</text>%n",
            (L + W - R) / 2,
            H - 12));
    s.append(
        String.format(
            Locale.ROOT,
            "<text x=\"16\" y=\"%d\" transform=\"rotate(-90 16 %d)\" text-anchor=\"middle\">latency, ms (log)</text>%n",
            (T + H - B) / 2,
            (T + H - B) / 2));
    for (int i = series.size() - 1; i >= 0; i--) {
      Series se = series.get(i);
      String color = COLORS[i % COLORS.length];
      List<Point> writes =
          se.points().stream()
              .filter(p -> p.op().equals("put") && p.opsPerSec() > 0)
              .sorted(Comparator.comparingInt(Point::c))
              .toList();
      s.append(polyline(writes, color, false));
      s.append(polyline(writes, color, true));
      for (Point p : writes) {
        s.append(
            String.format(
                Locale.ROOT,
                "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3.5\" fill=\"%s\"/><text x=\"%.1f\" y=\"%.1f\" font-size=\"10\" fill=\"%s\">%d</text>%n",
                x(p.opsPerSec()),
                y(p.p50() / 1000.0),
                color,
                x(p.opsPerSec()) + 5,
                y(p.p50() / 1000.0) - 5,
                color,
                p.c()));
      }
      for (Point p : se.points()) {
        if (p.op().equals("read") && p.opsPerSec() > 0) {
          double px = x(p.opsPerSec());
          double py = y(p.p50() / 1000.0);
          s.append(
              String.format(
                  Locale.ROOT,
                  "<path d=\"M%.1f %.1f l5 5 l-5 5 l-5 -5 z\" fill=\"%s\"/>%n",
                  px,
                  py - 5,
                  color));
        }
      }
      s.append(
          String.format(
              Locale.ROOT,
              "<rect x=\"%d\" y=\"%d\" width=\"14\" height=\"4\" fill=\"%s\"/><text x=\"%d\" y=\"%d\">%s</text>%n",
              W - R + 14,
              T + 10 + 20 * i,
              color,
              W - R + 34,
              T + 15 + 20 * i,
              escape(se.name())));
    }
    s.append("</svg>\n");
    return s.toString();
  }

  private static String polyline(List<Point> pts, String color, boolean p99) {
    if (pts.isEmpty()) {
      return "";
    }
    StringBuilder sb = new StringBuilder("<polyline fill=\"none\" stroke=\"" + color + "\"");
    sb.append(p99 ? " stroke-dasharray=\"5,4\" stroke-width=\"1.2\"" : " stroke-width=\"2\"");
    sb.append(" points=\"");
    for (Point p : pts) {
      sb.append(
          String.format(
              Locale.ROOT, "%.1f,%.1f ", x(p.opsPerSec()), y((p99 ? p.p99() : p.p50()) / 1000.0)));
    }
    return sb.append("\"/>\n").toString();
  }

  private static String label(double v) {
    if (v >= 1_000_000) {
      return (long) (v / 1_000_000) + "M";
    }
    if (v >= 1000) {
      return (long) (v / 1000) + "k";
    }
    return String.valueOf((long) v);
  }

  private static String escape(String s) {
    return s.replace("&", "&amp;").replace("<", "&lt;");
  }
}
