package org.flotilla.raft.internal.runtime;

import java.util.PriorityQueue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import org.flotilla.raft.spi.Scheduler;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A {@link Scheduler} that runs the workers of many nodes on a fixed set of threads, for a {@code
 * RaftHost}: the number of threads does not grow with the number of groups.
 *
 * <p>Three pools of threads ("carriers"): event loops, apply workers, and blocking workers (the
 * snapshot writers). Each worker is pinned, round robin, to one carrier of its pool for its whole
 * life, and a carrier runs its workers' turns one at a time, so a worker's turns never overlap and
 * all run on one thread, as with one thread per worker. A turn that blocks holds up the other
 * workers of its carrier: event-loop turns never block on another thread (see {@link
 * Scheduler.Turn}), apply turns block only in the state machine, and the long snapshot writes have
 * their own pool.
 *
 * <p>A carrier keeps the workers woken since its last pass in a ready queue, each at most once
 * (guarded by the worker's {@code queued} flag), so the queue holds at most as many entries as the
 * carrier has workers; and a timer heap, owned by the carrier's thread, of the workers that asked
 * to run again after a wait. Timers that fall due together run in one pass: groups whose ticks fall
 * on the same instant tick together.
 *
 * <p>Thread-safe: {@code start*} and {@link Worker#wake()} from any thread; {@link #close()} once
 * every worker has stopped (it stops the carriers, and a worker still running never runs again).
 */
public final class PooledScheduler implements Scheduler, AutoCloseable {

  private static final Logger LOG = LoggerFactory.getLogger(PooledScheduler.class);

  private final Pool loops;
  private final Pool appliers;
  private final Pool blocking;

  /**
   * Starts the carrier threads (daemons).
   *
   * @param name the prefix of the threads' names
   * @param loopThreads threads for event loops, at least 1
   * @param applyThreads threads for apply workers, at least 1
   * @param blockingThreads threads for blocking workers (snapshot writers), at least 1
   */
  public PooledScheduler(String name, int loopThreads, int applyThreads, int blockingThreads) {
    if (loopThreads < 1 || applyThreads < 1 || blockingThreads < 1) {
      throw new IllegalArgumentException(
          "every pool needs a thread: "
              + loopThreads
              + " loop, "
              + applyThreads
              + " apply, "
              + blockingThreads
              + " blocking");
    }
    this.loops = new Pool(name + "-loop", loopThreads);
    this.appliers = new Pool(name + "-apply", applyThreads);
    this.blocking = new Pool(name + "-blocking", blockingThreads);
  }

  @Override
  public long nanoTime() {
    return System.nanoTime();
  }

  @Override
  public Worker start(String name, Turn turn) {
    return appliers.start(turn);
  }

  @Override
  public Worker startEventLoop(String name, Turn turn) {
    return loops.start(turn);
  }

  @Override
  public Worker startBlocking(String name, Turn turn) {
    return blocking.start(turn);
  }

  /**
   * Returns how many threads this scheduler runs, for monitoring: fixed at construction.
   *
   * @return the number of carrier threads
   */
  public int threads() {
    return loops.carriers.length + appliers.carriers.length + blocking.carriers.length;
  }

  /**
   * Stops the carrier threads and waits up to five seconds for them. Call it once every node on
   * this scheduler has stopped: a worker still running is abandoned (its turns never run again).
   */
  @Override
  public void close() {
    for (Pool p : new Pool[] {loops, appliers, blocking}) {
      for (Carrier c : p.carriers) {
        c.stopping = true;
        LockSupport.unpark(c.thread);
      }
    }
    for (Pool p : new Pool[] {loops, appliers, blocking}) {
      for (Carrier c : p.carriers) {
        try {
          c.thread.join(5_000);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          return;
        }
        if (c.thread.isAlive()) {
          LOG.warn("{} did not stop within 5 s (a turn is blocked)", c.thread.getName());
        }
      }
    }
  }

  /** Carriers of one kind; workers are pinned to them round robin. */
  private static final class Pool {
    final Carrier[] carriers;
    private final AtomicInteger next = new AtomicInteger();

    Pool(String name, int threads) {
      carriers = new Carrier[threads];
      for (int i = 0; i < threads; i++) {
        carriers[i] = new Carrier(name + "-" + i);
      }
    }

    Worker start(Turn turn) {
      Carrier c = carriers[Math.floorMod(next.getAndIncrement(), carriers.length)];
      if (c.stopping) {
        throw new IllegalStateException("the scheduler is closed");
      }
      PooledWorker w = new PooledWorker(c, turn);
      w.wake();
      return w;
    }
  }

  /** A worker's pending timer: valid while it is still the worker's {@code timerAt}. */
  private record Timer(long at, PooledWorker worker) {}

  /** One thread that runs the turns of the workers pinned to it. */
  private static final class Carrier implements Runnable {
    final Thread thread;
    // Woken workers, each at most once (PooledWorker.queued): at most one entry per worker here.
    final ConcurrentLinkedQueue<PooledWorker> ready = new ConcurrentLinkedQueue<>();
    // Owned by thread: pending timers, the earliest first; stale entries are skipped.
    private final PriorityQueue<Timer> timers =
        new PriorityQueue<>((a, b) -> Long.compare(a.at, b.at));
    // Owned by thread: the worker whose turn is running, for inWorker().
    PooledWorker current;
    volatile boolean stopping;

    Carrier(String name) {
      thread = new Thread(this, name);
      thread.setDaemon(true);
      thread.start();
    }

    @Override
    public void run() {
      while (!stopping) {
        // Run what was woken, at most the queue's length at the start of the pass, and after each
        // of those turns what fell due: a worker that keeps waking itself cannot starve the
        // timers, and a timer waits for at most one turn, not for a whole pass. A pass can be
        // long (a host's start wakes thousands of groups at once); the host's liveness worker is a
        // timer every heartbeat interval, and its messages must leave on time through it.
        for (int n = ready.size(); n > 0 && !stopping; n--) {
          PooledWorker w = ready.poll();
          if (w == null) {
            break;
          }
          w.queued.set(false);
          runTurn(w);
          runDueTimers();
        }
        runDueTimers();
        if (ready.isEmpty() && !stopping) {
          Timer t = timers.peek();
          if (t == null) {
            LockSupport.park(this);
          } else {
            long wait = t.at - System.nanoTime();
            if (wait > 0) {
              LockSupport.parkNanos(this, wait);
            }
          }
        }
      }
    }

    /** Runs the turns of the workers whose timers fell due, earliest first. */
    private void runDueTimers() {
      Timer t = timers.peek();
      if (t == null) {
        return;
      }
      long now = System.nanoTime();
      while ((t = timers.peek()) != null && t.at - now <= 0 && !stopping) {
        timers.poll();
        PooledWorker w = t.worker;
        if (w.timerAt == t.at && w.timerSet) {
          w.timerSet = false;
          runTurn(w);
        }
      }
    }

    private void runTurn(PooledWorker w) {
      if (w.done) {
        return;
      }
      long wait;
      current = w;
      try {
        wait = w.turn.run();
      } catch (RuntimeException | Error e) {
        // As a dead thread of its own would: the worker is gone, the carrier lives on for others.
        LOG.error("a worker on {} died", thread.getName(), e);
        wait = -1;
      } finally {
        current = null;
      }
      if (wait < 0) {
        w.done = true;
        w.timerSet = false;
        w.stopped.countDown();
      } else if (wait == 0) {
        w.wake();
      } else if (wait != Long.MAX_VALUE) {
        long at = System.nanoTime() + wait;
        // Keep an earlier pending timer: it fires, the turn asks again; a timer per turn would
        // grow the heap with stale entries.
        if (!w.timerSet || at - w.timerAt < 0) {
          w.timerSet = true;
          w.timerAt = at;
          timers.add(new Timer(at, w));
        }
      }
    }
  }

  /** A worker pinned to one carrier. */
  private static final class PooledWorker implements Worker {
    private final Carrier carrier;
    final Turn turn;
    final AtomicBoolean queued = new AtomicBoolean();
    final CountDownLatch stopped = new CountDownLatch(1);
    // Owned by the carrier's thread.
    boolean done;
    boolean timerSet;
    long timerAt;

    PooledWorker(Carrier carrier, Turn turn) {
      this.carrier = carrier;
      this.turn = turn;
    }

    @Override
    public void wake() {
      if (queued.compareAndSet(false, true)) {
        carrier.ready.add(this);
        if (Thread.currentThread() != carrier.thread) {
          LockSupport.unpark(carrier.thread);
        }
      }
    }

    /**
     * Waits for the worker to stop. On its own carrier's thread the wait could never end (the
     * carrier would be waiting for itself), so it returns false at once.
     */
    @Override
    public boolean awaitStop(long timeoutMillis) {
      if (Thread.currentThread() == carrier.thread) {
        return stopped.getCount() == 0;
      }
      try {
        return stopped.await(timeoutMillis, TimeUnit.MILLISECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return false;
      }
    }

    @Override
    public boolean inWorker() {
      return Thread.currentThread() == carrier.thread && carrier.current == this;
    }
  }
}
