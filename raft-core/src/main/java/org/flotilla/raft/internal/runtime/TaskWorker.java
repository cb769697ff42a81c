package org.flotilla.raft.internal.runtime;

import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import org.flotilla.raft.spi.Scheduler;

/**
 * A bounded executor on a {@link Scheduler} worker: runs queued tasks one per turn, in order. Used
 * for the snapshot writer.
 *
 * <p>The queue and the worker are created by the first {@link #execute}: most nodes of a host never
 * write a snapshot while it runs, and a started worker with its queue costs about 300 bytes per
 * node (a RaftHost runs thousands of them).
 *
 * <p>Threading: {@link #execute} from one thread at a time (the node's apply worker, which alone
 * starts snapshots), {@link #stop} from any thread; {@code started} is published through a
 * volatile. A worker started after {@code stopping} was set (an execute racing with stop, which the
 * node avoids by stopping its apply worker first) still ends by itself: its turn returns -1 once
 * its queue is empty and {@code stopping} is set.
 */
final class TaskWorker implements Executor {

  private record Started(ArrayBlockingQueue<Runnable> tasks, Scheduler.Worker worker) {}

  private final Scheduler scheduler;
  private final String name;
  private final int capacity;
  // null until the first execute (see the class comment)
  private volatile Started started;
  private volatile boolean stopping;

  TaskWorker(Scheduler scheduler, String name, int capacity) {
    this.scheduler = scheduler;
    this.name = name;
    this.capacity = capacity;
  }

  private long turn(ArrayBlockingQueue<Runnable> tasks) {
    Runnable task = tasks.poll();
    if (task != null) {
      task.run();
      return 0;
    }
    return stopping ? -1 : Long.MAX_VALUE;
  }

  @Override
  public void execute(Runnable task) {
    if (stopping) {
      throw new RejectedExecutionException("snapshot worker stopped");
    }
    Started s = started;
    if (s == null) {
      ArrayBlockingQueue<Runnable> tasks = new ArrayBlockingQueue<>(capacity);
      s = new Started(tasks, scheduler.startBlocking(name, () -> turn(tasks)));
      started = s;
    }
    if (!s.tasks().offer(task)) {
      throw new RejectedExecutionException("snapshot worker busy");
    }
    s.worker().wake();
  }

  /**
   * Stops after the queued tasks and waits for that.
   *
   * @param timeoutMillis the longest wait
   * @return true if stopped in time (at once if it never started)
   */
  boolean stop(long timeoutMillis) {
    stopping = true;
    Started s = started;
    if (s == null) {
      return true;
    }
    s.worker().wake();
    return s.worker().awaitStop(timeoutMillis);
  }
}
