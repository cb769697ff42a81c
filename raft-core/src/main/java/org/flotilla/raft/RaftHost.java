package org.flotilla.raft;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.ForkJoinPool;
import org.flotilla.raft.cluster.Member;
import org.flotilla.raft.internal.runtime.HostLiveness;
import org.flotilla.raft.internal.runtime.PooledScheduler;
import org.flotilla.raft.spi.HostStorage;
import org.flotilla.raft.spi.HostTransport;
import org.flotilla.raft.spi.LogStore;
import org.flotilla.raft.spi.MetaStore;
import org.flotilla.raft.spi.Scheduler;
import org.flotilla.raft.spi.SnapshotStore;
import org.flotilla.raft.spi.Transport;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Hosts many Raft groups in one process ("multi-raft"): a service that shards its data over many
 * groups creates one host per process and one {@link RaftNode} per group replica it holds.
 *
 * <p>The host owns what its groups share, so that a group costs memory, not threads or files:
 *
 * <ul>
 *   <li>a fixed set of threads: event loops (each group pinned to one), apply threads and snapshot
 *       writers; their number depends on the machine, not on the number of groups;
 *   <li>the transport ({@link HostTransport}): one connection per remote host, whatever the number
 *       of groups, each message carrying its group's id;
 *   <li>the storage ({@link HostStorage}): one write-ahead log for every group, one {@code fsync}
 *       for the appends of all groups;
 *   <li>liveness: each host tells every host its groups share one small message per heartbeat
 *       interval, whatever the number of groups, so that idle groups can stop their own timers.
 * </ul>
 *
 * <p><b>Quiescence.</b> A group with nothing to do (every entry committed and held by every member,
 * no request in flight) quiesces: its leader's heartbeat tells the followers, and then no member of
 * it ticks or sends anything, so an idle group costs no CPU and no network. Any request or message
 * wakes it. A host not heard from for an election timeout is down, and the groups it leads or
 * follows here wake: their election timers and CheckQuorum run again, and a group whose leader was
 * there elects another within a few election timeouts. See docs/architecture.md, "Quiescence", for
 * the bound and why leases and CheckQuorum stay safe; {@link Builder#quiescence(boolean)} turns it
 * off.
 *
 * <p>A host is one member of each of its groups, under the host's id: every group's members are
 * hosts, named by their ids, with the hosts' transport addresses. A group is created with {@link
 * #newGroup(String)}, which returns a {@link RaftNode.Builder} with the host's parts filled in (the
 * caller gives the state machine, the members, and options if not the host's); the node it builds
 * is started and used as any other. {@link #removeGroup(String)} stops a group's replica here and
 * deletes its data.
 *
 * <pre>{@code
 * RaftHost host = RaftHost.builder()
 *     .id("s1")
 *     .transport(nettyHostTransport)
 *     .storage(FileHostStorage.open(Path.of("/var/lib/app/raft"))) // raft-storage
 *     .build();
 * RaftNode shard = host.newGroup("shard-7")
 *     .stateMachine(new ShardMachine())
 *     .bootstrap(List.of(Member.of("s1", "10.0.0.1:7000"), Member.of("s2", "10.0.0.2:7000"),
 *                        Member.of("s3", "10.0.0.3:7000")))
 *     .build();
 * shard.start();
 * }</pre>
 *
 * <p>Thread-safe: groups may be created, removed and used from any thread.
 */
public final class RaftHost implements AutoCloseable {

  private static final Logger LOG = LoggerFactory.getLogger(RaftHost.class);

  private final String id;
  private final HostTransport transport;
  private final HostStorage storage;
  // the host's own threads, or null when the builder was given a scheduler
  private final PooledScheduler threads;
  private final Scheduler scheduler;
  private final RaftOptions options;
  private final Executor callbackExecutor;
  // Every group built on this host and not removed; a closed group stays until removed or
  // replaced by a new node for the same group.
  private final ConcurrentHashMap<String, RaftNode> groups = new ConcurrentHashMap<>();
  // null when quiescence is off: no group quiesces, so none needs host-level liveness
  private final HostLiveness liveness;
  private volatile boolean closed;

  private RaftHost(Builder b) {
    this.id = b.id;
    this.transport = b.transport;
    this.storage = b.storage;
    this.options = b.options;
    this.callbackExecutor = b.callbackExecutor;
    this.threads =
        b.scheduler != null
            ? null
            : new PooledScheduler("flotilla-" + b.id, b.loopThreads, b.applyThreads, 1);
    this.scheduler = b.scheduler != null ? b.scheduler : threads;
    this.liveness =
        b.quiescence
            ? new HostLiveness(
                id,
                scheduler,
                transport.group(HostLiveness.GROUP),
                options.heartbeatInterval().toNanos(),
                options.electionTimeout().toNanos(),
                this::hostDown)
            : null;
    try {
      transport.start(id);
      if (liveness != null) {
        liveness.start();
      }
    } catch (IOException | RuntimeException e) {
      transport.close();
      closeThreads();
      throw e instanceof IOException io
          ? new UncheckedIOException("host " + id + " cannot start its transport: " + e, io)
          : (RuntimeException) e;
    }
  }

  /**
   * Returns a new builder.
   *
   * @return the builder
   */
  public static Builder builder() {
    return new Builder();
  }

  /**
   * Returns this host's member id, which is its id in every group it holds.
   *
   * @return the id
   */
  public String id() {
    return id;
  }

  /**
   * Returns a builder for this host's replica of a group, with the host's id, transport, storage,
   * threads, options and callback executor filled in. Set the state machine and the members ({@code
   * bootstrap}, {@code join}), and optionally other options, a listener or metrics; then {@link
   * RaftNode.Builder#build()} registers the node with this host. The builder refuses to build if
   * its id, transport, stores or scheduler were changed, or if this host already runs the group (a
   * group whose node was closed may be built again: it restarts from its stored data).
   *
   * @param groupId the group's id: 1 to 64 letters, digits, '.', '_' or '-'
   * @return the builder
   * @throws IllegalStateException if the host is closed
   */
  public RaftNode.Builder newGroup(String groupId) {
    checkOpen();
    RaftNode.Builder b = RaftNode.builder();
    b.host = this;
    b.id = id;
    b.groupId = groupId;
    b.scheduler = scheduler;
    b.options = options;
    b.callbackExecutor = callbackExecutor;
    return b;
  }

  /** Builds and registers a group's node from a builder of {@link #newGroup(String)}. */
  RaftNode build(RaftNode.Builder b) {
    checkOpen();
    if (!id.equals(b.id)
        || b.scheduler != scheduler
        || b.transport != null
        || b.logStore != null
        || b.metaStore != null
        || b.snapshotStore != null) {
      throw new IllegalArgumentException(
          "a group of a RaftHost runs with the host's id, threads, transport and storage: do not"
              + " set id, scheduler, transport or stores on the builder of newGroup");
    }
    String groupId = b.groupId;
    // Checked before the group's storage is opened under that name.
    RaftNode.Builder.checkGroupId(groupId);
    if (HostLiveness.GROUP.equals(groupId)) {
      throw new IllegalArgumentException(
          "group id " + groupId + " is reserved for the hosts' liveness messages");
    }
    return groups.compute(
        groupId,
        (g, existing) -> {
          if (existing != null && !existing.isClosed()) {
            throw new IllegalStateException(
                "host " + id + " already runs group " + g + "; remove it or close it first");
          }
          return open(b, g);
        });
  }

  /** Opens the group's transport and stores into the builder and builds; closes them on failure. */
  private RaftNode open(RaftNode.Builder b, String groupId) {
    List<AutoCloseable> opened = new ArrayList<>();
    try {
      Transport t = transport.group(groupId);
      opened.add(t);
      if (liveness != null) {
        t = liveness.track(groupId, t);
      }
      LogStore log = storage.logStore(groupId);
      opened.add(log);
      MetaStore meta = storage.metaStore(groupId);
      opened.add(meta);
      SnapshotStore snapshots = storage.snapshotStore(groupId);
      opened.add(snapshots);
      b.transport = t;
      b.logStore = log;
      b.metaStore = meta;
      b.snapshotStore = snapshots;
      RaftNode node = b.buildAlone();
      LOG.debug("host {}: group {} created", id, groupId);
      return node;
    } catch (RuntimeException | Error e) {
      b.transport = null;
      b.logStore = null;
      b.metaStore = null;
      b.snapshotStore = null;
      for (AutoCloseable c : opened) {
        try {
          c.close();
        } catch (Exception suppressed) {
          e.addSuppressed(suppressed);
        }
      }
      throw e;
    }
  }

  /**
   * Returns this host's node of a group, if the host has one (running or closed, not removed).
   *
   * @param groupId the group's id
   * @return the node
   */
  public Optional<RaftNode> group(String groupId) {
    return Optional.ofNullable(groups.get(groupId));
  }

  /**
   * Returns the ids of the groups this host has, running or closed (not removed), sorted.
   *
   * @return a fresh list
   */
  public List<String> groupIds() {
    List<String> ids = new ArrayList<>(groups.keySet());
    ids.sort(null);
    return ids;
  }

  /**
   * Stops this host's replica of a group and deletes its data: log entries, term and vote,
   * snapshots. Take the member out of the group's configuration first ({@link
   * RaftNode#removeMember(String)} on the group's leader), or the other members keep counting on
   * it. Does nothing if the host has no such group.
   *
   * @param groupId the group's id
   * @throws org.flotilla.raft.spi.StorageException if the data cannot be deleted
   */
  public void removeGroup(String groupId) {
    RaftNode node = groups.remove(groupId);
    if (node == null) {
      return;
    }
    node.close();
    storage.removeGroup(groupId);
    LOG.info("host {}: group {} removed and its data deleted", id, groupId);
  }

  /**
   * Returns how many of this host's groups are quiesced now: idle, with no timer running and
   * nothing sent (see the class comment). For monitoring; each group's state is as of its event
   * loop's last turn.
   *
   * @return the number of quiesced groups
   */
  public int quiescedGroups() {
    int n = 0;
    for (RaftNode node : groups.values()) {
      if (node.quiesced()) {
        n++;
      }
    }
    return n;
  }

  /**
   * Returns the remote hosts this host considers down now: named by one of its groups and not heard
   * from for an election timeout. Empty when quiescence is off (no liveness is kept).
   *
   * @return the hosts' ids, sorted
   */
  public List<String> downHosts() {
    return liveness == null ? List.of() : liveness.downHosts();
  }

  /** The liveness worker found {@code host} down: wake the quiesced groups that share it. */
  private void hostDown(String host) {
    for (RaftNode node : groups.values()) {
      node.hostDown(host);
    }
  }

  /** Whether this host's groups quiesce when idle. */
  boolean quiescence() {
    return liveness != null;
  }

  /**
   * Returns how many threads the host runs for its groups' event loops, applies and snapshots:
   * fixed when it is built, whatever the number of groups. The transport's and the storage's own
   * threads come on top. Zero when the builder was given a {@linkplain Builder#scheduler
   * scheduler}.
   *
   * @return the number of threads
   */
  public int threads() {
    return threads == null ? 0 : threads.threads();
  }

  private void closeThreads() {
    if (threads != null) {
      threads.close();
    }
  }

  /**
   * Stops every group (their data stays, for a later start), then the transport, the storage and
   * the threads.
   */
  @Override
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    for (RaftNode node : groups.values()) {
      try {
        node.close();
      } catch (RuntimeException e) {
        LOG.error("host {}: closing {} failed", id, node, e);
      }
    }
    if (liveness != null) {
      liveness.close();
    }
    transport.close();
    storage.close();
    closeThreads();
    LOG.info("host {} closed ({} groups)", id, groups.size());
  }

  private void checkOpen() {
    if (closed) {
      throw new IllegalStateException("host " + id + " is closed");
    }
  }

  /** Builds a {@link RaftHost}; {@link #build()} checks every setting. Not thread-safe. */
  public static final class Builder {
    private String id;
    private HostTransport transport;
    private HostStorage storage;
    private RaftOptions options = RaftOptions.defaults();
    private Executor callbackExecutor = ForkJoinPool.commonPool();
    private int loopThreads = Runtime.getRuntime().availableProcessors();
    private int applyThreads = Runtime.getRuntime().availableProcessors();
    private boolean quiescence = true;
    private Scheduler scheduler;

    private Builder() {}

    /**
     * Sets the host's member id, its id in every group; required.
     *
     * @param value 1 to 64 letters, digits, '.', '_' or '-'
     * @return this builder
     */
    public Builder id(String value) {
      this.id = value;
      return this;
    }

    /**
     * Sets the transport the groups share; required. The host closes it.
     *
     * @param value the transport
     * @return this builder
     */
    public Builder transport(HostTransport value) {
      this.transport = value;
      return this;
    }

    /**
     * Sets the storage the groups share; required. The host closes it.
     *
     * @param value the storage
     * @return this builder
     */
    public Builder storage(HostStorage value) {
      this.storage = value;
      return this;
    }

    /**
     * Sets the options a group gets unless its builder sets others (default {@link
     * RaftOptions#defaults()}).
     *
     * @param value the options
     * @return this builder
     */
    public Builder options(RaftOptions value) {
      this.options = value;
      return this;
    }

    /**
     * Sets the executor on which the groups' futures complete and listeners run (default the common
     * fork-join pool). It must not run tasks on the calling thread.
     *
     * @param value the executor
     * @return this builder
     */
    public Builder callbackExecutor(Executor value) {
      this.callbackExecutor = value;
      return this;
    }

    /**
     * Sets the number of event-loop threads and of apply threads (each default the number of
     * processors). A group's event loop and its applies each run on one thread of their kind; a
     * state machine that blocks holds up the other groups on its apply thread.
     *
     * @param loops event-loop threads, at least 1
     * @param appliers apply threads, at least 1
     * @return this builder
     */
    public Builder threads(int loops, int appliers) {
      this.loopThreads = loops;
      this.applyThreads = appliers;
      return this;
    }

    /**
     * Runs the host's groups and its liveness on the given scheduler instead of the host's own pool
     * of threads ({@link #threads(int, int)} is then ignored, and the host does not close it): for
     * the deterministic simulator, whose {@code VirtualScheduler} runs many hosts in virtual time
     * on one thread.
     *
     * @param value the scheduler
     * @return this builder
     */
    public Builder scheduler(Scheduler value) {
      this.scheduler = value;
      return this;
    }

    /**
     * Sets whether idle groups quiesce (default true): they stop ticking and sending heartbeats
     * until a request, a message or the failure of a peer's host wakes them, and the host sends
     * each remote host one liveness message per heartbeat interval instead. Off, every group ticks
     * and heartbeats all the time, as a single {@link RaftNode} does, and no liveness messages are
     * sent. Set it alike on every host: a follower on a host with it off never quiesces, so under a
     * quiesced leader its election timer fires and its vote request wakes the leader, about once
     * per election timeout.
     *
     * @param value whether idle groups quiesce
     * @return this builder
     */
    public Builder quiescence(boolean value) {
      this.quiescence = value;
      return this;
    }

    /**
     * Validates the settings and builds the host, starting its threads and its transport.
     *
     * @return the host
     * @throws IllegalArgumentException naming the first missing or invalid setting
     * @throws UncheckedIOException if the transport cannot start (its port is taken, say)
     */
    public RaftHost build() {
      if (id == null) {
        throw new IllegalArgumentException("id is required");
      }
      Member.of(id); // validates the id's characters
      if (transport == null) {
        throw new IllegalArgumentException("transport is required");
      }
      if (storage == null) {
        throw new IllegalArgumentException("storage is required");
      }
      if (options == null || callbackExecutor == null) {
        throw new IllegalArgumentException("options and callbackExecutor must not be null");
      }
      if (loopThreads < 1 || applyThreads < 1) {
        throw new IllegalArgumentException(
            "threads: at least one of each, got " + loopThreads + " and " + applyThreads);
      }
      return new RaftHost(this);
    }
  }
}
