package org.flotilla.raft.examples;

import java.time.Duration;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.LongSupplier;
import org.slf4j.Logger;

/**
 * A log of recurring failures that writes at most one line per cause in each interval and counts
 * the lines it held back, so that a failure every request meets (no leader, a partitioned member)
 * costs one line every few seconds instead of one line, or one stack trace, per request.
 *
 * <p>Thread-safe: a cause's state changes only inside its entry's atomic update.
 */
final class RateLimitedLog {

  /** Where the lines go. */
  @FunctionalInterface
  interface Sink {
    /**
     * Writes one line.
     *
     * @param line the line
     * @param trace a throwable whose stack trace goes with the line, or null for none
     */
    void write(String line, Throwable trace);
  }

  /** The state of one cause. Guarded by its map entry's update. */
  private static final class Cause {
    long nextLineAt; // invariant: no line for this cause before this time (nanoTime)
    long heldBack; // lines not written since the last one
  }

  private final Sink sink;
  private final LongSupplier nanoTime;
  private final long intervalNanos;
  private final ConcurrentHashMap<String, Cause> causes = new ConcurrentHashMap<>();

  /**
   * Creates the log.
   *
   * @param sink where lines go
   * @param nanoTime the clock, as {@link System#nanoTime()}
   * @param interval the least time between two lines of one cause
   */
  RateLimitedLog(Sink sink, LongSupplier nanoTime, Duration interval) {
    this.sink = sink;
    this.nanoTime = nanoTime;
    this.intervalNanos = interval.toNanos();
  }

  /**
   * Returns a log that writes warnings to an SLF4J logger, at most one line per cause every five
   * seconds.
   *
   * @param log the logger
   * @return the log
   */
  static RateLimitedLog warnings(Logger log) {
    return new RateLimitedLog(log::warn, System::nanoTime, Duration.ofSeconds(5));
  }

  /**
   * Logs a line for a cause, unless one was written for the same cause less than the interval ago;
   * the next line written says how many were held back.
   *
   * @param cause what the line is about: lines of one cause are limited together; keep the set of
   *     causes small and fixed (a failure code, an exception class)
   * @param line the line
   * @param trace a throwable whose stack trace to write with the line, or null for none
   */
  void log(String cause, String line, Throwable trace) {
    long now = nanoTime.getAsLong();
    long[] written = {-1}; // the held-back count when this call writes, else -1
    causes.compute(
        cause,
        (k, c) -> {
          if (c == null) {
            c = new Cause();
            c.nextLineAt = now;
          }
          if (now - c.nextLineAt >= 0) {
            written[0] = c.heldBack;
            c.heldBack = 0;
            c.nextLineAt = now + intervalNanos;
          } else {
            c.heldBack++;
          }
          return c;
        });
    if (written[0] == 0) {
      sink.write(line, trace);
    } else if (written[0] > 0) {
      sink.write(line + " (and " + written[0] + " more like it since the last line)", trace);
    }
  }
}
