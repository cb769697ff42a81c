package org.flotilla.raft.spi;

import java.util.SplittableRandom;
import java.util.random.RandomGenerator;
import org.flotilla.raft.internal.runtime.ThreadScheduler;

/**
 * Runs a node's workers and tells it the time and its random numbers.
 *
 * <p>A node has a few workers (its event loop, its apply thread, its snapshot writer), each a
 * {@link Turn} that the scheduler calls again and again, never concurrently with itself. The
 * default, {@link #system()}, gives each worker its own thread and uses the system clocks. The
 * deterministic simulator supplies a scheduler that runs every worker on its own thread in virtual
 * time, and draws every random number from its seed, so that the real runtime can be tested with
 * faults from a seed and a run replays exactly.
 *
 * <p>Implementations are thread-safe.
 */
public interface Scheduler {

  /**
   * Returns the scheduler that runs each worker on its own daemon thread with the system clocks.
   *
   * @return the scheduler
   */
  static Scheduler system() {
    return ThreadScheduler.INSTANCE;
  }

  /**
   * Returns a monotonic time in nanoseconds, for timers.
   *
   * @return the time
   */
  long nanoTime();

  /**
   * Returns a new source of random numbers for one node, which the node uses on its event loop only
   * (for the jitter of its election timeouts). A node calls this once each time it starts, on the
   * thread that calls {@code RaftNode.start()}.
   *
   * <p>The default returns a new unseeded {@link SplittableRandom}, so that the members of a group
   * draw different timeouts. A deterministic scheduler (the simulator's {@code VirtualScheduler})
   * returns one derived from its seed, so that the same seed gives the same run.
   *
   * @return a random number generator for one node, not shared with another
   */
  default RandomGenerator random() {
    return new SplittableRandom();
  }

  /**
   * Starts a worker.
   *
   * @param name the worker's name (a thread name, for the system scheduler)
   * @param turn what the worker does on each turn
   * @return the worker's handle
   */
  Worker start(String name, Turn turn);

  /**
   * Starts a node's event loop. Its turns take microseconds and never wait for another thread of
   * the node (they may wait for a synchronous {@code fsync} of the term and vote, or for the log's
   * bound on unsynced bytes), so a scheduler may run them on a thread it shares with other work,
   * such as a network I/O event loop: the transport then hands messages to the node, and the node
   * hands messages to the transport, without a thread hand-off in either direction (see {@code
   * NettyTransport.scheduler()}). The default starts it like any other worker.
   *
   * @param name the worker's name
   * @param turn what the worker does on each turn
   * @return the worker's handle
   */
  default Worker startEventLoop(String name, Turn turn) {
    return start(name, turn);
  }

  /**
   * Starts a worker whose turns may block for long: a node's snapshot writer, whose one turn writes
   * a whole snapshot. A scheduler that shares threads among many nodes (a {@code RaftHost}'s) runs
   * such workers apart from the apply workers, so that one long snapshot does not hold up other
   * groups' applies. The default starts it like any other worker.
   *
   * @param name the worker's name
   * @param turn what the worker does on each turn
   * @return the worker's handle
   */
  default Worker startBlocking(String name, Turn turn) {
    return start(name, turn);
  }

  /** One turn of a worker's work. */
  @FunctionalInterface
  interface Turn {

    /**
     * Does the work that is ready and returns at once; never blocks on another thread's progress.
     * One exception is allowed by design: a turn of the snapshot or apply worker may do the slow
     * I/O it exists for (writing a snapshot, calling the state machine), and a log store's own
     * thread syncs the disk; but the event loop's turn never waits on the disk or on another
     * worker: it hands such work off and learns of its end through a queued completion. A blocking
     * event-loop turn would stop elections and heartbeats for every group on that thread.
     *
     * @return the most nanoseconds to wait before the next turn (the worker also runs early when
     *     woken); {@link Long#MAX_VALUE} to wait for a wake-up only; a negative value to stop the
     *     worker for good
     */
    long run();
  }

  /** A started worker. */
  interface Worker {

    /** Makes the worker take a turn soon. Callable from any thread; never blocks. */
    void wake();

    /**
     * Waits until the worker has stopped (its turn returned a negative value).
     *
     * @param timeoutMillis the longest wait
     * @return true if it stopped in time
     */
    boolean awaitStop(long timeoutMillis);

    /**
     * Tells whether the caller is running a turn of this worker.
     *
     * @return true on the worker's own thread
     */
    boolean inWorker();
  }
}
