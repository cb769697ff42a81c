package org.flotilla.raft.transport.netty;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;

/**
 * Logs warnings about bad peers at most a few times a second, so that a flood of bad connections
 * cannot flood the log; the rest go to debug and are counted in the next warning.
 *
 * <p>Thread-safe (atomics only); shared by all connections of a transport.
 */
final class RateLimitedLog {

  private static final long WINDOW_NANOS = TimeUnit.SECONDS.toNanos(1);

  private final Logger log;
  private final int perSecond;
  private final AtomicLong windowStart = new AtomicLong(System.nanoTime());
  private final AtomicLong inWindow = new AtomicLong();
  private final AtomicLong suppressed = new AtomicLong();

  RateLimitedLog(Logger log, int perSecond) {
    this.log = log;
    this.perSecond = perSecond;
  }

  void warn(String format, Object... args) {
    long now = System.nanoTime();
    long start = windowStart.get();
    if (now - start > WINDOW_NANOS && windowStart.compareAndSet(start, now)) {
      inWindow.set(0);
    }
    if (inWindow.incrementAndGet() <= perSecond) {
      long s = suppressed.getAndSet(0);
      if (s > 0) {
        log.warn("({} similar warnings suppressed)", s);
      }
      log.warn(format, args);
    } else {
      suppressed.incrementAndGet();
      log.debug(format, args);
    }
  }
}
