package org.flotilla.raft.testkit;

import static org.assertj.core.api.Assertions.fail;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executor;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BooleanSupplier;
import java.util.function.Function;
import java.util.function.UnaryOperator;
import org.flotilla.raft.NodeStatus;
import org.flotilla.raft.RaftNode;
import org.flotilla.raft.RaftOptions;
import org.flotilla.raft.StateMachine;
import org.flotilla.raft.cluster.Member;
import org.flotilla.raft.cluster.Role;
import org.flotilla.raft.memory.MemoryLogStore;
import org.flotilla.raft.memory.MemoryMetaStore;
import org.flotilla.raft.memory.MemorySnapshotStore;
import org.flotilla.raft.sim.VirtualScheduler;
import org.flotilla.raft.spi.LogStore;
import org.flotilla.raft.spi.MetaStore;
import org.flotilla.raft.spi.RaftMetrics;
import org.flotilla.raft.spi.Scheduler;
import org.flotilla.raft.spi.SnapshotStore;
import org.flotilla.raft.spi.Transport;

/**
 * A cluster of real {@link RaftNode}s in one JVM for integration tests, over a pluggable transport
 * and pluggable stores (in-memory by default), with a key-value state machine that counts how often
 * each command is applied.
 *
 * <p>The nodes run on real threads with the system clocks, or, after {@link
 * #withVirtualTime(VirtualScheduler)}, in virtual time on the test's thread. Tests written against
 * {@link #waitUntil}, {@link #join}, {@link #awaitLeader} and {@link #after} run either way: in
 * virtual time these move the clock forward instead of waiting.
 *
 * <p>Thread-safe enough for tests: nodes are started and stopped from the test thread.
 */
public final class TestCluster implements AutoCloseable {

  /** Creates the transport of one member. */
  public interface TransportFactory {
    /**
     * Returns a new transport for a member.
     *
     * @param id the member
     * @return the transport
     */
    Transport create(String id);
  }

  /** The durable state of one member, kept across restarts. */
  public interface Stores {
    /**
     * Opens the log store (again, after a restart).
     *
     * @return the store
     */
    LogStore log();

    /**
     * Opens the meta store.
     *
     * @return the store
     */
    MetaStore meta();

    /**
     * Opens the snapshot store.
     *
     * @return the store
     */
    SnapshotStore snapshots();
  }

  /** In-memory stores that survive a node's close, as a disk would. */
  public static final class MemoryStores implements Stores {
    private final MemoryLogStore log = new MemoryLogStore();
    private final MemoryMetaStore meta = new MemoryMetaStore();
    private final MemorySnapshotStore snapshots = new MemorySnapshotStore();

    @Override
    public LogStore log() {
      log.crash();
      return log;
    }

    @Override
    public MetaStore meta() {
      meta.crash();
      return meta;
    }

    @Override
    public SnapshotStore snapshots() {
      snapshots.crash();
      return snapshots;
    }
  }

  private final Function<String, Member> members;
  private final TransportFactory transports;
  private final Function<String, Stores> storesFactory;
  private final RaftOptions options;
  private final Map<String, Stores> stores = new HashMap<>();
  private final Map<String, RaftNode> nodes = new LinkedHashMap<>();
  private final Map<String, KvStateMachine> machines = new ConcurrentHashMap<>();
  private final List<Member> initial = new ArrayList<>();
  private Function<String, RaftMetrics> metrics = id -> RaftMetrics.noop();
  private String groupId = "default";
  private boolean concurrentQueries;
  private Function<Transport, Scheduler> schedulers = t -> Scheduler.system();
  private Executor callbacks = ForkJoinPool.commonPool();
  private VirtualScheduler time; // null: real threads and clocks

  private static final long VIRTUAL_STEP_NANOS = 1_000_000;

  /**
   * Runs the nodes started from now on in virtual time on the test's thread: their workers on
   * {@code time} and their futures completed on its executor. {@link #waitUntil}, {@link #join},
   * {@link #awaitLeader} and {@link #after} then move virtual time forward instead of waiting. The
   * transports must deliver on the same scheduler (for example a {@code MemoryNetwork} created on
   * {@code time.executor()}).
   *
   * @param time the virtual scheduler
   * @return this cluster
   */
  public TestCluster withVirtualTime(VirtualScheduler time) {
    this.time = time;
    this.schedulers = t -> time;
    this.callbacks = time.executor();
    return this;
  }

  /**
   * Sets how the nodes started from now on get their scheduler, from their transport.
   *
   * @param factory the scheduler for a node's transport
   * @return this cluster
   */
  public TestCluster withScheduler(Function<Transport, Scheduler> factory) {
    this.schedulers = factory;
    return this;
  }

  /**
   * Sets the executor on which the nodes started from now on complete their futures (by default the
   * common pool): a virtual scheduler's executor completes them in virtual time.
   *
   * @param executor the callback executor
   * @return this cluster
   */
  public TestCluster withCallbackExecutor(Executor executor) {
    this.callbacks = executor;
    return this;
  }

  /**
   * Sets whether the state machines of the nodes started from now on allow {@linkplain
   * StateMachine#concurrentQueries() concurrent queries}.
   *
   * @param on whether they do
   * @return this cluster
   */
  public TestCluster withConcurrentQueries(boolean on) {
    this.concurrentQueries = on;
    return this;
  }

  /**
   * Sets the group id and the metrics of the nodes started from now on.
   *
   * @param group the group id
   * @param factory makes the metrics of a member (called on every start)
   * @return this cluster
   */
  public TestCluster withMetrics(String group, Function<String, RaftMetrics> factory) {
    this.groupId = group;
    this.metrics = factory;
    return this;
  }

  /**
   * Creates a cluster description; nothing starts until {@link #start}.
   *
   * @param members the member (with address) for an id
   * @param transports makes transports
   * @param storesFactory makes the durable state of a member
   * @param options the options of every node
   */
  public TestCluster(
      Function<String, Member> members,
      TransportFactory transports,
      Function<String, Stores> storesFactory,
      RaftOptions options) {
    this.members = members;
    this.transports = transports;
    this.storesFactory = storesFactory;
    this.options = options;
  }

  /**
   * Returns options with short timeouts for tests.
   *
   * @return the options builder
   */
  public static RaftOptions.Builder fastOptions() {
    return RaftOptions.builder()
        .tickInterval(Duration.ofMillis(10))
        .electionTimeout(Duration.ofMillis(500))
        .heartbeatInterval(Duration.ofMillis(50))
        .leaseDriftMargin(Duration.ofMillis(100));
  }

  /**
   * Starts the initial voters.
   *
   * @param ids the voters' ids
   * @return this cluster
   */
  public TestCluster start(String... ids) {
    for (String id : ids) {
      initial.add(members.apply(id));
    }
    for (String id : ids) {
      startNode(id, initial);
    }
    return this;
  }

  /**
   * Starts (or restarts) a member with the given initial voters.
   *
   * @param id the member
   * @param voters the initial voters its configuration starts from
   * @return the node
   */
  public RaftNode startNode(String id, List<Member> voters) {
    return startNode(id, b -> b.members(voters));
  }

  /**
   * Starts (or restarts) a member, which {@code membership} tells how to start: for example {@code
   * b -> b.bootstrap(voters)}, {@code RaftNode.Builder::join}, or {@code b -> b} to use what it
   * stored. A node whose start fails is closed (its stores stay, as a disk would) and the failure
   * rethrown.
   *
   * @param id the member
   * @param membership sets the member's initial configuration on its builder
   * @return the node
   */
  public RaftNode startNode(String id, UnaryOperator<RaftNode.Builder> membership) {
    Stores s = stores.computeIfAbsent(id, storesFactory);
    KvStateMachine sm = new KvStateMachine(concurrentQueries);
    machines.put(id, sm);
    Transport transport = transports.create(id);
    RaftNode node =
        membership
            .apply(RaftNode.builder().id(id))
            .stateMachine(sm)
            .transport(transport)
            .scheduler(schedulers.apply(transport))
            .callbackExecutor(callbacks)
            .logStore(s.log())
            .metaStore(s.meta())
            .snapshotStore(s.snapshots())
            .options(options)
            .groupId(groupId)
            .metrics(metrics.apply(id))
            .build();
    try {
      node.start();
    } catch (RuntimeException e) {
      node.close();
      throw e;
    }
    nodes.put(id, node);
    return node;
  }

  /**
   * Restarts a stopped member with the cluster's initial voters.
   *
   * @param id the member
   * @return the node
   */
  public RaftNode restart(String id) {
    return startNode(id, initial);
  }

  /**
   * Stops a member (its durable state is kept).
   *
   * @param id the member
   */
  public void stop(String id) {
    RaftNode n = nodes.remove(id);
    if (n != null) {
      n.close();
    }
  }

  /**
   * Returns a running node.
   *
   * @param id the member
   * @return the node
   */
  public RaftNode node(String id) {
    return nodes.get(id);
  }

  /**
   * Returns a member's state machine.
   *
   * @param id the member
   * @return the state machine of its current incarnation
   */
  public KvStateMachine machine(String id) {
    return machines.get(id);
  }

  /**
   * Returns the member with its address.
   *
   * @param id the id
   * @return the member
   */
  public Member member(String id) {
    return members.apply(id);
  }

  /**
   * Waits until the running members agree on one leader of the newest term and returns it.
   *
   * @param timeout how long to wait
   * @return the leader
   */
  public RaftNode awaitLeader(Duration timeout) {
    RaftNode[] found = new RaftNode[1];
    waitUntil(
        "a leader",
        timeout,
        () -> {
          found[0] = leader();
          return found[0] != null;
        });
    return found[0];
  }

  /**
   * Returns the running member that leads in the newest term, without waiting.
   *
   * @return the leader, or null if no running member leads
   */
  public RaftNode leader() {
    RaftNode leader = null;
    long term = -1;
    for (RaftNode n : nodes.values()) {
      NodeStatus s = n.status();
      if (s != null && s.role() == Role.LEADER && s.term() > term) {
        leader = n;
        term = s.term();
      }
    }
    return leader;
  }

  /**
   * Waits until a condition holds, failing the test after the timeout: in virtual time by moving
   * the clock forward 1 ms at a time (the timeout is virtual), otherwise by {@link #await polling}.
   *
   * @param what what is awaited, for the failure message
   * @param timeout the bound
   * @param condition the condition
   */
  public void waitUntil(String what, Duration timeout, BooleanSupplier condition) {
    if (time == null) {
      await(what, timeout, condition);
      return;
    }
    long deadline = time.nanoTime() + timeout.toNanos();
    while (!condition.getAsBoolean()) {
      if (time.nanoTime() >= deadline) {
        fail("not within " + timeout + " of virtual time: " + what);
      }
      step();
    }
  }

  /**
   * Waits at most 30 s (virtual, in virtual time) for a future and returns its value.
   *
   * @param <T> the value's type
   * @param f the future
   * @return its value
   * @throws CompletionException if it failed (the cause is its failure, or an {@link
   *     ExecutionException} wrapping it) or did not complete in time (a {@link TimeoutException})
   */
  public <T> T join(CompletableFuture<T> f) {
    if (time == null) {
      try {
        return f.get(30, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException(e);
      } catch (ExecutionException | TimeoutException e) {
        throw new CompletionException(e);
      }
    }
    long deadline = time.nanoTime() + Duration.ofSeconds(30).toNanos();
    while (!f.isDone()) {
      if (time.nanoTime() >= deadline) {
        throw new CompletionException(
            new TimeoutException("not completed within 30 s of virtual time"));
      }
      step();
    }
    return f.join();
  }

  /** Moves virtual time 1 ms forward; stops if JUnit interrupted the test for its timeout. */
  private void step() {
    if (Thread.currentThread().isInterrupted()) {
      fail("interrupted at virtual time " + time.nanoTime() + " ns (the test's timeout?)");
    }
    time.runUntil(time.nanoTime() + VIRTUAL_STEP_NANOS);
  }

  /**
   * Runs an action after a delay, on the virtual clock or on the callback executor.
   *
   * @param delay the delay
   * @param action the action; it must not block
   */
  public void after(Duration delay, Runnable action) {
    if (time == null) {
      CompletableFuture.delayedExecutor(delay.toNanos(), TimeUnit.NANOSECONDS, callbacks)
          .execute(action);
    } else {
      time.schedule(delay.toNanos(), action);
    }
  }

  /**
   * Polls a condition every 5 ms until it holds, failing the test after the timeout.
   *
   * @param what what is awaited, for the failure message
   * @param timeout the bound
   * @param condition the condition
   */
  public static void await(String what, Duration timeout, BooleanSupplier condition) {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        fail("timed out after " + timeout + " waiting for " + what);
      }
      try {
        Thread.sleep(5);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        fail("interrupted waiting for " + what);
      }
    }
  }

  /**
   * Returns the running nodes.
   *
   * @return id to node
   */
  public Map<String, RaftNode> nodes() {
    return nodes;
  }

  @Override
  public void close() {
    for (RaftNode n : nodes.values()) {
      n.close();
    }
    nodes.clear();
  }

  // ------------------------------------------------------------------ state machine

  /**
   * Encodes a put.
   *
   * @param key the key
   * @param value the value
   * @return the command
   */
  public static ByteBuffer put(String key, String value) {
    return ByteBuffer.wrap(("P" + key + "=" + value).getBytes(StandardCharsets.UTF_8));
  }

  /**
   * Encodes a get.
   *
   * @param key the key
   * @return the query
   */
  public static ByteBuffer get(String key) {
    return ByteBuffer.wrap(("G" + key).getBytes(StandardCharsets.UTF_8));
  }

  /**
   * Decodes a result buffer as a string.
   *
   * @param b the buffer, or null
   * @return the string, or null
   */
  public static String string(ByteBuffer b) {
    if (b == null || !b.hasRemaining()) {
      return null;
    }
    byte[] bytes = new byte[b.remaining()];
    b.duplicate().get(bytes);
    return new String(bytes, StandardCharsets.UTF_8);
  }

  /**
   * A key-value map that counts applications per command text, and records the names of the threads
   * its queries ran on. Apply-thread confined, except queries when {@link #concurrentQueries()} is
   * on (the maps are concurrent and each command changes one key).
   */
  public static class KvStateMachine implements StateMachine {
    private final Map<String, String> map = new ConcurrentHashMap<>();
    private final Map<String, Integer> applications = new ConcurrentHashMap<>();
    private final Set<String> queryThreads = ConcurrentHashMap.newKeySet();
    private final AtomicLong applied = new AtomicLong();
    private final boolean concurrentQueries;

    /**
     * Creates a machine.
     *
     * @param concurrentQueries what {@link #concurrentQueries()} answers
     */
    public KvStateMachine(boolean concurrentQueries) {
      this.concurrentQueries = concurrentQueries;
    }

    @Override
    public boolean concurrentQueries() {
      return concurrentQueries;
    }

    /**
     * Returns the names of the threads queries have run on.
     *
     * @return the thread names, a live view
     */
    public Set<String> queryThreads() {
      return queryThreads;
    }

    @Override
    public ByteBuffer apply(long index, ByteBuffer command) {
      String c = string(command);
      applied.incrementAndGet();
      applications.merge(c, 1, Integer::sum);
      int eq = c.indexOf('=');
      String previous = map.put(c.substring(1, eq), c.substring(eq + 1));
      return previous == null ? null : ByteBuffer.wrap(previous.getBytes(StandardCharsets.UTF_8));
    }

    @Override
    public ByteBuffer query(ByteBuffer query) {
      queryThreads.add(Thread.currentThread().getName());
      String v = map.get(string(query).substring(1));
      return v == null ? null : ByteBuffer.wrap(v.getBytes(StandardCharsets.UTF_8));
    }

    @Override
    public Snapshot snapshot() {
      Map<String, String> copy = new HashMap<>(map);
      Map<String, Integer> counts = new HashMap<>(applications);
      return out -> {
        DataOutputStream d = new DataOutputStream(out);
        d.writeInt(copy.size());
        for (Map.Entry<String, String> e : copy.entrySet()) {
          d.writeUTF(e.getKey());
          d.writeUTF(e.getValue());
        }
        d.writeInt(counts.size());
        for (Map.Entry<String, Integer> e : counts.entrySet()) {
          d.writeUTF(e.getKey());
          d.writeInt(e.getValue());
        }
        d.flush();
      };
    }

    @Override
    public void restore(long index, long term, InputStream in) throws IOException {
      DataInputStream d = new DataInputStream(in);
      map.clear();
      applications.clear();
      int n = d.readInt();
      for (int i = 0; i < n; i++) {
        map.put(d.readUTF(), d.readUTF());
      }
      int m = d.readInt();
      for (int i = 0; i < m; i++) {
        applications.put(d.readUTF(), d.readInt());
      }
    }

    /**
     * Returns the value of a key.
     *
     * @param key the key
     * @return the value or null
     */
    public String value(String key) {
      return map.get(key);
    }

    /**
     * Returns how many times each command text was applied (including before a snapshot).
     *
     * @return the counts
     */
    public Map<String, Integer> applications() {
      return applications;
    }

    /**
     * Returns the number of keys.
     *
     * @return the size
     */
    public int size() {
      return map.size();
    }
  }
}
