package org.flotilla.raft;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import org.flotilla.raft.cluster.Role;

/**
 * The user's replicated state: the one callback a service implements to become replicated.
 *
 * <p><b>Contract.</b>
 *
 * <ul>
 *   <li><b>Deterministic.</b> {@link #apply(long, ByteBuffer)} must compute the same result and the
 *       same new state on every member from the same state and command: no clocks, random numbers,
 *       thread timing or I/O outside the state. (A timestamp a command needs must be in the
 *       command.)
 *   <li><b>Threading.</b> {@link #apply}, {@link #query}, {@link #snapshot()} and {@link #restore}
 *       are called on the node's single apply thread, one at a time, never concurrently with each
 *       other. Only {@link Snapshot#writeTo(OutputStream)} runs on another thread (the node's
 *       snapshot thread), concurrently with later applies. A state machine whose queries are
 *       thread-safe may say so with {@link #concurrentQueries()}; {@code query} may then also run
 *       on the node's event loop thread, concurrently with {@code apply} (never with {@code
 *       restore}).
 *   <li><b>Order.</b> Commands are applied exactly in log order, each exactly once per incarnation
 *       of the state (after a restart the state is restored from the newest snapshot and the log
 *       after it is applied again). Client retries are deduplicated by the node when the client
 *       uses a session ({@link RaftNode#submit(String, long, ByteBuffer)}), so {@code apply} does
 *       not see them.
 *   <li><b>Failures.</b> If {@code apply} throws, the node stops applying (it never skips an entry)
 *       and stops: its status reports {@link Role#FAILED} with the entry's index and the exception
 *       ({@link NodeStatus#failure()}), its listeners and metrics hear of it, and pending and new
 *       work fail with {@link NodeStoppedException}. The way out is to fix the state machine and
 *       restart the member on the same stores: it applies the same entry again, with the fixed
 *       code, and catches up. A state machine that cannot apply a command must encode that outcome
 *       in its result instead of throwing.
 *   <li><b>Buffers.</b> The command buffer is read-only and valid only during the call; copy what
 *       you keep. Returned buffers are handed to the caller's future as they are.
 * </ul>
 */
public interface StateMachine {

  /**
   * Applies a committed command.
   *
   * @param index the command's log index
   * @param command the command's bytes (read-only)
   * @return the result for the submitter's future (may be null or empty)
   */
  ByteBuffer apply(long index, ByteBuffer command);

  /**
   * Answers a read-only query against the current state. Must not change the state.
   *
   * @param query the query's bytes (read-only)
   * @return the answer
   */
  ByteBuffer query(ByteBuffer query);

  /**
   * Tells whether {@link #query} may run on the node's event loop thread, concurrently with {@link
   * #apply}. Read once, when the node is built. The default is false: every query runs on the apply
   * thread.
   *
   * <p>When true, a linearizable or lease read whose read index the apply thread has already
   * reached is answered on the event loop as soon as its index is confirmed, without a hand-off to
   * the apply thread and back (measured in docs/performance.md). A read whose index is not yet
   * applied still waits on the apply thread, and no query runs while a snapshot is being restored.
   * Stale reads always run on the apply thread. In return the state machine promises:
   *
   * <ul>
   *   <li>{@code query} is thread-safe against a concurrent {@code apply} and sees the effect of
   *       each applied command either entirely or not at all (for example a map from key to value
   *       in a {@link java.util.concurrent.ConcurrentHashMap}, each command changing one key);
   *   <li>{@code query} is quick and does not block: the event loop, which also sends heartbeats,
   *       waits for it.
   * </ul>
   *
   * <p>A query may then see commands applied after the read's index, which linearizability allows:
   * they were committed before the query ran.
   *
   * @return whether queries may run on the event loop, concurrently with applies
   */
  default boolean concurrentQueries() {
    return false;
  }

  /**
   * Captures a consistent view of the state for a snapshot. Called on the apply thread; return
   * quickly (for example with a copy-on-write view or an immutable copy) and do the writing in the
   * returned {@link Snapshot}, which runs on the snapshot thread while applying continues. If it
   * throws, the node treats it as it treats a failing {@code apply}: a fatal error, and the node
   * stops.
   *
   * @return the writer of the captured state
   */
  Snapshot snapshot();

  /**
   * Replaces the whole state with a snapshot written by {@link Snapshot#writeTo(OutputStream)}.
   * Afterwards the state is that after applying every entry up to {@code index}: the next {@link
   * #apply} is of entry {@code index + 1}.
   *
   * @param index the index of the last entry the snapshot covers
   * @param term the term of that entry
   * @param in the snapshot's bytes; read to the end or not, the node closes it
   * @throws IOException if the snapshot cannot be read; the node stops
   */
  void restore(long index, long term, InputStream in) throws IOException;

  /**
   * Writes a captured view of the state, and releases what the view holds (a copy-on-write
   * reference, a pinned file, a read transaction) when it is closed.
   *
   * <p>The node closes every snapshot it got from {@link #snapshot()} exactly once, whatever
   * happens: on the snapshot thread after {@link #writeTo} returned or threw, or on the apply
   * thread without calling it when the snapshot is abandoned (the snapshot thread refused it
   * because the node is stopping). A snapshot that holds nothing needs no {@code close}: the
   * default does nothing.
   */
  @FunctionalInterface
  interface Snapshot extends AutoCloseable {

    /**
     * Writes the captured state. Runs on the node's snapshot thread.
     *
     * @param out where to write; the node buffers, checksums and syncs it
     * @throws IOException if it cannot be written; the snapshot is abandoned (logged, and the
     *     future of {@link RaftNode#takeSnapshot()} fails) and the next one is taken when the
     *     thresholds are next passed or on the next request
     */
    void writeTo(OutputStream out) throws IOException;

    /**
     * Releases what the captured view holds. Called once, after {@link #writeTo} or instead of it.
     * An exception thrown here is logged and otherwise ignored: the snapshot was already written or
     * abandoned.
     */
    @Override
    default void close() {}
  }
}
