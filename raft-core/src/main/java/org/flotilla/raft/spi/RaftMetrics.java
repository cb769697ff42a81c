package org.flotilla.raft.spi;

import org.flotilla.raft.NodeStatus;
import org.flotilla.raft.OverloadedException;
import org.flotilla.raft.RaftNode;
import org.flotilla.raft.cluster.Configuration;
import org.flotilla.raft.cluster.Role;
import org.flotilla.raft.internal.runtime.NoopMetrics;
import org.flotilla.raft.metrics.JmxRaftMetrics;

/**
 * Receives a node's measurements: counters and timings pushed as events happen, and live gauges
 * pulled through the {@link Gauges} handed to {@link #register(Gauges)}.
 *
 * <p>Set one per node with {@link RaftNode.Builder#metrics(RaftMetrics)}; the default, {@link
 * #noop()}, ignores everything. {@link JmxRaftMetrics} publishes them as MBeans; a few lines of
 * code adapt them to Micrometer or any other registry (see docs/metrics.md). Every method has a
 * default that does nothing, so an implementation overrides only what it records, and new
 * measurements can be added without breaking it.
 *
 * <p><b>Threading.</b> The methods are called from several of the node's threads, each named in its
 * javadoc: the event loop, the apply thread, the snapshot thread, the log store's sync thread, the
 * callback executor, and any user thread (for rejections). Implementations must therefore be
 * thread-safe, and must not block, take locks contended by other threads, allocate per call, or
 * throw: the event-loop and apply-thread methods are on the path of every write. Counters in {@link
 * java.util.concurrent.atomic.LongAdder}s and maxima in {@link
 * java.util.concurrent.atomic.AtomicLong}s are the intended shape. An exception thrown by an
 * implementation is a bug in it; the node does not catch it, and it stops the node like any other
 * failure of its threads.
 *
 * <p>Durations are in nanoseconds of the node's {@link Scheduler} clock.
 */
public interface RaftMetrics {

  /**
   * Returns the metrics that record nothing, the default.
   *
   * @return the no-op metrics
   */
  static RaftMetrics noop() {
    return NoopMetrics.INSTANCE;
  }

  /**
   * Called once by {@link RaftNode#start()}, on the caller's thread, before any other method: hands
   * over the node's live gauges, which stay valid until {@link #unregister()}. A JMX implementation
   * registers its MBeans here.
   *
   * @param gauges the node's gauges
   */
  default void register(Gauges gauges) {}

  /**
   * Called once when the node is closed, on the thread that closes it. A JMX implementation
   * unregisters its MBeans here. A node stopped by a fatal error keeps its metrics registered until
   * it is closed, so that monitoring sees the failure ({@link #nodeFailed}, the {@link Role#FAILED}
   * role).
   */
  default void unregister() {}

  /**
   * The node stopped after a fatal error: it is {@link Role#FAILED} until restarted. Called once,
   * on the thread that met the error (the event loop, the apply thread, the log store's sync thread
   * or a transport thread).
   *
   * @param failure what failed, at which index, and the error ({@link NodeStatus#failure()})
   */
  default void nodeFailed(NodeStatus.Failure failure) {}

  /**
   * The leader accepted a command into its log. Event loop.
   *
   * @param bytes the command's size
   */
  default void proposalAccepted(int bytes) {}

  /**
   * A command was refused because of backpressure ({@link OverloadedException}: too many pending
   * operations or bytes, a full event-loop queue, or too many uncommitted entries). Any thread: the
   * submitting user thread or the event loop.
   */
  default void proposalRejected() {}

  /**
   * The node handed entries to {@link org.flotilla.raft.spi.LogStore#append} (one batch, one call).
   * Event loop.
   *
   * @param entries the batch's size in entries
   * @param nanos how long the call took (writing into the page cache; not the fsync)
   */
  default void logAppended(int entries, long nanos) {}

  /**
   * The log store forced entries to stable storage (one group commit). The log store's sync thread;
   * reported only by stores that measure it (see {@link
   * org.flotilla.raft.spi.LogStore.DurabilityListener#synced}).
   *
   * @param entries how many entries became durable with this sync (0 for a sync of other data)
   * @param bytes how many bytes it covered
   * @param nanos how long the fsync took
   */
  default void logSynced(long entries, long bytes, long nanos) {}

  /**
   * Entries became committed and were handed to the apply thread. Event loop.
   *
   * @param entries how many
   * @param commitIndex the new commit index
   */
  default void entriesCommitted(int entries, long commitIndex) {}

  /**
   * The state machine applied a batch of committed entries. Apply thread.
   *
   * @param entries how many entries the batch held
   * @param nanos how long applying them took, sessions bookkeeping included
   */
  default void entriesApplied(int entries, long nanos) {}

  /**
   * This node became a candidate (after a successful pre-vote, if enabled). Event loop.
   *
   * @param term the election's term
   */
  default void electionStarted(long term) {}

  /**
   * This node won an election and became leader. Event loop.
   *
   * @param term the term it leads
   */
  default void electionWon(long term) {}

  /**
   * The leader this node knows of changed to another, known, member. Event loop.
   *
   * @param leaderId the new leader
   * @param term its term
   */
  default void leaderChanged(String leaderId, long term) {}

  /**
   * This node's configuration changed; MBeans of new peers may be registered. Callback executor.
   *
   * @param configuration the new configuration
   */
  default void membershipChanged(Configuration configuration) {}

  /**
   * The node wrote a snapshot of its state machine and it is durable. Snapshot thread.
   *
   * @param index the snapshot's last included index
   * @param bytes its size
   * @param nanos how long capturing and writing it took
   */
  default void snapshotTaken(long index, long bytes, long nanos) {}

  /**
   * The node installed a snapshot received from the leader. Event loop.
   *
   * @param index the snapshot's last included index
   * @param bytes its size
   */
  default void snapshotInstalled(long index, long bytes) {}

  /**
   * A node's live values, read by a metrics implementation when it is asked for them (a JMX
   * attribute read, a scrape). Every method is thread-safe, never blocks and returns a recent
   * value: scalars are published by the event loop after every turn, per-peer values every ten
   * ticks and on every role or membership change.
   */
  interface Gauges {

    /**
     * Returns the group's id ({@link RaftNode.Builder#groupId(String)}).
     *
     * @return the group id
     */
    String groupId();

    /**
     * Returns this member's id.
     *
     * @return the node id
     */
    String nodeId();

    /**
     * Returns the current term.
     *
     * @return the term, 0 before start
     */
    long term();

    /**
     * Returns the current role.
     *
     * @return the role, null before start
     */
    Role role();

    /**
     * Returns the leader this node knows of.
     *
     * @return its id, or null if none is known
     */
    String leader();

    /**
     * Returns the commit index.
     *
     * @return the index
     */
    long commitIndex();

    /**
     * Returns the index the state machine has applied.
     *
     * @return the index
     */
    long appliedIndex();

    /**
     * Returns the index of the last log entry.
     *
     * @return the index
     */
    long lastIndex();

    /**
     * Returns a recent status of the node, whose {@link NodeStatus#peers()} hold, on a leader, each
     * follower's match index (its lag is {@link #lastIndex()} minus it).
     *
     * @return the status, null before start
     */
    NodeStatus status();

    /**
     * Returns the transport's per-peer counters and connection states ({@link
     * org.flotilla.raft.spi.Transport#peerStats()}).
     *
     * @return one entry per peer; empty if the transport does not report them
     */
    java.util.List<org.flotilla.raft.spi.PeerStats> transportPeers();
  }
}
