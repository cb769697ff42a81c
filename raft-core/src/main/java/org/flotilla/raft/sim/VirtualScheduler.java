package org.flotilla.raft.sim;

import java.util.PriorityQueue;
import java.util.SplittableRandom;
import java.util.concurrent.Executor;
import java.util.random.RandomGenerator;
import org.flotilla.raft.spi.Scheduler;

/**
 * A {@link Scheduler} in virtual time: every worker's turn, and every other simulated event, is an
 * event in one queue, run in time order on the caller's thread. Time moves only when the next event
 * is later than now, and every node's random numbers ({@link #random()}) come from the scheduler's
 * seed, so a run is deterministic and as fast as the CPU allows.
 *
 * <p>Not thread-safe: everything runs on the thread that calls {@link #runUntil(long)}.
 */
public final class VirtualScheduler implements Scheduler {

  private final PriorityQueue<Event> events = new PriorityQueue<>();
  private final SplittableRandom seeds;
  private long now;
  private long seq;

  /** Creates a scheduler at virtual time 0 with nothing scheduled, with seed 0. */
  public VirtualScheduler() {
    this(0);
  }

  /**
   * Creates a scheduler at virtual time 0 with nothing scheduled.
   *
   * @param seed the seed of the random numbers it gives the nodes ({@link #random()})
   */
  public VirtualScheduler(long seed) {
    this.seeds = new SplittableRandom(seed);
  }

  @Override
  public long nanoTime() {
    return now;
  }

  /**
   * Returns a random number generator seeded from this scheduler's seed: the n-th call returns the
   * same sequence for the same seed, so nodes started in the same order draw the same election
   * timeouts in every run.
   *
   * @return a new generator
   */
  @Override
  public RandomGenerator random() {
    return new SplittableRandom(seeds.nextLong());
  }

  /**
   * Schedules an action.
   *
   * @param delayNanos how far from now, at least 0
   * @param action what to run
   */
  public void schedule(long delayNanos, Runnable action) {
    events.add(new Event(now + Math.max(0, delayNanos), seq++, action));
  }

  /**
   * Returns an executor that runs each task as a new event at the current time (never inline), for
   * futures' callbacks.
   *
   * @return the executor
   */
  public Executor executor() {
    return task -> schedule(0, task);
  }

  /**
   * Runs events in time order until the next one is later than {@code deadlineNanos}, then sets the
   * time to the deadline.
   *
   * @param deadlineNanos the virtual time to run to
   */
  public void runUntil(long deadlineNanos) {
    while (!events.isEmpty() && events.peek().time <= deadlineNanos) {
      Event e = events.poll();
      now = e.time;
      e.action.run();
    }
    now = Math.max(now, deadlineNanos);
  }

  @Override
  public Worker start(String name, Turn turn) {
    VirtualWorker w = new VirtualWorker(turn, 1.0);
    w.wake();
    return w;
  }

  /**
   * Returns a scheduler for one simulated process: it shares this scheduler's time and events, and
   * {@link SimulatedProcess#crash()} stops all the workers started through it without another turn.
   *
   * @return the process scheduler
   */
  public SimulatedProcess process() {
    return new SimulatedProcess(1.0);
  }

  /**
   * Returns a scheduler for one simulated process whose clock runs at {@code rate} times the
   * virtual time (a drifting clock): its {@link Scheduler#nanoTime()} advances {@code rate}
   * nanoseconds per virtual nanosecond, and a worker that waits {@code w} of its nanoseconds waits
   * {@code w / rate} virtual ones.
   *
   * @param rate the clock's speed, in (0.5, 2)
   * @return the process scheduler
   */
  public SimulatedProcess process(double rate) {
    if (!(rate > 0.5 && rate < 2)) {
      throw new IllegalArgumentException("clock rate must be in (0.5, 2): " + rate);
    }
    return new SimulatedProcess(rate);
  }

  /** The workers of one simulated process, which can crash together. */
  public final class SimulatedProcess implements Scheduler {
    private final java.util.List<VirtualWorker> workers = new java.util.ArrayList<>();
    private final double rate;

    private SimulatedProcess(double rate) {
      this.rate = rate;
    }

    @Override
    public long nanoTime() {
      return rate == 1.0 ? now : (long) (now * rate);
    }

    @Override
    public RandomGenerator random() {
      return VirtualScheduler.this.random();
    }

    @Override
    public Worker start(String name, Turn turn) {
      VirtualWorker w = new VirtualWorker(turn, rate);
      w.wake();
      workers.add(w);
      return w;
    }

    /** Stops every worker of the process at once, as a power loss would. */
    public void crash() {
      for (VirtualWorker w : workers) {
        w.stopped = true;
      }
      workers.clear();
    }
  }

  private final class VirtualWorker implements Worker {
    private final Turn turn;
    private final double rate;
    private long scheduledAt = Long.MAX_VALUE;
    private boolean stopped;
    private boolean running;

    VirtualWorker(Turn turn, double rate) {
      this.turn = turn;
      this.rate = rate;
    }

    private void runTurn() {
      if (stopped) {
        return;
      }
      running = true;
      long wait;
      try {
        wait = turn.run();
      } finally {
        running = false;
      }
      if (wait < 0) {
        stopped = true;
      } else if (wait != Long.MAX_VALUE) {
        // the wait is in the process's clock; a drifting clock stretches or shrinks it
        at(now + (rate == 1.0 ? wait : (long) Math.ceil(wait / rate)));
      }
    }

    private void at(long time) {
      if (stopped || time >= scheduledAt) {
        return;
      }
      scheduledAt = time;
      events.add(
          new Event(
              time,
              seq++,
              () -> {
                if (scheduledAt == time) {
                  scheduledAt = Long.MAX_VALUE;
                  runTurn();
                }
              }));
    }

    @Override
    public void wake() {
      at(now);
    }

    @Override
    public boolean awaitStop(long timeoutMillis) {
      // Drive the worker to its end on this thread: its turns do not block.
      for (int i = 0; i < 10_000 && !stopped; i++) {
        if (running) {
          return false;
        }
        runTurn();
      }
      return stopped;
    }

    @Override
    public boolean inWorker() {
      return running;
    }
  }

  private record Event(long time, long seq, Runnable action) implements Comparable<Event> {
    @Override
    public int compareTo(Event o) {
      int c = Long.compare(time, o.time);
      return c != 0 ? c : Long.compare(seq, o.seq);
    }
  }
}
