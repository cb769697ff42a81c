package org.flotilla.raft.metrics;

import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.atomic.LongAdder;

/**
 * A bounded-memory distribution of non-negative values: count, sum, maximum and counts in fixed
 * buckets. Recording allocates nothing and takes no lock.
 *
 * <p>Thread-safe: any number of threads may record and read concurrently; a read is not an atomic
 * snapshot (the count may be one ahead of the sum), which monitoring tolerates.
 */
final class Histogram {

  /** Upper bounds of latency buckets, in nanoseconds: 10 µs to 10 s, roughly 1-2.5-5 steps. */
  static final long[] LATENCY_BOUNDS_NANOS = {
    10_000L,
    25_000L,
    50_000L,
    100_000L,
    250_000L,
    500_000L,
    1_000_000L,
    2_500_000L,
    5_000_000L,
    10_000_000L,
    25_000_000L,
    50_000_000L,
    100_000_000L,
    250_000_000L,
    500_000_000L,
    1_000_000_000L,
    10_000_000_000L
  };

  /** Upper bounds of batch-size buckets, in entries: powers of two up to 4096. */
  static final long[] SIZE_BOUNDS = {1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096};

  private final long[] bounds;
  // buckets.length() == bounds.length + 1; the last counts values above every bound
  private final AtomicLongArray buckets;
  private final LongAdder count = new LongAdder();
  private final LongAdder sum = new LongAdder();
  private final AtomicLong max = new AtomicLong();

  Histogram(long[] bounds) {
    this.bounds = bounds.clone();
    this.buckets = new AtomicLongArray(bounds.length + 1);
  }

  /** Records one value; negative values count as 0. */
  void record(long value) {
    long v = Math.max(0, value);
    count.increment();
    sum.add(v);
    long m = max.get();
    while (v > m && !max.compareAndSet(m, v)) {
      m = max.get();
    }
    int i = 0;
    while (i < bounds.length && v > bounds[i]) {
      i++;
    }
    buckets.incrementAndGet(i);
  }

  long count() {
    return count.sum();
  }

  /** Returns a copy of the current values. */
  Distribution snapshot() {
    long[] counts = new long[buckets.length()];
    for (int i = 0; i < counts.length; i++) {
      counts[i] = buckets.get(i);
    }
    return new Distribution(count.sum(), sum.sum(), max.get(), bounds.clone(), counts);
  }
}
