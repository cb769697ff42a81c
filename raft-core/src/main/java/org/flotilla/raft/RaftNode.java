package org.flotilla.raft;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.ForkJoinPool;
import org.flotilla.raft.cluster.Configuration;
import org.flotilla.raft.cluster.Member;
import org.flotilla.raft.cluster.Role;
import org.flotilla.raft.internal.runtime.Bootstrap;
import org.flotilla.raft.internal.runtime.NodeRuntime;
import org.flotilla.raft.internal.runtime.RuntimeSetup;
import org.flotilla.raft.metrics.JmxRaftMetrics;
import org.flotilla.raft.spi.LogStore;
import org.flotilla.raft.spi.MetaStore;
import org.flotilla.raft.spi.RaftMetrics;
import org.flotilla.raft.spi.Scheduler;
import org.flotilla.raft.spi.SnapshotMeta;
import org.flotilla.raft.spi.SnapshotStore;
import org.flotilla.raft.spi.Transport;

/**
 * One member of a Raft group, embedded in the user's service.
 *
 * <pre>{@code
 * RaftNode node = RaftNode.builder()
 *     .id("n1")
 *     .bootstrap(List.of(Member.of("n1", "10.0.0.1:7000"), Member.of("n2", "10.0.0.2:7000"),
 *         Member.of("n3", "10.0.0.3:7000")))
 *     .stateMachine(myStateMachine)
 *     .transport(transport).logStore(log).metaStore(meta).snapshotStore(snapshots)
 *     .build();
 * node.start();
 * node.submit(command).thenAccept(result -> ...);
 * node.read(query, ReadConsistency.LINEARIZABLE).thenAccept(result -> ...);
 * }</pre>
 *
 * <p><b>Futures.</b> Every operation returns a future, completed on the callback executor (the
 * common fork-join pool unless set), never on the node's event loop or apply thread, so code
 * chained on it cannot stall the node. Failures are {@link RaftException}s that say whether the
 * operation may have taken effect: {@link NotLeaderException}, {@link OverloadedException} and
 * {@link CommandRejectedException} mean it did not; {@link NodeStoppedException} and a timeout the
 * caller adds (with {@code orTimeout}) mean the outcome is unknown: such a command may still be
 * applied later, unless it was submitted in a session, where a retry is applied at most once.
 *
 * <p><b>Ownership.</b> The node owns the transport and stores given to it: it starts the transport
 * and closes all of them in {@link #close()}.
 *
 * <p><b>Lifecycle.</b> A node is started once and closed once; it cannot be restarted (build a new
 * node on the same stores instead). A call in the wrong state never changes a running node:
 *
 * <ul>
 *   <li>{@link #start()} a second time, or after {@link #close()}, throws {@link
 *       IllegalStateException} and leaves the node as it was. A start that fails stops the threads
 *       it started and leaves the node not running; {@link #close()} then releases the transport
 *       and stores.
 *   <li>{@link #close()} is idempotent; it may also be called before {@link #start()}.
 *   <li>Before start and after close (or a fatal error), every operation that returns a future
 *       ({@code submit}, {@code read}, the membership calls, {@link #transferLeadership}, {@link
 *       #takeSnapshot}) returns one failed with {@link NodeStoppedException}; such a call proposed
 *       nothing (only operations pending when the node stops have an unknown outcome).
 *   <li>{@link #addListener} after close throws {@link IllegalStateException}: the listener would
 *       never be called.
 *   <li>{@link #id()}, {@link #isRunning()}, {@link #status()} and {@link #leader()} always answer;
 *       after close, status and leader are the last view before the node stopped.
 * </ul>
 *
 * <p>Thread-safe: every method may be called from any thread.
 */
public final class RaftNode implements AutoCloseable {

  private final NodeRuntime runtime;
  private final String id;

  private RaftNode(Builder b) {
    this.id = b.id;
    this.runtime =
        new NodeRuntime(
            new RuntimeSetup(
                this,
                b.id,
                b.groupId,
                b.members,
                b.learners,
                b.join,
                b.stateMachine,
                b.transport,
                b.logStore,
                b.metaStore,
                b.snapshotStore,
                b.options,
                b.callbackExecutor,
                b.listener,
                b.scheduler,
                b.metrics,
                b.host != null && b.host.quiescence()));
  }

  /** {@return a new builder} */
  public static Builder builder() {
    return new Builder();
  }

  /**
   * Seeds the empty storage of one member of a <em>new</em> group with the state of a backup
   * snapshot, so that the group starts where the backup left off (docs/operations.md, "Restoring a
   * group from a backup"). Run it with the same backup and the same voters for every member of the
   * new group before any of them starts, then start each with {@code bootstrap(voters)}.
   *
   * <p>The seeded snapshot keeps the backup's index, term and bytes (the state machine's state and
   * the client sessions, so that retries of requests acknowledged before the backup stay
   * exactly-once) and takes {@code voters} as the group's configuration: the backup's own members
   * are ignored, so the new group may have other ids and addresses. {@code voters} is also stored
   * as the member's initial configuration ({@link MetaStore#saveInitialConfiguration}), so that its
   * start with {@code bootstrap(voters)} (or with no list) agrees. The member's term is set to the
   * backup's, since the log continues after an entry of that term.
   *
   * <p>It refuses storage that holds anything of its own (log entries, a snapshot, a vote, or a
   * term beyond the backup's), so it can never overwrite a member that has run; it may be run again
   * on storage that a crash left half-seeded. The backup's bytes are checked against its checksum
   * as they are copied: a damaged backup is refused and nothing is committed.
   *
   * @param backup the snapshot to start from, for example {@code FileSnapshotStore.readBackup}
   * @param voters the voters of the new group, this member among them
   * @param log the member's log, which must be empty
   * @param meta the member's term and vote, which must be unset
   * @param snapshots the member's snapshot store, which must be empty
   * @return what the seeded snapshot covers
   * @throws IllegalStateException if the storage is not empty, or stores another initial
   *     configuration
   * @throws IllegalArgumentException if {@code voters} is empty or lists an id twice
   * @throws IOException if the backup cannot be read or does not match its checksum, or the
   *     snapshot cannot be written
   */
  public static SnapshotMeta restoreFromBackup(
      SnapshotStore.Stored backup,
      List<Member> voters,
      LogStore log,
      MetaStore meta,
      SnapshotStore snapshots)
      throws IOException {
    return Bootstrap.restoreFromBackup(backup, voters, log, meta, snapshots);
  }

  /** {@return this member's id} */
  public String id() {
    return id;
  }

  /**
   * Starts the node: restores the newest snapshot, recovers the log, starts the transport and the
   * node's threads. A new group elects a leader among the initial members within a few election
   * timeouts.
   *
   * <p>First, before it sends or answers anything, the node settles the configuration it starts
   * from (see {@link Builder#bootstrap}): on its first start it stores the one it is given (or,
   * after {@link Builder#join()}, that it has none of its own); on later starts it uses the stored
   * one and refuses a builder list that differs from it with an {@link IllegalStateException}
   * naming both lists.
   *
   * @throws UncheckedIOException if the stores or the transport cannot start; the node is then not
   *     running, the threads the start began have stopped, and {@link #close()} releases the
   *     transport and stores
   * @throws IllegalStateException if start was called before (whether it succeeded or failed) or
   *     the node is closed; the node is unchanged
   */
  public void start() {
    try {
      runtime.start();
    } catch (IOException e) {
      throw new UncheckedIOException(id + " cannot start: " + e.getMessage(), e);
    }
  }

  /**
   * Closes the node gracefully: stops accepting work, fails pending futures with {@link
   * NodeStoppedException}, makes appended entries durable, and closes the transport and stores.
   * Idempotent; also releases a node that was never started or whose start failed. A node stopped
   * by a fatal error has released its transport and stores itself: closing it waits until that is
   * done (so that a node restarted on the same stores finds them free) and unregisters its metrics,
   * which it kept so that monitoring sees the failure.
   */
  @Override
  public void close() {
    runtime.close();
  }

  /**
   * Tells whether the node is running (started, not closed, no fatal error). After a fatal error
   * {@link #status()} tells why it stopped.
   *
   * @return true while running
   */
  public boolean isRunning() {
    return runtime.isRunning();
  }

  /** Tells whether the group is quiesced here (see {@link RaftHost}); for {@link RaftHost}. */
  boolean quiesced() {
    return runtime.quiesced();
  }

  /** Wakes the group if quiesced and {@code member}'s host is down; for {@link RaftHost}. */
  void hostDown(String member) {
    runtime.hostDown(member);
  }

  /** Tells whether the node was closed (and will never run again); for {@link RaftHost}. */
  boolean isClosed() {
    return runtime.isClosed();
  }

  /**
   * Submits a command to the replicated state machine. Only the leader proposes commands; on
   * another member the future fails at once with {@link NotLeaderException}, which names the leader
   * if known, unless {@link RaftOptions#forwardToLeader()} is set: then the member forwards the
   * command to the leader it knows and completes the future once the entry is applied here.
   *
   * <p>A command whose entry (the command and its session header) is larger than {@link
   * RaftOptions#maxEntryBytes()} is refused on any member, leader or not, before anything is
   * proposed or forwarded: the future fails with {@link CommandTooLargeException}.
   *
   * @param command the command's bytes; not modified, and not used after the call returns
   * @return completed with the command's log index and the state machine's result once the command
   *     is committed and applied on this member
   */
  public CompletableFuture<Result> submit(ByteBuffer command) {
    return runtime.submit(null, 0, command);
  }

  /**
   * Submits a command in a client session, for exactly-once semantics: the group remembers each
   * client's last sequence number and result, so a retry of the same {@code (clientId, sequence)}
   * (for example after a timeout or a leader change) is not applied again and gets the first
   * result. A client's session opens with sequence number 1; then it must use increasing sequence
   * numbers and have at most one command outstanding. Sessions expire after {@link
   * RaftOptions#sessionTimeout()} of log time without commands; after that, the client's next
   * command (unless it is sequence 1 again) is refused, never applied twice, so a client must not
   * retry a command later than {@code sessionTimeout} after its first attempt. While {@link
   * RaftOptions#maxSessions()} sessions are open, a command that would open another is refused.
   *
   * @param clientId the client's id, 1 to 256 bytes of UTF-8
   * @param sequence the command's sequence number, increasing per client
   * @param command the command's bytes
   * @return as {@link #submit(ByteBuffer)}; fails with {@link CommandRejectedException} if a later
   *     command of the session was already applied, if the client has no session and {@code
   *     sequence} is not 1, or if it would open a session while {@code maxSessions} are open
   */
  public CompletableFuture<Result> submit(String clientId, long sequence, ByteBuffer command) {
    if (clientId == null) {
      throw new IllegalArgumentException("clientId is null");
    }
    return runtime.submit(clientId, sequence, command);
  }

  /**
   * Reads with linearizable consistency; see {@link #read(ByteBuffer, ReadConsistency)}.
   *
   * @param query the query's bytes, passed to {@link StateMachine#query(ByteBuffer)}
   * @return the answer
   */
  public CompletableFuture<Result> read(ByteBuffer query) {
    return read(query, ReadConsistency.LINEARIZABLE);
  }

  /**
   * Reads from the state machine without writing to the log.
   *
   * @param query the query's bytes, passed to {@link StateMachine#query(ByteBuffer)}
   * @param consistency how fresh the answer must be; see {@link ReadConsistency}
   * @return the answer with the applied index it was read at; fails with {@link NotLeaderException}
   *     if no leader is known or the leader lost its leadership before confirming the read, with
   *     {@link ReadNotConfirmedException} if no read index arrived within two election timeouts,
   *     and with {@link ReadTimeoutException} if this member did not apply up to the read index
   *     within two election timeouts; a failed read can always be retried
   */
  public CompletableFuture<Result> read(ByteBuffer query, ReadConsistency consistency) {
    return runtime.read(query, consistency);
  }

  /**
   * Adds a member as a learner, which receives the log but does not vote, and promotes it to voter
   * once it has caught up to within {@link RaftOptions#autoPromoteLagEntries()} (the promotion goes
   * through joint consensus). Leader only. The intent to promote is part of the configuration
   * ({@link Configuration#promotable()}), so a leader elected meanwhile carries it out.
   *
   * @param member the new member
   * @return completed when the learner is part of the committed configuration
   */
  public CompletableFuture<Result> addMember(Member member) {
    return runtime.changeMembership(c -> c.withLearner(member, true));
  }

  /**
   * Adds a member as a learner that stays a learner. Leader only.
   *
   * @param member the new learner
   * @return completed when the configuration with the learner is committed
   */
  public CompletableFuture<Result> addLearner(Member member) {
    return runtime.changeMembership(c -> c.withLearner(member, false));
  }

  /**
   * Promotes a learner to voter, through joint consensus. Leader only.
   *
   * @param memberId the learner
   * @return completed when the new configuration is committed
   */
  public CompletableFuture<Result> promote(String memberId) {
    return runtime.changeMembership(
        c -> {
          Member m =
              c.member(memberId)
                  .filter(x -> c.isLearner(memberId))
                  .orElseThrow(() -> new IllegalArgumentException(memberId + " is not a learner"));
          List<Member> voters = new ArrayList<>(c.voters());
          List<Member> learners = new ArrayList<>(c.learners());
          learners.remove(m);
          voters.add(m);
          return new Configuration(voters, List.of(), learners, c.promotable());
        });
  }

  /**
   * Removes a member (voter or learner). Removing a voter goes through joint consensus; a leader
   * that removes itself steps down once the new configuration is committed. Leader only.
   *
   * @param memberId the member
   * @return completed when the new configuration is committed
   */
  public CompletableFuture<Result> removeMember(String memberId) {
    return runtime.changeMembership(
        c -> {
          if (!c.contains(memberId)) {
            throw new IllegalArgumentException(memberId + " is not a member");
          }
          List<Member> voters = new ArrayList<>(c.voters());
          List<Member> learners = new ArrayList<>(c.learners());
          voters.removeIf(m -> m.id().equals(memberId));
          learners.removeIf(m -> m.id().equals(memberId));
          if (voters.isEmpty()) {
            throw new IllegalArgumentException(memberId + " is the last voter");
          }
          return new Configuration(voters, List.of(), learners, c.promotable());
        });
  }

  /**
   * Changes the membership to exactly these voters and learners, through joint consensus when the
   * voters change. Leader only; one change at a time.
   *
   * @param voters the new voters
   * @param learners the new learners
   * @return completed when the new configuration is committed
   */
  public CompletableFuture<Result> changeMembership(List<Member> voters, List<Member> learners) {
    Configuration target = Configuration.of(voters, learners);
    return runtime.changeMembership(c -> target);
  }

  /**
   * Hands leadership to another voter (thesis §3.10): the leader stops accepting commands, brings
   * the target up to date and tells it to start an election at once.
   *
   * @param memberId the target voter
   * @return completed when this member sees the target as leader; fails if that does not happen
   *     within two election timeouts
   */
  public CompletableFuture<Void> transferLeadership(String memberId) {
    return runtime.transferLeadership(memberId);
  }

  /**
   * Takes a snapshot now (normally taken every {@link RaftOptions#snapshotThresholdEntries()} or
   * {@link RaftOptions#snapshotThresholdBytes()}).
   *
   * @return completed with the snapshot's index once it is durable
   */
  public CompletableFuture<Long> takeSnapshot() {
    return runtime.takeSnapshot();
  }

  /**
   * Returns a recent view of the node (refreshed on every role or membership change and every ten
   * ticks). After a fatal error it reports {@link Role#FAILED} at once, with the {@link
   * NodeStatus#failure()} that stopped the node, until the node is closed.
   *
   * @return the status; after {@link #close()}, the last status before the node stopped
   * @throws IllegalStateException if the node has not been started
   */
  public NodeStatus status() {
    NodeStatus s = runtime.status();
    if (s == null) {
      throw new IllegalStateException("node " + id() + " has not been started");
    }
    return s;
  }

  /** {@return the leader this member knows of} */
  public Optional<Member> leader() {
    NodeStatus s = runtime.status();
    if (s == null) {
      return Optional.empty();
    }
    return s.leader().map(l -> s.configuration().member(l).orElse(Member.of(l)));
  }

  /**
   * Adds a listener of role, leader and membership changes.
   *
   * @param listener the listener, called on the callback executor
   * @throws IllegalStateException if the node is closed
   */
  public void addListener(RaftListener listener) {
    runtime.addListener(listener);
  }

  /** Builds a {@link RaftNode}; {@link #build()} validates. Not thread-safe. */
  public static final class Builder {
    private static final java.util.regex.Pattern GROUP_ID =
        java.util.regex.Pattern.compile("[A-Za-z0-9._-]{1,64}");

    String id;
    List<Member> members; // the initial voters; null when not given
    List<Member> learners = List.of();
    boolean join;
    StateMachine stateMachine;
    Transport transport;
    LogStore logStore;
    MetaStore metaStore;
    SnapshotStore snapshotStore;
    RaftOptions options = RaftOptions.defaults();
    Executor callbackExecutor = ForkJoinPool.commonPool();
    RaftListener listener;
    Scheduler scheduler = Scheduler.system();
    String groupId = "default";
    RaftMetrics metrics = RaftMetrics.noop();
    // The host whose group this builder builds (RaftHost.newGroup), or null for a node of its own.
    RaftHost host;

    private Builder() {}

    /**
     * Sets the id of the Raft group this node belongs to (default {@code "default"}). It names the
     * node in log lines (the {@code flotilla.group} MDC key and the line prefix) and in its MBeans;
     * use the transport's group id.
     *
     * @param value 1 to 64 letters, digits, '.', '_' or '-'
     * @return this builder
     */
    public Builder groupId(String value) {
      this.groupId = value;
      return this;
    }

    /**
     * Sets where the node reports its measurements (default {@link RaftMetrics#noop()}); for
     * example a {@link JmxRaftMetrics}, or an adapter to the service's own metrics registry. One
     * instance per node.
     *
     * @param value the metrics
     * @return this builder
     */
    public Builder metrics(RaftMetrics value) {
      this.metrics = value;
      return this;
    }

    /**
     * Sets the scheduler that runs the node's workers and tells the time (default {@link
     * Scheduler#system()}: a thread per worker and the system clocks). The deterministic simulator
     * passes its own.
     *
     * @param value the scheduler
     * @return this builder
     */
    public Builder scheduler(Scheduler value) {
      this.scheduler = value;
      return this;
    }

    /**
     * Sets this member's id (required).
     *
     * @param value the id; see {@link Member} for the allowed characters
     * @return this builder
     */
    public Builder id(String value) {
      this.id = value;
      return this;
    }

    /**
     * Starts a new group: sets its initial voters, the same list on every initial member, this one
     * included. On its first start the node stores them (with the {@linkplain #learners learners})
     * in its metadata before it takes part; on later starts it uses what it stored, and {@link
     * RaftNode#start()} refuses a list that differs from it, naming both. The initial configuration
     * is used until the log or a snapshot holds one (the group's first membership change, through
     * {@link RaftNode#addMember} and friends on the leader).
     *
     * <p>Exactly one of {@code bootstrap} and {@link #join()} on a member's first start; on later
     * starts either the same list, {@code join()} or neither (the stored configuration is used). A
     * list without this member makes it wait, as a learner would, until a leader adds it (the way
     * members joined before {@link #join()} existed): that list is stored like any other.
     *
     * @param voters the initial voters, at least one
     * @return this builder
     */
    public Builder bootstrap(List<Member> voters) {
      this.members = List.copyOf(voters);
      return this;
    }

    /**
     * The same as {@link #bootstrap(List)}, under its older name.
     *
     * @param value the initial voters
     * @return this builder
     */
    public Builder members(List<Member> value) {
      return bootstrap(value);
    }

    /**
     * Makes this a member to be added to a running group: it starts with no configuration of its
     * own, never campaigns, and waits for the leader that adds it ({@link RaftNode#addMember} or
     * {@link RaftNode#addLearner}, called on the leader) to send it the group's log or a snapshot,
     * and with them the configuration. On its first start it stores that it joined, so that it can
     * never be restarted as a group of its own; on later starts it uses what it stored. Excludes
     * {@link #bootstrap(List)} and {@link #learners(List)}.
     *
     * <p>The transport must accept the leader, which this member does not know yet: for {@code
     * NettyTransport}, set {@code acceptNonMembers(true)}.
     *
     * @return this builder
     */
    public Builder join() {
      this.join = true;
      return this;
    }

    /**
     * Sets the initial learners of a new group (default none), stored with the {@linkplain
     * #bootstrap(List) initial voters}.
     *
     * @param value the learners
     * @return this builder
     */
    public Builder learners(List<Member> value) {
      this.learners = List.copyOf(value);
      return this;
    }

    /**
     * Sets the replicated state machine (required).
     *
     * @param value the state machine
     * @return this builder
     */
    public Builder stateMachine(StateMachine value) {
      this.stateMachine = value;
      return this;
    }

    /**
     * Sets the transport (required).
     *
     * @param value the transport; the node starts and closes it
     * @return this builder
     */
    public Builder transport(Transport value) {
      this.transport = value;
      return this;
    }

    /**
     * Sets the log store (required).
     *
     * @param value the store; the node closes it
     * @return this builder
     */
    public Builder logStore(LogStore value) {
      this.logStore = value;
      return this;
    }

    /**
     * Sets the term-and-vote store (required).
     *
     * @param value the store; the node closes it
     * @return this builder
     */
    public Builder metaStore(MetaStore value) {
      this.metaStore = value;
      return this;
    }

    /**
     * Sets the snapshot store (required).
     *
     * @param value the store; the node closes it
     * @return this builder
     */
    public Builder snapshotStore(SnapshotStore value) {
      this.snapshotStore = value;
      return this;
    }

    /**
     * Sets the options (default {@link RaftOptions#defaults()}).
     *
     * @param value the options
     * @return this builder
     */
    public Builder options(RaftOptions value) {
      this.options = value;
      return this;
    }

    /**
     * Sets the executor on which futures are completed and listeners called (default the common
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
     * Sets a listener of role, leader and membership changes (optional).
     *
     * @param value the listener
     * @return this builder
     */
    public Builder listener(RaftListener value) {
      this.listener = value;
      return this;
    }

    /**
     * Validates the settings and builds the node (not started). A builder from {@link
     * RaftHost#newGroup(String)} gets the host's transport and stores for its group and registers
     * the node with the host.
     *
     * @return the node
     * @throws IllegalArgumentException naming the first missing or invalid setting, or if the
     *     options' {@link RaftOptions#maxMessageBytes()} is above the transport's {@link
     *     Transport#maxMessageBytes()}
     * @throws IllegalStateException if the builder is a host's and the host already runs the group,
     *     or is closed
     */
    public RaftNode build() {
      if (host != null) {
        return host.build(this);
      }
      return buildAlone();
    }

    /** Builds the node from the builder's values, which a host has filled in for its groups. */
    RaftNode buildAlone() {
      if (id == null) {
        throw new IllegalArgumentException("id is required");
      }
      Member.of(id); // validates the id's characters
      require(stateMachine, "stateMachine");
      require(transport, "transport");
      require(logStore, "logStore");
      require(metaStore, "metaStore");
      require(snapshotStore, "snapshotStore");
      require(options, "options");
      require(callbackExecutor, "callbackExecutor");
      require(scheduler, "scheduler");
      require(metrics, "metrics");
      checkGroupId(groupId);
      if (join && (members != null || !learners.isEmpty())) {
        throw new IllegalArgumentException(
            "join() excludes bootstrap(...) and learners(...): a member either starts a new group"
                + " or is added to a running one");
      }
      if (members == null && !learners.isEmpty()) {
        throw new IllegalArgumentException(
            "learners(...) needs bootstrap(...): the initial voters of the new group");
      }
      if (members != null) {
        Configuration.of(members, learners); // validates ids and roles
      }
      int transportLimit = transport.maxMessageBytes();
      if (options.maxMessageBytes() > transportLimit) {
        // Every entry up to maxEntryBytes() must fit in one message the transport can carry, or
        // the leader would re-send a message the transport drops, for ever.
        throw new IllegalArgumentException(
            "options' maxMessageBytes ("
                + options.maxMessageBytes()
                + " bytes, so entries of up to "
                + options.maxEntryBytes()
                + " bytes) is larger than the largest message the transport can carry ("
                + transportLimit
                + " bytes, its maxMessageBytes()): lower maxMessageBytes or raise the"
                + " transport's limit (NettyTransport.Builder.maxFrameSize)");
      }
      return new RaftNode(this);
    }

    /** Checks a group id: 1 to 64 letters, digits, '.', '_' or '-'; also for {@link RaftHost}. */
    static void checkGroupId(String groupId) {
      if (groupId == null || !GROUP_ID.matcher(groupId).matches()) {
        throw new IllegalArgumentException(
            "groupId must be 1 to 64 letters, digits, '.', '_' or '-': " + groupId);
      }
    }

    private static void require(Object value, String name) {
      if (value == null) {
        throw new IllegalArgumentException(name + " is required");
      }
    }
  }
}
