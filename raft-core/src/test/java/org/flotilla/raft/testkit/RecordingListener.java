package org.flotilla.raft.testkit;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import org.flotilla.raft.spi.LogStore;

/**
 * A {@link LogStore.DurabilityListener} for tests: records every report and lets a test wait, with
 * a bound, until an index is reported durable. Thread-safe: reports come from the store's thread.
 */
public final class RecordingListener implements LogStore.DurabilityListener {

  /** One durability report. */
  public record Report(long index, long term) {}

  private final ReentrantLock lock = new ReentrantLock();
  private final Condition changed = lock.newCondition();
  private final List<Report> reports = new ArrayList<>();
  private Throwable failure;

  @Override
  public void durable(long index, long term) {
    lock.lock();
    try {
      reports.add(new Report(index, term));
      changed.signalAll();
    } finally {
      lock.unlock();
    }
  }

  @Override
  public void failed(Throwable cause) {
    lock.lock();
    try {
      failure = cause;
      changed.signalAll();
    } finally {
      lock.unlock();
    }
  }

  /**
   * Returns every report so far, in order.
   *
   * @return a copy of the reports
   */
  public List<Report> reports() {
    lock.lock();
    try {
      return List.copyOf(reports);
    } finally {
      lock.unlock();
    }
  }

  /**
   * Returns the last report, or null if none.
   *
   * @return the report
   */
  public Report last() {
    lock.lock();
    try {
      return reports.isEmpty() ? null : reports.get(reports.size() - 1);
    } finally {
      lock.unlock();
    }
  }

  /**
   * Returns the failure reported, or null.
   *
   * @return the failure
   */
  public Throwable failure() {
    lock.lock();
    try {
      return failure;
    } finally {
      lock.unlock();
    }
  }

  /**
   * Waits until the last report covers {@code index} with {@code term}.
   *
   * @param index the index
   * @param term the term expected at that index
   * @param timeout how long to wait at most
   * @throws AssertionError if it does not happen in time or the store fails
   * @throws InterruptedException if interrupted
   */
  public void awaitDurable(long index, long term, Duration timeout) throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    lock.lock();
    try {
      while (true) {
        if (failure != null) {
          throw new AssertionError("store failed while waiting for " + index, failure);
        }
        Report last = reports.isEmpty() ? null : reports.get(reports.size() - 1);
        if (last != null && last.index() == index && last.term() == term) {
          return;
        }
        long left = deadline - System.nanoTime();
        if (left <= 0) {
          throw new AssertionError(
              "not reported durable " + index + "@" + term + " in " + timeout + "; last " + last);
        }
        changed.await(left, TimeUnit.NANOSECONDS);
      }
    } finally {
      lock.unlock();
    }
  }

  /**
   * Waits until a failure is reported.
   *
   * @param timeout how long to wait at most
   * @return the failure
   * @throws AssertionError if none comes in time
   * @throws InterruptedException if interrupted
   */
  public Throwable awaitFailure(Duration timeout) throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    lock.lock();
    try {
      while (failure == null) {
        long left = deadline - System.nanoTime();
        if (left <= 0) {
          throw new AssertionError("no failure reported in " + timeout);
        }
        changed.await(left, TimeUnit.NANOSECONDS);
      }
      return failure;
    } finally {
      lock.unlock();
    }
  }
}
