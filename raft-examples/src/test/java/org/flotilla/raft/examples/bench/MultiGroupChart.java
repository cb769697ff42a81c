package org.flotilla.raft.examples.bench;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Draws the multi-group chart of docs/performance.md from the figures its table gives: {@code
 * MultiGroupChart OUT.svg FIGURES.csv}, the CSV having lines {@code metric,library,value} (metric
 * one of the panel names below; a missing value, a library that did not run, is left out). Four
 * panels of bars on log scales, one bar per library: idle CPU seconds in 30 s (3 members), live
 * heap (3 members) and threads per member at G = 100, and writes per second at G = 64 against G = 1
 * (C = 256), from one run of {@code bench-peers/run.sh multigroup} and Flotilla's {@link
 * MultiGroupBench} right after it.
 */
public final class MultiGroupChart {

  private MultiGroupChart() {}

  /** The panels: metric key in the CSV, title, unit. */
  private static final String[][] PANELS = {
    {"idle100.cpu", "idle CPU, G = 100", "CPU s in 30 s, 3 members"},
    {"idle100.heap", "live heap, G = 100", "MiB, 3 members"},
    {"idle100.threads", "threads, G = 100", "threads per member"},
    {"active64.ops", "writes/s, G = 64, C = 256", "writes/s"},
    {"active1.ops", "writes/s, G = 1, C = 256", "writes/s"},
  };

  private static final String[] COLORS = {"#d62728", "#1f77b4", "#2ca02c", "#9467bd"};
  private static final int PANEL_W = 200;
  private static final int H = 360;
  private static final int T = 60;
  private static final int B = 60;

  /**
   * Draws the chart.
   *
   * @param args the output file and the figures' CSV
   * @throws IOException if a file cannot be read or written
   */
  public static void main(String[] args) throws IOException {
    Map<String, Map<String, Double>> figures = new LinkedHashMap<>();
    List<String> libraries = new ArrayList<>();
    for (String line : Files.readAllLines(Path.of(args[1]), StandardCharsets.UTF_8)) {
      if (line.isBlank() || line.startsWith("#") || line.startsWith("metric,")) {
        continue;
      }
      String[] f = line.split(",", -1);
      if (f[2].isBlank()) {
        continue;
      }
      figures.computeIfAbsent(f[0], k -> new LinkedHashMap<>()).put(f[1], Double.valueOf(f[2]));
      if (!libraries.contains(f[1])) {
        libraries.add(f[1]);
      }
    }
    Files.writeString(Path.of(args[0]), svg(figures, libraries), StandardCharsets.UTF_8);
  }

  static String svg(Map<String, Map<String, Double>> figures, List<String> libraries) {
    int w = PANEL_W * PANELS.length + 20;
    StringBuilder s = new StringBuilder();
    s.append(
        String.format(
            Locale.ROOT,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\""
                + " font-family=\"sans-serif\" font-size=\"12\">%n",
            w,
            H + 30));
    s.append(
        String.format(
            Locale.ROOT, "<rect width=\"%d\" height=\"%d\" fill=\"white\"/>%n", w, H + 30));
    s.append(
        "<text x=\"10\" y=\"20\" font-size=\"14\">Multi-group workload, one session, one"
            + " machine (log scales): lower is better for the first three panels</text>\n");
    for (int p = 0; p < PANELS.length; p++) {
      Map<String, Double> values = figures.getOrDefault(PANELS[p][0], Map.of());
      int x0 = 10 + p * PANEL_W;
      double max = values.values().stream().mapToDouble(Double::doubleValue).max().orElse(1);
      double min = values.values().stream().mapToDouble(Double::doubleValue).min().orElse(1);
      double top = Math.pow(10, Math.ceil(Math.log10(max * 1.01)));
      double bottom = Math.pow(10, Math.floor(Math.log10(min)) - 1);
      s.append(
          String.format(
              Locale.ROOT,
              "<text x=\"%d\" y=\"%d\" font-weight=\"bold\">%s</text>%n",
              x0 + 5,
              T - 20,
              PANELS[p][1]));
      s.append(
          String.format(
              Locale.ROOT,
              "<text x=\"%d\" y=\"%d\" fill=\"#555\">%s</text>%n",
              x0 + 5,
              T - 6,
              PANELS[p][2]));
      int plotH = H - T - B;
      int barW = (PANEL_W - 40) / Math.max(1, libraries.size());
      for (int i = 0; i < libraries.size(); i++) {
        Double v = values.get(libraries.get(i));
        int bx = x0 + 20 + i * barW;
        if (v == null) {
          s.append(
              String.format(
                  Locale.ROOT,
                  "<text x=\"%d\" y=\"%d\" fill=\"#999\" font-size=\"10\">n/a</text>%n",
                  bx + 2,
                  T + plotH - 4));
          continue;
        }
        double frac = (Math.log10(v) - Math.log10(bottom)) / (Math.log10(top) - Math.log10(bottom));
        int bh = (int) Math.round(plotH * Math.max(0.01, frac));
        s.append(
            String.format(
                Locale.ROOT,
                "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"%s\"/>%n",
                bx,
                T + plotH - bh,
                barW - 6,
                bh,
                COLORS[i % COLORS.length]));
        s.append(
            String.format(
                Locale.ROOT,
                "<text x=\"%d\" y=\"%d\" font-size=\"10\">%s</text>%n",
                bx,
                T + plotH - bh - 3,
                label(v)));
      }
      s.append(
          String.format(
              Locale.ROOT,
              "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#333\"/>%n",
              x0 + 15,
              T + plotH,
              x0 + PANEL_W - 15,
              T + plotH));
    }
    for (int i = 0; i < libraries.size(); i++) {
      int lx = 10 + i * 160;
      s.append(
          String.format(
              Locale.ROOT,
              "<rect x=\"%d\" y=\"%d\" width=\"12\" height=\"12\" fill=\"%s\"/>"
                  + "<text x=\"%d\" y=\"%d\">%s</text>%n",
              lx,
              H - 20,
              COLORS[i % COLORS.length],
              lx + 16,
              H - 10,
              libraries.get(i)));
    }
    s.append("</svg>\n");
    return s.toString();
  }

  private static String label(double v) {
    if (v >= 100) {
      return String.format(Locale.ROOT, "%,.0f", v);
    }
    return String.format(Locale.ROOT, "%.2g", v);
  }
}
