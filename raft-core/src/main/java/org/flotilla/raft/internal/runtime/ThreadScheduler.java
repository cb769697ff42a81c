package org.flotilla.raft.internal.runtime;

import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.LockSupport;
import org.flotilla.raft.spi.Scheduler;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The {@link Scheduler} of production: one daemon thread per worker, parked between turns, and the
 * system clocks. Stateless and thread-safe; each worker's state is confined to its thread except
 * the wake flag.
 */
public final class ThreadScheduler implements Scheduler {

  /** The one instance. */
  public static final ThreadScheduler INSTANCE = new ThreadScheduler();

  private static final Logger LOG = LoggerFactory.getLogger(ThreadScheduler.class);

  private ThreadScheduler() {}

  @Override
  public long nanoTime() {
    return System.nanoTime();
  }

  @Override
  public Worker start(String name, Turn turn) {
    ThreadWorker w = new ThreadWorker(turn);
    Thread t = new Thread(w, name);
    t.setDaemon(true);
    w.thread = t;
    t.start();
    return w;
  }

  private static final class ThreadWorker implements Worker, Runnable {
    private final Turn turn;
    private final AtomicBoolean woken = new AtomicBoolean();
    private volatile Thread thread;

    ThreadWorker(Turn turn) {
      this.turn = turn;
    }

    @Override
    public void run() {
      try {
        while (true) {
          woken.set(false);
          long wait = turn.run();
          if (wait < 0) {
            return;
          }
          if (wait > 0 && !woken.get()) {
            LockSupport.parkNanos(this, wait);
          }
        }
      } catch (RuntimeException | Error e) {
        LOG.error("worker {} died", Thread.currentThread().getName(), e);
        throw e;
      }
    }

    @Override
    public void wake() {
      if (!woken.getAndSet(true)) {
        LockSupport.unpark(thread);
      }
    }

    @Override
    public boolean awaitStop(long timeoutMillis) {
      Thread t = thread;
      if (t == Thread.currentThread()) {
        return false;
      }
      try {
        t.join(timeoutMillis);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      return !t.isAlive();
    }

    @Override
    public boolean inWorker() {
      return Thread.currentThread() == thread;
    }
  }
}
