package org.flotilla.raft.internal.runtime;

import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import org.flotilla.raft.spi.Scheduler;

/**
 * A bounded executor on a {@link Scheduler} worker: runs queued tasks one per turn, in order. Used
 * for the snapshot writer. Thread-safe: the queue is the only shared state.
 */
final class TaskWorker implements Executor {

  private final ArrayBlockingQueue<Runnable> tasks;
  private final Scheduler.Worker worker;
  private volatile boolean stopping;

  TaskWorker(Scheduler scheduler, String name, int capacity) {
    this.tasks = new ArrayBlockingQueue<>(capacity);
    this.worker = scheduler.startBlocking(name, this::turn);
  }

  private long turn() {
    Runnable task = tasks.poll();
    if (task != null) {
      task.run();
      return 0;
    }
    return stopping ? -1 : Long.MAX_VALUE;
  }

  @Override
  public void execute(Runnable task) {
    if (stopping || !tasks.offer(task)) {
      throw new RejectedExecutionException("snapshot worker busy or stopped");
    }
    worker.wake();
  }

  /**
   * Stops after the queued tasks and waits for that.
   *
   * @param timeoutMillis the longest wait
   * @return true if stopped in time
   */
  boolean stop(long timeoutMillis) {
    stopping = true;
    worker.wake();
    return worker.awaitStop(timeoutMillis);
  }
}
