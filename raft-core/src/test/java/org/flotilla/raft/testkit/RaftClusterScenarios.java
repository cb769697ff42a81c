package org.flotilla.raft.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowable;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import org.flotilla.raft.CommandRejectedException;
import org.flotilla.raft.NodeStatus;
import org.flotilla.raft.NotLeaderException;
import org.flotilla.raft.OverloadedException;
import org.flotilla.raft.RaftNode;
import org.flotilla.raft.RaftOptions;
import org.flotilla.raft.ReadConsistency;
import org.flotilla.raft.Result;
import org.flotilla.raft.cluster.Configuration;
import org.flotilla.raft.cluster.Role;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The runtime's integration scenarios, written once and run over each transport and store: the
 * in-memory ones here (in virtual time), the Netty transport and file storage in their modules (on
 * real threads). Every wait goes through the cluster ({@link TestCluster#waitUntil}, {@link
 * TestCluster#join}, {@link TestCluster#awaitLeader}) and nothing blocks in a callback, so the same
 * scenario runs in virtual time on the test's thread or on real threads.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
public abstract class RaftClusterScenarios {

  /** How long a cluster gets to elect a leader. */
  protected static final Duration ELECTION = Duration.ofSeconds(10);

  private TestCluster cluster;

  /**
   * Creates the cluster under test (not started).
   *
   * @param options the node options
   * @return the cluster
   */
  protected abstract TestCluster newCluster(RaftOptions options);

  /**
   * Returns how many commands the bulk test applies.
   *
   * @return the count
   */
  protected int bulkCommands() {
    return 100_000;
  }

  private TestCluster cluster(RaftOptions options) {
    cluster = newCluster(options);
    return cluster;
  }

  @AfterEach
  void closeCluster() {
    if (cluster != null) {
      cluster.close();
    }
  }

  /**
   * Waits on real time for a future, for subclasses' own tests on real threads; the scenarios wait
   * through their cluster ({@link TestCluster#join}).
   */
  protected static <T> T join(CompletableFuture<T> f) {
    try {
      return f.get(30, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    } catch (ExecutionException | TimeoutException e) {
      throw new CompletionException(e);
    }
  }

  /**
   * Runs an operation on the current leader, retrying on another leader if leadership moves (a busy
   * test machine can delay heartbeats past an election timeout).
   */
  private <T> T onLeader(java.util.function.Function<RaftNode, CompletableFuture<T>> op) {
    CompletionException last = null;
    for (int attempt = 0; attempt < 5; attempt++) {
      RaftNode leader = cluster.awaitLeader(ELECTION);
      try {
        return cluster.join(op.apply(leader));
      } catch (CompletionException e) {
        if (!(rootCause(e) instanceof NotLeaderException)) {
          throw e;
        }
        last = e;
      }
    }
    throw last;
  }

  private static Throwable rootCause(Throwable e) {
    Throwable t = e;
    while (t.getCause() != null) {
      t = t.getCause();
    }
    return t;
  }

  /**
   * Submits puts with a bounded window in flight and waits for all of them; puts refused because
   * leadership moved are sent again to the new leader.
   */
  private void submitAll(String prefix, int count, int window) {
    List<Integer> todo = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      todo.add(i);
    }
    for (int round = 0; round < 5 && !todo.isEmpty(); round++) {
      Window puts = new Window(cluster.awaitLeader(ELECTION), prefix, todo, window);
      puts.fill();
      cluster.waitUntil(
          "answers to " + todo.size() + " puts", Duration.ofSeconds(60), puts::answered);
      assertThat(puts.errors()).isEmpty();
      todo = puts.refused();
    }
    assertThat(todo).as("puts never accepted").isEmpty();
  }

  /**
   * Puts submitted to one leader with at most {@code size} in flight: each answer sends the next,
   * so nothing blocks and the window works in virtual time as on real threads. Thread-safe: answers
   * arrive on the callback executor.
   */
  private static final class Window {
    private final RaftNode leader;
    private final String prefix;
    private final List<Integer> todo;
    private final int size;
    private final List<Integer> refused = new ArrayList<>();
    private final List<Throwable> errors = new ArrayList<>();
    private int next;
    private int inflight;
    private int answers;
    private boolean filling; // guards against filling from inside an answer given at once

    Window(RaftNode leader, String prefix, List<Integer> todo, int size) {
      this.leader = leader;
      this.prefix = prefix;
      this.todo = todo;
      this.size = size;
    }

    /** Submits puts until the window is full or nothing is left. */
    void fill() {
      synchronized (this) {
        if (filling) {
          return;
        }
        filling = true;
      }
      while (true) {
        int i;
        synchronized (this) {
          if (inflight >= size || next >= todo.size()) {
            filling = false;
            return;
          }
          i = todo.get(next++);
          inflight++;
        }
        CompletableFuture<Result> unused =
            leader
                .submit(TestCluster.put(prefix + i, "v" + i))
                .whenComplete(
                    (r, e) -> {
                      synchronized (this) {
                        inflight--;
                        answers++;
                        if (e != null) {
                          if (rootCause(e) instanceof NotLeaderException
                              || rootCause(e) instanceof CommandRejectedException) {
                            refused.add(i);
                          } else {
                            errors.add(e);
                          }
                        }
                      }
                      fill();
                    });
      }
    }

    synchronized boolean answered() {
      return answers == todo.size();
    }

    synchronized List<Integer> refused() {
      return new ArrayList<>(refused);
    }

    synchronized List<Throwable> errors() {
      return new ArrayList<>(errors);
    }
  }

  /**
   * Puts submitted one at a time to whichever member leads, until stopped: each answer sends the
   * next 1 ms later (in virtual time, where an in-memory write can commit without the clock moving,
   * a writer without a pause would keep the clock from ever moving), so nothing blocks.
   * Thread-safe: answers arrive on the callback executor.
   */
  private static final class Writer {
    private final TestCluster c;
    private final AtomicInteger acknowledged = new AtomicInteger();
    private volatile boolean writing = true;

    Writer(TestCluster c) {
      this.c = c;
    }

    void next() {
      if (!writing) {
        return;
      }
      RaftNode l = c.leader();
      if (l == null) {
        c.after(Duration.ofMillis(10), this::next);
        return;
      }
      CompletableFuture<Result> unused =
          l.submit(TestCluster.put("w" + acknowledged.get(), "v"))
              .whenComplete(
                  (r, e) -> {
                    if (e == null) {
                      acknowledged.incrementAndGet();
                      c.after(Duration.ofMillis(1), this::next);
                    } else {
                      // a leader change during a membership change: retry a little later
                      c.after(Duration.ofMillis(10), this::next);
                    }
                  });
    }

    void stop() {
      writing = false;
    }
  }

  @Test
  void threeNodesElectALeaderAndApplyManyCommandsEverywhere() {
    TestCluster c = cluster(TestCluster.fastOptions().build()).start("n1", "n2", "n3");
    c.awaitLeader(ELECTION);
    int n = bulkCommands();
    submitAll("k", n, 512);
    for (String id : List.of("n1", "n2", "n3")) {
      c.waitUntil(
          id + " applies every command", Duration.ofSeconds(30), () -> c.machine(id).size() == n);
      assertThat(c.machine(id).value("k" + (n - 1))).isEqualTo("v" + (n - 1));
    }
  }

  @Test
  void fiveNodesElectALeaderAndReplicate() {
    TestCluster c = cluster(TestCluster.fastOptions().build()).start("n1", "n2", "n3", "n4", "n5");
    c.awaitLeader(ELECTION);
    submitAll("k", 2_000, 128);
    for (String id : List.of("n1", "n2", "n3", "n4", "n5")) {
      c.waitUntil(id + " applies", Duration.ofSeconds(20), () -> c.machine(id).size() == 2_000);
    }
  }

  @Test
  void aNewLeaderTakesOverWhenTheLeaderIsKilledAndTheOldOneRejoins() {
    TestCluster c = cluster(TestCluster.fastOptions().build()).start("n1", "n2", "n3");
    c.awaitLeader(ELECTION);
    submitAll("before", 500, 64);
    String old = c.awaitLeader(ELECTION).id();
    c.stop(old);
    RaftNode next = c.awaitLeader(ELECTION);
    assertThat(next.id()).isNotEqualTo(old);
    submitAll("after", 500, 64);
    c.restart(old);
    c.waitUntil(
        old + " catches up after restart",
        Duration.ofSeconds(20),
        () -> c.machine(old).size() == 1_000);
    assertThat(c.machine(old).value("before0")).isEqualTo("v0");
  }

  @Test
  void linearizableLeaseAndStaleReadsSeeAcknowledgedWrites() {
    TestCluster c = cluster(TestCluster.fastOptions().build()).start("n1", "n2", "n3");
    RaftNode leader = c.awaitLeader(ELECTION);
    c.join(leader.submit(TestCluster.put("x", "1")));
    assertThat(TestCluster.string(c.join(leader.read(TestCluster.get("x"))).value()))
        .isEqualTo("1");
    assertThat(
            TestCluster.string(
                c.join(leader.read(TestCluster.get("x"), ReadConsistency.LEASE)).value()))
        .isEqualTo("1");
    RaftNode follower =
        c.nodes().values().stream().filter(n -> n != leader).findFirst().orElseThrow();
    // A linearizable read on a follower asks the leader for a read index: it sees the write.
    c.join(leader.submit(TestCluster.put("x", "2")));
    assertThat(TestCluster.string(c.join(follower.read(TestCluster.get("x"))).value()))
        .isEqualTo("2");
    Result stale = c.join(follower.read(TestCluster.get("x"), ReadConsistency.STALE));
    assertThat(stale.index()).isPositive();
  }

  @Test
  void membershipChangesWithJointConsensusUnderWriteLoad() {
    TestCluster c = cluster(TestCluster.fastOptions().build()).start("n1", "n2", "n3");
    c.awaitLeader(ELECTION);
    Writer writer = new Writer(c);
    writer.next();
    try {
      c.startNode("n4", List.of(c.member("n1"), c.member("n2"), c.member("n3")));
      onLeader(l -> l.addMember(c.member("n4")));
      c.waitUntil(
          "n4 promoted to voter",
          Duration.ofSeconds(20),
          () -> {
            Configuration config = c.awaitLeader(ELECTION).status().configuration();
            return config.isVoter("n4") && !config.isJoint();
          });
      String removed = c.awaitLeader(ELECTION).id().equals("n1") ? "n2" : "n1";
      onLeader(l -> l.removeMember(removed));
      assertThat(c.awaitLeader(ELECTION).status().configuration().isVoter(removed)).isFalse();
    } finally {
      writer.stop();
    }
    assertThat(writer.acknowledged.get()).isPositive();
  }

  @Test
  void aNewMemberWithAnEmptyDiskCatchesUpThroughASnapshot() {
    TestCluster c =
        cluster(
                TestCluster.fastOptions()
                    .snapshotThresholdEntries(200)
                    .snapshotTrailingEntries(10)
                    .build())
            .start("n1", "n2", "n3");
    c.awaitLeader(ELECTION);
    submitAll("k", 1_000, 64);
    c.waitUntil(
        "the leader compacts its log",
        Duration.ofSeconds(20),
        () -> c.awaitLeader(ELECTION).status().snapshotIndex() >= 400);
    c.startNode("n4", List.of(c.member("n1"), c.member("n2"), c.member("n3")));
    onLeader(l -> l.addLearner(c.member("n4")));
    c.waitUntil(
        "n4 restores the snapshot and catches up",
        Duration.ofSeconds(20),
        // (status() is refreshed on the node's own schedule, so it is polled too)
        () -> c.machine("n4").size() == 1_000 && c.node("n4").status().snapshotIndex() > 0);
  }

  @Test
  void leadershipTransfersToTheChosenMember() {
    TestCluster c = cluster(TestCluster.fastOptions().build()).start("n1", "n2", "n3");
    RaftNode leader = c.awaitLeader(ELECTION);
    submitAll("k", 100, 16);
    String target = leader.id().equals("n3") ? "n2" : "n3";
    c.join(leader.transferLeadership(target));
    assertThat(c.awaitLeader(ELECTION).id()).isEqualTo(target);
  }

  @Test
  void backpressureRefusesExcessProposalsWithoutLosingAcknowledgedOnes() {
    TestCluster c =
        cluster(TestCluster.fastOptions().maxPendingProposals(64).build()).start("n1", "n2", "n3");
    RaftNode leader = c.awaitLeader(ELECTION);
    List<CompletableFuture<Result>> futures = new ArrayList<>();
    for (int i = 0; i < 5_000; i++) {
      futures.add(leader.submit(TestCluster.put("b" + i, "v" + i)));
    }
    int overloaded = 0;
    List<Integer> acknowledged = new ArrayList<>();
    for (int i = 0; i < futures.size(); i++) {
      try {
        c.join(futures.get(i));
        acknowledged.add(i);
      } catch (CompletionException e) {
        assertThat(e).hasRootCauseInstanceOf(OverloadedException.class);
        overloaded++;
      }
    }
    assertThat(overloaded).isPositive();
    assertThat(acknowledged).isNotEmpty();
    for (String id : List.of("n1", "n2", "n3")) {
      c.waitUntil(
          id + " has every acknowledged write",
          Duration.ofSeconds(20),
          () ->
              acknowledged.stream().allMatch(i -> ("v" + i).equals(c.machine(id).value("b" + i))));
    }
  }

  @Test
  void aFollowerRefusesCommandsNamingTheLeader() {
    TestCluster c = cluster(TestCluster.fastOptions().build()).start("n1", "n2", "n3");
    RaftNode leader = c.awaitLeader(ELECTION);
    onLeader(l -> l.submit(TestCluster.put("a", "1")));
    RaftNode follower =
        c.nodes().values().stream().filter(n -> n != leader).findFirst().orElseThrow();
    c.waitUntil("the follower knows the leader", ELECTION, () -> follower.leader().isPresent());
    assertThatThrownBy(() -> c.join(follower.submit(TestCluster.put("a", "2"))))
        .hasRootCauseInstanceOf(NotLeaderException.class)
        .rootCause()
        .hasMessageContaining(leader.id());
  }

  @Test
  void retriedCommandsInASessionAreAppliedOnceAcrossLeaderChanges() {
    TestCluster c = cluster(TestCluster.fastOptions().build()).start("n1", "n2", "n3");
    c.awaitLeader(ELECTION);
    int commands = 60;
    for (int seq = 1; seq <= commands; seq++) {
      String cmd = "s" + seq;
      // Every command is sent three times, to whichever member leads at the time.
      for (int attempt = 0; attempt < 3; attempt++) {
        RaftNode l = c.awaitLeader(ELECTION);
        try {
          c.join(l.submit("client-1", seq, TestCluster.put(cmd, "v" + seq)));
        } catch (CompletionException e) {
          // a leader change; the next attempt retries
        }
      }
      if (seq % 20 == 0) {
        RaftNode l = c.awaitLeader(ELECTION);
        String other = l.id().equals("n1") ? "n2" : "n1";
        c.join(l.transferLeadership(other));
      }
    }
    RaftNode l = c.awaitLeader(ELECTION);
    c.join(l.submit(TestCluster.put("last", "x")));
    for (String id : List.of("n1", "n2", "n3")) {
      c.waitUntil(
          id + " applies", Duration.ofSeconds(20), () -> "x".equals(c.machine(id).value("last")));
      Map<String, Integer> counts = c.machine(id).applications();
      for (int seq = 1; seq <= commands; seq++) {
        assertThat(counts.get("Ps" + seq + "=v" + seq)).as("applications of s" + seq).isEqualTo(1);
      }
    }
  }

  @Test
  void aCommandOfAClientWithoutASessionIsRefusedAndNotApplied() {
    TestCluster c = cluster(TestCluster.fastOptions().build()).start("n1", "n2", "n3");
    RaftNode l = c.awaitLeader(ELECTION);
    // Sequence 7 of a client the group has never seen: it may be a retry of a command applied
    // in a session that has since expired, so applying it could apply it twice.
    assertThat(reason(() -> c.join(l.submit("nobody", 7, TestCluster.put("z", "1")))))
        .isEqualTo(CommandRejectedException.Reason.NO_SESSION);
    c.join(l.submit(TestCluster.put("last", "x")));
    assertThat(c.machine(l.id()).value("last")).isEqualTo("x");
    assertThat(c.machine(l.id()).value("z")).isNull();
  }

  @Test
  void aSnapshotIsTakenWhenTheAppliedBytesPassTheThreshold() {
    TestCluster c =
        cluster(
                TestCluster.fastOptions()
                    .snapshotThresholdEntries(0)
                    .snapshotThresholdBytes(16 * 1024)
                    .build())
            .start("n1", "n2", "n3");
    RaftNode leader = c.awaitLeader(ELECTION);
    String big = "x".repeat(1024);
    for (int i = 0; i < 40; i++) {
      c.join(leader.submit(TestCluster.put("k" + i, big)));
    }
    // 40 KiB applied, with no entry-count threshold: only the byte threshold can have fired.
    c.waitUntil("a snapshot on the leader", ELECTION, () -> leader.status().snapshotIndex() > 0);
    assertThat(leader.status().snapshotIndex()).isLessThanOrEqualTo(leader.status().appliedIndex());
  }

  @Test
  void aFollowerForwardsCommandsToTheLeaderWhenAsked() {
    TestCluster c =
        cluster(TestCluster.fastOptions().forwardToLeader(true).build()).start("n1", "n2", "n3");
    RaftNode leader = c.awaitLeader(ELECTION);
    RaftNode follower =
        c.nodes().values().stream().filter(n -> n != leader).findFirst().orElseThrow();
    c.waitUntil("the follower knows the leader", ELECTION, () -> follower.leader().isPresent());

    Result r = c.join(follower.submit(TestCluster.put("f", "1")));
    assertThat(r.index()).isPositive();
    // Completed only once applied on the follower itself: read-your-writes there.
    assertThat(c.machine(follower.id()).value("f")).isEqualTo("1");

    // Sessions hold through forwarding: the retry gets the first result, applied once.
    c.join(follower.submit("fc", 1, TestCluster.put("g", "1")));
    Result retry = c.join(follower.submit("fc", 1, TestCluster.put("g", "1")));
    c.join(leader.submit(TestCluster.put("last", "x")));
    c.waitUntil(
        "the follower applies", ELECTION, () -> "x".equals(c.machine(follower.id()).value("last")));
    assertThat(c.machine(follower.id()).applications().get("Pg=1")).isEqualTo(1);
    assertThat(c.machine(leader.id()).applications().get("Pg=1")).isEqualTo(1);
    assertThat(retry.index()).isPositive();

    // The leader's refusals come back as such, with their reasons, and nothing is applied.
    assertThat(reason(() -> c.join(follower.submit("nobody", 5, TestCluster.put("z", "1")))))
        .isEqualTo(CommandRejectedException.Reason.NO_SESSION);
    c.join(follower.submit("fc", 2, TestCluster.put("g", "2")));
    assertThat(reason(() -> c.join(follower.submit("fc", 1, TestCluster.put("g", "3")))))
        .isEqualTo(CommandRejectedException.Reason.SESSION_SUPERSEDED);
    c.join(leader.submit(TestCluster.put("last", "y")));
    c.waitUntil(
        "the follower applies", ELECTION, () -> "y".equals(c.machine(follower.id()).value("last")));
    assertThat(c.machine(follower.id()).value("z")).isNull();
    assertThat(c.machine(follower.id()).value("g")).isEqualTo("2");
  }

  /** Runs a call that must fail with a refusal, and returns the refusal's reason. */
  private static CommandRejectedException.Reason reason(Runnable call) {
    Throwable t = catchThrowable(call::run);
    assertThat(t).isNotNull().hasRootCauseInstanceOf(CommandRejectedException.class);
    return ((CommandRejectedException) rootCause(t)).reason();
  }

  @Test
  void aLearnerAddedByOneLeaderIsPromotedByTheNext() {
    TestCluster c = cluster(TestCluster.fastOptions().build()).start("n1", "n2", "n3");
    RaftNode leader = c.awaitLeader(ELECTION);
    // n4 is not running yet, so it cannot catch up while the first leader leads.
    c.join(leader.addMember(c.member("n4")));
    assertThat(leader.status().configuration().promotable()).containsExactly("n4");
    String next = leader.id().equals("n2") ? "n3" : "n2";
    c.join(leader.transferLeadership(next));
    c.startNode("n4", List.of(c.member("n1"), c.member("n2"), c.member("n3")));
    c.waitUntil(
        "n4 promoted by the next leader",
        Duration.ofSeconds(20),
        () -> {
          Configuration config = c.awaitLeader(ELECTION).status().configuration();
          return config.isVoter("n4") && !config.isJoint() && config.promotable().isEmpty();
        });
  }

  @Test
  void aCommandSubmittedFromTheCompletionOfTheLastOneFindsTheBudgetFree() {
    TestCluster c =
        cluster(TestCluster.fastOptions().maxPendingProposals(1).build()).start("n1", "n2", "n3");
    // A new leader's no-op takes the one slot until it commits; a submit before that is
    // refused as overloaded, which is right but not what this test is about.
    RaftNode[] ready = new RaftNode[1];
    c.waitUntil(
        "a leader whose no-op committed",
        ELECTION,
        () -> {
          ready[0] = c.awaitLeader(ELECTION);
          NodeStatus s = ready[0].status();
          return s.role() == Role.LEADER && s.commitIndex() >= s.lastIndex();
        });
    RaftNode leader = ready[0];
    // With room for one pending operation, each command is sent from the previous one's
    // completion: the completed command's slot must already be free.
    Result second =
        c.join(
            leader
                .submit(TestCluster.put("a", "1"))
                .thenCompose(r -> leader.submit(TestCluster.put("b", "2"))));
    assertThat(second.index()).isPositive();
  }
}
