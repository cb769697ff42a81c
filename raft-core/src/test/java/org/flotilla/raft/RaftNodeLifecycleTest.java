package org.flotilla.raft;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Supplier;
import org.flotilla.raft.cluster.Member;
import org.flotilla.raft.cluster.Role;
import org.flotilla.raft.memory.MemoryLogStore;
import org.flotilla.raft.memory.MemoryMetaStore;
import org.flotilla.raft.memory.MemoryNetwork;
import org.flotilla.raft.memory.MemorySnapshotStore;
import org.flotilla.raft.message.RaftMessage;
import org.flotilla.raft.spi.Scheduler;
import org.flotilla.raft.spi.Transport;
import org.flotilla.raft.testkit.TestCluster;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A node's lifecycle cannot be misused: a second start, a start after close, a second close and
 * every call after close either do nothing, throw {@link IllegalStateException} or fail their
 * future with {@link NodeStoppedException}, and never change a running node; a start that fails
 * half-way leaves no thread behind (issue 14, item 5).
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class RaftNodeLifecycleTest {

  private static final Duration WAIT = Duration.ofSeconds(20);

  private final MemoryNetwork network = MemoryNetwork.create();
  private TestCluster cluster;

  @AfterEach
  void close() {
    if (cluster != null) {
      cluster.close();
    }
    network.close();
  }

  private RaftNode.Builder builder(String id, Transport transport) {
    return RaftNode.builder()
        .id(id)
        .members(List.of(Member.of(id)))
        .stateMachine(new TestCluster.KvStateMachine(false))
        .transport(transport)
        .logStore(new MemoryLogStore())
        .metaStore(new MemoryMetaStore())
        .snapshotStore(new MemorySnapshotStore())
        .options(TestCluster.fastOptions().build());
  }

  private long lastIndex;

  private RaftNode singleLeader() {
    cluster =
        new TestCluster(
            Member::of,
            id -> network.transport(),
            id -> new TestCluster.MemoryStores(),
            TestCluster.fastOptions().build());
    cluster.start("n1");
    RaftNode leader = cluster.awaitLeader(WAIT);
    for (int i = 0; i < 3; i++) {
      lastIndex =
          leader
              .submit(TestCluster.put("k" + i, "v" + i))
              .orTimeout(10, TimeUnit.SECONDS)
              .join()
              .index();
    }
    return leader;
  }

  private static Throwable failure(CompletableFuture<?> f) {
    try {
      f.get(5, TimeUnit.SECONDS);
    } catch (ExecutionException e) {
      return e.getCause();
    } catch (InterruptedException | TimeoutException e) {
      throw new AssertionError("the future did not fail within 5 s", e);
    }
    throw new AssertionError("the future completed normally");
  }

  /** Every operation of the node that returns a future, by name. */
  private static Map<String, Supplier<CompletableFuture<?>>> operations(RaftNode n) {
    return Map.ofEntries(
        Map.entry("submit", () -> n.submit(TestCluster.put("a", "1"))),
        Map.entry("submit in a session", () -> n.submit("c", 1, TestCluster.put("a", "1"))),
        Map.entry("read", () -> n.read(TestCluster.get("a"))),
        Map.entry("lease read", () -> n.read(TestCluster.get("a"), ReadConsistency.LEASE)),
        Map.entry("stale read", () -> n.read(TestCluster.get("a"), ReadConsistency.STALE)),
        Map.entry("addMember", () -> n.addMember(Member.of("n9"))),
        Map.entry("addLearner", () -> n.addLearner(Member.of("n9"))),
        Map.entry("promote", () -> n.promote("n9")),
        Map.entry("removeMember", () -> n.removeMember("n1")),
        Map.entry(
            "changeMembership",
            () -> n.changeMembership(List.of(Member.of(n.id()), Member.of("n9")), List.of())),
        Map.entry("transferLeadership", () -> n.transferLeadership("n9")),
        Map.entry("takeSnapshot", n::takeSnapshot));
  }

  private static void assertEveryOperationFailsWithNodeStopped(RaftNode n) {
    operations(n)
        .forEach(
            (name, op) ->
                assertThat(failure(op.get())).as(name).isInstanceOf(NodeStoppedException.class));
  }

  private static List<String> liveThreads(String id) {
    return Thread.getAllStackTraces().keySet().stream()
        .filter(Thread::isAlive)
        .map(Thread::getName)
        .filter(name -> name.startsWith("flotilla-" + id + "-"))
        .toList();
  }

  /**
   * A second start used to rebuild the core of the running node before it failed: the leader
   * dropped to follower with commit index 0 until it was elected again.
   */
  @Test
  void aSecondStartThrowsAndLeavesTheRunningLeaderAsItWas() {
    RaftNode leader = singleLeader();
    // The status is refreshed every ten ticks: wait until it shows the commands committed.
    TestCluster.await(
        "the status shows the commit index",
        WAIT,
        () -> leader.status().commitIndex() >= lastIndex);
    NodeStatus before = leader.status();
    assertThat(before.role()).isEqualTo(Role.LEADER);

    assertThatThrownBy(leader::start)
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("already started");

    NodeStatus after = leader.status();
    assertThat(after.role()).isEqualTo(Role.LEADER);
    assertThat(after.term()).isEqualTo(before.term());
    assertThat(after.commitIndex()).isGreaterThanOrEqualTo(lastIndex);
    assertThat(leader.isRunning()).isTrue();
    // The log goes on where it was, in the same term: no new election happened.
    Result r = leader.submit(TestCluster.put("after", "1")).orTimeout(10, TimeUnit.SECONDS).join();
    assertThat(r.index()).isEqualTo(lastIndex + 1);
    assertThat(leader.status().term()).isEqualTo(before.term());
  }

  @Test
  void startAfterCloseThrowsWhetherOrNotTheNodeEverStarted() {
    RaftNode started = builder("lc-started", network.transport()).build();
    started.start();
    started.close();
    assertThatThrownBy(started::start)
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("closed");
    assertThat(started.isRunning()).isFalse();

    RaftNode neverStarted = builder("lc-never", network.transport()).build();
    neverStarted.close();
    assertThatThrownBy(neverStarted::start)
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("closed");
    assertThat(liveThreads("lc-started")).isEmpty();
    assertThat(liveThreads("lc-never")).isEmpty();
  }

  @Test
  void closeTwiceIsIdempotent() {
    RaftNode n = builder("lc-twice", network.transport()).build();
    n.start();
    n.close();
    n.close();
    assertThat(n.isRunning()).isFalse();
    assertThat(liveThreads("lc-twice")).isEmpty();
  }

  @Test
  void everyCallAfterCloseFailsOrAnswersWithoutTouchingTheNode() {
    RaftNode leader = singleLeader();
    leader.close();
    NodeStatus last = leader.status();
    assertThat(last).isNotNull();

    assertEveryOperationFailsWithNodeStopped(leader);
    assertThatThrownBy(() -> leader.addListener(new RaftListener() {}))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("closed");
    assertThat(leader.status()).isSameAs(last);
    assertThat(leader.leader()).contains(Member.of("n1"));
    assertThat(leader.isRunning()).isFalse();
    assertThat(leader.id()).isEqualTo("n1");
  }

  @Test
  void everyCallBeforeStartFailsWithNodeStopped() {
    RaftNode n = builder("lc-before", network.transport()).build();
    try (n) {
      assertEveryOperationFailsWithNodeStopped(n);
      assertThatThrownBy(n::status)
          .isInstanceOf(IllegalStateException.class)
          .hasMessageContaining("has not been started");
      assertThat(n.leader()).isEmpty();
      n.addListener(new RaftListener() {});
      // Nothing above was left queued for the loop: the node starts and serves normally.
      n.start();
      TestCluster.await("a leader", WAIT, () -> n.status().role() == Role.LEADER);
      n.submit(TestCluster.put("a", "1")).orTimeout(10, TimeUnit.SECONDS).join();
    }
  }

  /** The transport cannot start (its port is taken, say): nothing else of the node started. */
  @Test
  void aStartThatFailsInTheTransportLeavesTheNodeClosable() {
    FailingTransport transport = new FailingTransport();
    RaftNode n = builder("lc-transport", transport).build();
    assertThatThrownBy(n::start)
        .isInstanceOf(UncheckedIOException.class)
        .hasMessageContaining("port taken");
    assertThat(n.isRunning()).isFalse();
    assertThat(failure(n.submit(TestCluster.put("a", "1"))))
        .isInstanceOf(NodeStoppedException.class);
    assertThatThrownBy(n::start).isInstanceOf(IllegalStateException.class);
    n.close();
    assertThat(transport.closed.get()).isTrue();
    assertThat(liveThreads("lc-transport")).isEmpty();
  }

  /**
   * The scheduler starts the apply worker but fails to start the event loop: the apply worker is
   * stopped at once, the node is not running (it used to say it was, and a submit then waited for
   * ever on a loop that never ran), and close releases the rest.
   */
  @Test
  void aStartThatFailsHalfWayStopsTheWorkersItStartedAndSaysItIsNotRunning() {
    Scheduler failingLoop =
        new Scheduler() {
          @Override
          public long nanoTime() {
            return System.nanoTime();
          }

          @Override
          public Worker start(String name, Turn turn) {
            return Scheduler.system().start(name, turn);
          }

          @Override
          public Worker startEventLoop(String name, Turn turn) {
            throw new IllegalStateException("no thread for the loop");
          }
        };
    RaftNode n = builder("lc-halfway", network.transport()).scheduler(failingLoop).build();
    assertThatThrownBy(n::start)
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("no thread for the loop");
    assertThat(n.isRunning()).isFalse();
    assertThat(liveThreads("lc-halfway")).doesNotContain("flotilla-lc-halfway-apply");
    assertThat(failure(n.submit(TestCluster.put("a", "1"))))
        .isInstanceOf(NodeStoppedException.class);
    n.close();
    n.close();
    assertThat(liveThreads("lc-halfway")).isEmpty();
  }

  /** A transport whose start fails, as one whose port is taken does. */
  private static final class FailingTransport implements Transport {
    final AtomicBoolean closed = new AtomicBoolean();

    @Override
    public void start(String localId, Inbox inbox) throws IOException {
      throw new IOException("port taken");
    }

    @Override
    public void updateMembers(Collection<Member> members) {}

    @Override
    public void send(RaftMessage message) {}

    @Override
    public void close() {
      closed.set(true);
    }
  }
}
