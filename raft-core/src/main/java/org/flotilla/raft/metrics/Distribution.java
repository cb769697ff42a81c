package org.flotilla.raft.metrics;

import javax.management.ConstructorParameters;

/**
 * A copy of a distribution of measurements (latencies in nanoseconds, or batch sizes in entries):
 * how many, their sum and maximum since the node started, and how many fell in each of a fixed set
 * of buckets. Immutable. Over JMX it appears as a {@code CompositeData} with the items {@code
 * count}, {@code sum}, {@code max}, {@code bounds} and {@code bucketCounts}.
 */
public final class Distribution {

  private final long count;
  private final long sum;
  private final long max;
  private final long[] bounds;
  private final long[] bucketCounts;

  /**
   * Creates a distribution.
   *
   * @param count the number of measurements
   * @param sum their sum
   * @param max the largest
   * @param bounds the buckets' inclusive upper bounds, increasing
   * @param bucketCounts how many measurements fell in each bucket (not cumulative); one longer than
   *     {@code bounds}, the last counting those above every bound
   */
  @ConstructorParameters({"count", "sum", "max", "bounds", "bucketCounts"})
  public Distribution(long count, long sum, long max, long[] bounds, long[] bucketCounts) {
    if (bucketCounts.length != bounds.length + 1) {
      throw new IllegalArgumentException("bucketCounts must be one longer than bounds");
    }
    this.count = count;
    this.sum = sum;
    this.max = max;
    this.bounds = bounds.clone();
    this.bucketCounts = bucketCounts.clone();
  }

  /**
   * Returns the number of measurements.
   *
   * @return the count
   */
  public long getCount() {
    return count;
  }

  /**
   * Returns the sum of the measurements.
   *
   * @return the sum
   */
  public long getSum() {
    return sum;
  }

  /**
   * Returns the largest measurement since the node started.
   *
   * @return the maximum, 0 if none
   */
  public long getMax() {
    return max;
  }

  /**
   * Returns the buckets' inclusive upper bounds.
   *
   * @return a copy of the bounds, increasing
   */
  public long[] getBounds() {
    return bounds.clone();
  }

  /**
   * Returns how many measurements fell in each bucket: index {@code i} counts those in {@code
   * (bounds[i-1], bounds[i]]}, the last index those above the last bound.
   *
   * @return a copy of the counts
   */
  public long[] getBucketCounts() {
    return bucketCounts.clone();
  }

  @Override
  public String toString() {
    return "Distribution[count=" + count + ", sum=" + sum + ", max=" + max + "]";
  }
}
