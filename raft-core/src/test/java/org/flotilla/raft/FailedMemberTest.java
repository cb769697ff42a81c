package org.flotilla.raft;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.BooleanSupplier;
import javax.management.MBeanServer;
import javax.management.MBeanServerFactory;
import org.flotilla.raft.cluster.Member;
import org.flotilla.raft.cluster.Role;
import org.flotilla.raft.memory.MemoryLogStore;
import org.flotilla.raft.memory.MemoryMetaStore;
import org.flotilla.raft.memory.MemoryNetwork;
import org.flotilla.raft.memory.MemorySnapshotStore;
import org.flotilla.raft.metrics.JmxRaftMetrics;
import org.flotilla.raft.sim.VirtualScheduler;
import org.flotilla.raft.spi.RaftMetrics;
import org.flotilla.raft.spi.StorageException;
import org.flotilla.raft.testkit.TestCluster;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A member that meets a fatal error (its state machine throws, its log or meta store fails) says so
 * and gets out of the way: its status reports {@link Role#FAILED} with the cause (and the index,
 * for a state machine that threw), its pending and new requests fail at once with {@link
 * NodeStoppedException} carrying the cause, its listeners and metrics hear of it, and the other
 * members carry on. A member whose state machine threw, restarted on the same stores with fixed
 * code, applies the entry it stopped at and catches up: no entry is skipped.
 *
 * <p>Three real nodes run in virtual time on the test's thread (one {@link VirtualScheduler} for
 * their workers, the network's deliveries and the futures' completions), over the in-memory network
 * and stores.
 */
class FailedMemberTest {

  private static final RaftOptions OPTIONS = TestCluster.fastOptions().build();
  private static final List<Member> VOTERS =
      List.of(Member.of("n1"), Member.of("n2"), Member.of("n3"));
  private static final long TICK = OPTIONS.tickInterval().toNanos();

  private final VirtualScheduler time = new VirtualScheduler();
  private final MemoryNetwork network =
      MemoryNetwork.create(
          time.executor(),
          MemoryNetwork.DEFAULT_LINK_CAPACITY,
          MemoryNetwork.DEFAULT_MAX_MESSAGE_BYTES);
  private final MBeanServer mbeans = MBeanServerFactory.newMBeanServer();
  private final Map<String, Disk> disks = new HashMap<>();
  private final Map<String, RaftNode> nodes = new LinkedHashMap<>();
  private final Map<String, Machine> machines = new HashMap<>();
  private final Map<String, Recorder> recorders = new HashMap<>();
  private final Map<String, JmxRaftMetrics> metrics = new HashMap<>();

  /** One member's stores, kept across its restarts as a disk would be. */
  private record Disk(MemoryLogStore log, MemoryMetaStore meta, MemorySnapshotStore snapshots) {
    Disk() {
      this(new MemoryLogStore(), new MemoryMetaStore(), new MemorySnapshotStore());
    }

    /** Opens the stores again, as a restarted process would. */
    Disk reopen() {
      log.crash();
      meta.crash();
      snapshots.crash();
      return this;
    }
  }

  @BeforeEach
  void startGroup() {
    for (Member m : VOTERS) {
      start(m.id(), false);
    }
    RaftNode leader = awaitLeader();
    CompletableFuture<Result> put = leader.submit(TestCluster.put("x", "1"));
    runUntil("the first put is applied everywhere", () -> appliedEverywhere(put));
  }

  @AfterEach
  void close() {
    nodes.values().forEach(RaftNode::close);
    network.close();
  }

  // ------------------------------------------------------------------ the state machine threw

  /**
   * A state machine that throws on one member stops that member at the entry: FAILED with that
   * index and the exception, nothing applied after it, new requests refused at once with the cause,
   * listener and metric told, one ERROR line. The other two carry on. Restarted on the same stores
   * with fixed code, the member applies that very entry, once, and catches up.
   */
  @Test
  void aMemberWhoseStateMachineThrowsStopsAtThatEntryAndAppliesItAfterARestartWithFixedCode() {
    RaftNode leader = awaitLeader();
    String victim = follower(leader);
    machines.get(victim).broken = true;

    CompletableFuture<Result> bad = leader.submit(TestCluster.put("bad", "1"));
    runUntil("the leader applies the command", bad::isDone);
    long index = bad.join().index();
    RaftNode failed = nodes.get(victim);
    runUntil(victim + " reports FAILED", () -> failed.status().role() == Role.FAILED);

    NodeStatus s = failed.status();
    assertThat(s.failure()).as("the failure in the status").isPresent();
    assertThat(s.failure().orElseThrow().index()).as("the index it stopped at").isEqualTo(index);
    assertThat(s.failure().orElseThrow().reason()).contains("state machine", "entry " + index);
    assertThat(s.failure().orElseThrow().cause())
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("cannot apply bad=1 at " + index);
    assertThat(s.appliedIndex())
        .as("nothing applied from the failed entry on")
        .isEqualTo(index - 1);
    assertThat(s.leader()).as("a failed member follows no one").isEmpty();
    assertThat(failed.isRunning()).isFalse();
    assertThat(machines.get(victim).applied).doesNotContain(index);

    Throwable cause = s.failure().orElseThrow().cause();
    assertNewRequestsFailAtOnce(failed, cause);
    assertToldListenerAndMetrics(victim, cause, index);

    // The other two carry on.
    CompletableFuture<Result> more = leader.submit(TestCluster.put("y", "2"));
    runUntil("a write through the leader", more::isDone);
    assertThat(failure(more)).as("the write succeeded").isNull();

    // Close it (the metrics go with it), fix the code, restart it on the same stores.
    failed.close();
    assertThat(mbeans.isRegistered(JmxRaftMetrics.nodeObjectName("default", victim))).isFalse();
    RaftNode restarted = start(victim, false);
    long target = more.join().index();
    runUntil(victim + " catches up", () -> restarted.status().appliedIndex() >= target);

    Machine fixed = machines.get(victim);
    assertThat(fixed.applied)
        .as("the entry it failed at, applied by the fixed code")
        .contains(index);
    assertThat(fixed.value("bad")).isEqualTo("1");
    assertThat(fixed.value("y")).isEqualTo("2");
    assertThat(fixed.applications()).containsEntry("Pbad=1", 1);
    assertThat(restarted.status().role()).isNotEqualTo(Role.FAILED);
    assertThat(restarted.status().failure()).isEmpty();
  }

  /**
   * A command that every member's state machine throws on stops the group at that entry: each
   * member that learns it is committed stops there (one that never learns it, because the others
   * stopped first, has not applied it either), and the leader's own future fails with an unknown
   * outcome (the entry is committed). Restarted with fixed code, every member applies it and the
   * group serves again.
   */
  @Test
  void whenEveryMemberThrowsAtOneEntryTheyStopThereAndResumeWithFixedCode() {
    machines.values().forEach(m -> m.broken = true);
    RaftNode leader = awaitLeader();

    CompletableFuture<Result> bad = leader.submit(TestCluster.put("bad", "1"));
    runUntil("the leader reports FAILED", () -> leader.status().role() == Role.FAILED);
    long index = leader.status().failure().orElseThrow().index();
    runUntil("the leader's command fails", bad::isDone);
    assertThat(failure(bad)).isInstanceOf(NodeStoppedException.class);
    assertThat(((NodeStoppedException) failure(bad)).outcomeUnknown())
        .as("the entry was committed: its outcome is unknown to the caller")
        .isTrue();
    // Long enough for the others to elect a leader and commit past the entry, if they can.
    runFor(10 * OPTIONS.electionTimeout().toNanos());
    int failed = 0;
    for (RaftNode n : nodes.values()) {
      NodeStatus s = n.status();
      if (s.role() == Role.FAILED) {
        failed++;
        assertThat(s.failure().orElseThrow().index())
            .as(n.id() + "'s failed index")
            .isEqualTo(index);
        assertThat(s.appliedIndex()).isEqualTo(index - 1);
      } else {
        assertThat(s.appliedIndex()).as(n.id() + " skipped nothing").isLessThan(index);
      }
      assertThat(machines.get(n.id()).applied).doesNotContain(index);
    }
    assertThat(failed).as("members stopped at the entry").isGreaterThanOrEqualTo(2);

    for (String id : List.copyOf(nodes.keySet())) {
      nodes.remove(id).close();
    }
    for (Member m : VOTERS) {
      start(m.id(), false);
    }
    RaftNode newLeader = awaitLeader();
    CompletableFuture<Result> read = newLeader.read(TestCluster.get("bad"));
    runUntil("a linearizable read of the entry's key", read::isDone);
    assertThat(TestCluster.string(read.join().value())).isEqualTo("1");
    for (String id : nodes.keySet()) {
      runUntil(id + " applies the entry", () -> machines.get(id).applied.contains(index));
      assertThat(machines.get(id).applications()).containsEntry("Pbad=1", 1);
    }
  }

  // ------------------------------------------------------------------ storage failures

  /**
   * The leader's log store fails (an fsync error): it reports FAILED with the cause at once; its
   * pending command fails with {@link NodeStoppedException} (outcome unknown) and its pending read
   * with a definite one, within a tick, not after a time-out; new requests are refused at once;
   * listener and metric are told. The other two elect a leader and serve.
   */
  @Test
  void aLeaderWhoseLogStoreFailsStopsAndFailsPendingAndNewRequestsAtOnce() {
    RaftNode leader = awaitLeader();
    String id = leader.id();
    // Nothing the leader sends arrives: its command cannot commit, its read cannot be confirmed.
    for (Member m : VOTERS) {
      if (!m.id().equals(id)) {
        network.block(id, m.id());
      }
    }
    CompletableFuture<Result> pending = leader.submit(TestCluster.put("p", "1"));
    CompletableFuture<Result> pendingRead = leader.read(TestCluster.get("x"));
    runFor(3 * TICK);
    assertThat(pending).as("the command is pending").isNotDone();
    assertThat(pendingRead).as("the read is pending").isNotDone();

    IOException eio = new IOException("fdatasync failed: Input/output error (injected)");
    disks.get(id).log().fail(eio);

    // At once, before any time passes.
    NodeStatus s = leader.status();
    assertThat(s.role()).isEqualTo(Role.FAILED);
    assertThat(s.failure().orElseThrow().cause()).isSameAs(eio);
    assertThat(s.failure().orElseThrow().index())
        .as("a storage failure concerns no entry")
        .isZero();
    assertThat(s.failure().orElseThrow().reason()).contains("log store");
    assertThat(leader.isRunning()).isFalse();
    assertNewRequestsFailAtOnce(leader, eio);

    runFor(TICK);
    assertThat(pending).as("the pending command fails within a tick").isDone();
    assertThat(pendingRead).as("the pending read fails within a tick").isDone();
    NodeStoppedException command = (NodeStoppedException) failure(pending);
    assertThat(command.getCause()).isSameAs(eio);
    assertThat(command.outcomeUnknown()).as("the command was proposed").isTrue();
    NodeStoppedException read = (NodeStoppedException) failure(pendingRead);
    assertThat(read.getCause()).isSameAs(eio);
    assertThat(read.outcomeUnknown()).as("a read changes nothing").isFalse();
    assertToldListenerAndMetrics(id, eio, 0);

    for (Member m : VOTERS) {
      network.unblock(id, m.id());
    }
    RaftNode next = awaitLeader();
    assertThat(next.id()).isNotEqualTo(id);
    CompletableFuture<Result> write = next.submit(TestCluster.put("z", "3"));
    runUntil("a write through the new leader", write::isDone);
    assertThat(failure(write)).as("the write succeeded").isNull();
    assertThat(leader.status().role()).as("still FAILED").isEqualTo(Role.FAILED);
  }

  /**
   * A meta store that fails on save (the term and vote of an election) stops the member through the
   * same path: the error thrown on its event loop is a FAILED status with that cause.
   */
  @Test
  void aMemberWhoseMetaStoreFailsOnSaveReportsFailedWithTheCause() {
    RaftNode leader = awaitLeader();
    String victim = follower(leader);
    IOException eio = new IOException("fsync of meta failed (injected)");
    disks.get(victim).meta().fail(eio);

    CompletableFuture<Void> transfer = leader.transferLeadership(victim);
    RaftNode failed = nodes.get(victim);
    runUntil(victim + " reports FAILED", () -> failed.status().role() == Role.FAILED);

    Throwable cause = failed.status().failure().orElseThrow().cause();
    assertThat(cause).isInstanceOf(StorageException.class);
    assertThat(rootCause(cause)).isSameAs(eio);
    assertNewRequestsFailAtOnce(failed, cause);
    assertToldListenerAndMetrics(victim, cause, 0);
    runUntil("the transfer ends", transfer::isDone);
    RaftNode next = awaitLeader();
    CompletableFuture<Result> write = next.submit(TestCluster.put("w", "4"));
    runUntil("a write after the failure", write::isDone);
    assertThat(failure(write)).isNull();
  }

  // ------------------------------------------------------------------ checks

  /** New requests to a failed node fail before any time passes, with the cause and no proposal. */
  private static void assertNewRequestsFailAtOnce(RaftNode n, Throwable cause) {
    List<CompletableFuture<?>> calls = new ArrayList<>();
    calls.add(n.submit(TestCluster.put("new", "1")));
    calls.add(n.submit("client", 1, TestCluster.put("new", "2")));
    calls.add(n.read(TestCluster.get("x")));
    calls.add(n.read(TestCluster.get("x"), ReadConsistency.STALE));
    calls.add(n.takeSnapshot());
    calls.add(n.transferLeadership("n1"));
    calls.add(n.addLearner(Member.of("n9")));
    for (CompletableFuture<?> f : calls) {
      assertThat(f).as("failed at once").isCompletedExceptionally();
      Throwable e = failure(f);
      assertThat(e).isInstanceOf(NodeStoppedException.class);
      assertThat(e.getCause()).as("carries the cause").isSameAs(cause);
      assertThat(((NodeStoppedException) e).outcomeUnknown()).as("nothing was proposed").isFalse();
      assertThat(e.getMessage()).contains("fatal error", "nothing was proposed");
    }
  }

  private void assertToldListenerAndMetrics(String id, Throwable cause, long index) {
    runFor(TICK); // listeners are called on the callback executor
    Recorder r = recorders.get(id);
    assertThat(r.fatal).as("onFatalError, once").containsExactly(cause);
    assertThat(r.roles).as("onRoleChange(FAILED) last").last().isEqualTo(Role.FAILED);
    JmxRaftMetrics m = metrics.get(id);
    assertThat(m.isFailed()).isTrue();
    assertThat(m.getRole()).isEqualTo("FAILED");
    assertThat(m.getFailure()).contains(String.valueOf(cause));
    if (index > 0) {
      assertThat(m.getFailure()).contains("entry " + index);
    }
    assertThat(r.failures).hasSize(1);
    assertThat(r.failures.get(0).index()).isEqualTo(index);
    assertThat(mbeans.isRegistered(JmxRaftMetrics.nodeObjectName("default", id)))
        .as("the metrics stay registered until the node is closed")
        .isTrue();
  }

  // ------------------------------------------------------------------ the group

  private RaftNode start(String id, boolean broken) {
    Disk d = disks.computeIfAbsent(id, k -> new Disk()).reopen();
    Machine sm = new Machine();
    sm.broken = broken;
    Recorder r = new Recorder();
    JmxRaftMetrics m = new JmxRaftMetrics(mbeans);
    RaftNode n =
        RaftNode.builder()
            .id(id)
            .members(VOTERS)
            .stateMachine(sm)
            .transport(network.transport())
            .scheduler(time)
            .callbackExecutor(time.executor())
            .logStore(d.log())
            .metaStore(d.meta())
            .snapshotStore(d.snapshots())
            .options(OPTIONS)
            .metrics(new Recording(m, r))
            .listener(r)
            .build();
    n.start();
    nodes.put(id, n);
    machines.put(id, sm);
    recorders.put(id, r);
    metrics.put(id, m);
    return n;
  }

  private RaftNode awaitLeader() {
    RaftNode[] leader = new RaftNode[1];
    runUntil(
        "a leader that every running member follows, with its first entries applied",
        () -> {
          leader[0] = null;
          for (RaftNode n : nodes.values()) {
            NodeStatus s = n.status();
            if (s != null && s.role() == Role.LEADER && s.appliedIndex() >= s.lastIndex()) {
              leader[0] = n;
            }
          }
          return leader[0] != null
              && nodes.values().stream()
                  .filter(RaftNode::isRunning)
                  .allMatch(n -> n.status().leader().equals(Optional.of(leader[0].id())));
        });
    return leader[0];
  }

  private String follower(RaftNode leader) {
    return nodes.keySet().stream().filter(id -> !id.equals(leader.id())).findFirst().orElseThrow();
  }

  private boolean appliedEverywhere(CompletableFuture<Result> put) {
    if (!put.isDone()) {
      return false;
    }
    long index = put.join().index();
    return nodes.values().stream().allMatch(n -> n.status().appliedIndex() >= index);
  }

  private static Throwable failure(CompletableFuture<?> f) {
    try {
      f.join();
      return null;
    } catch (CompletionException e) {
      return e.getCause();
    } catch (java.util.concurrent.CancellationException e) {
      return e;
    }
  }

  private static Throwable rootCause(Throwable t) {
    while (t.getCause() != null) {
      t = t.getCause();
    }
    return t;
  }

  private void runFor(long nanos) {
    time.runUntil(time.nanoTime() + nanos);
  }

  /** Moves virtual time forward in 10 ms steps until the condition holds, at most 30 s of it. */
  private void runUntil(String what, BooleanSupplier condition) {
    long deadline = time.nanoTime() + Duration.ofSeconds(30).toNanos();
    while (!condition.getAsBoolean()) {
      if (time.nanoTime() > deadline) {
        fail("not within 30 s of virtual time: " + what);
      }
      runFor(Duration.ofMillis(10).toNanos());
    }
  }

  // ------------------------------------------------------------------ doubles

  /**
   * The test cluster's key-value machine, which, while {@code broken}, throws on the command that
   * puts key "bad" (a bug), and records the indexes it applied. Apply-thread confined.
   */
  private static final class Machine extends TestCluster.KvStateMachine {
    final List<Long> applied = new CopyOnWriteArrayList<>();
    volatile boolean broken;

    Machine() {
      super(false);
    }

    @Override
    public ByteBuffer apply(long index, ByteBuffer command) {
      String c = TestCluster.string(command);
      if (broken && c.startsWith("Pbad=")) {
        throw new IllegalStateException("cannot apply " + c.substring(1) + " at " + index);
      }
      ByteBuffer result = super.apply(index, command);
      applied.add(index);
      return result;
    }
  }

  /** Records what the node tells its listener and its metrics' failure event. Thread-safe. */
  private static final class Recorder implements RaftListener {
    final List<Role> roles = new CopyOnWriteArrayList<>();
    final List<Throwable> fatal = new CopyOnWriteArrayList<>();
    final List<NodeStatus.Failure> failures = new CopyOnWriteArrayList<>();

    @Override
    public void onRoleChange(Role role, long term) {
      roles.add(role);
    }

    @Override
    public void onFatalError(Throwable cause) {
      fatal.add(cause);
    }
  }

  /**
   * Hands the node's gauges and its failure to JMX metrics, and records the failure event to check
   * that it is reported once.
   */
  private record Recording(JmxRaftMetrics jmx, Recorder recorder) implements RaftMetrics {
    @Override
    public void register(Gauges gauges) {
      jmx.register(gauges);
    }

    @Override
    public void unregister() {
      jmx.unregister();
    }

    @Override
    public void nodeFailed(NodeStatus.Failure failure) {
      recorder.failures.add(failure);
      jmx.nodeFailed(failure);
    }
  }
}
