package org.flotilla.raft.examples.tool;

import java.io.PrintWriter;

/**
 * A one-line progress bar redrawn in place ({@code \r}) on a terminal stream, at most every 100 ms
 * and once per whole percent. Not thread-safe.
 */
final class ProgressBar {

  private static final int WIDTH = 40;

  private final PrintWriter out;
  private final String what;
  private final long total;
  private long lastPercent = -1;
  private long lastDrawn;

  ProgressBar(PrintWriter out, String what, long total) {
    this.out = out;
    this.what = what;
    this.total = Math.max(1, total);
  }

  void update(long done) {
    long percent = Math.min(100, done * 100 / total);
    long now = System.nanoTime();
    if (percent == lastPercent || (now - lastDrawn < 100_000_000L && percent < 100)) {
      return;
    }
    lastPercent = percent;
    lastDrawn = now;
    int filled = (int) (percent * WIDTH / 100);
    out.printf(
        "\r%s [%s%s] %3d%% %d/%d MiB",
        what, "#".repeat(filled), ".".repeat(WIDTH - filled), percent, done >> 20, total >> 20);
    out.flush();
  }

  void done() {
    update(total);
    out.println();
  }
}
