package org.flotilla.raft;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowable;
import static org.assertj.core.api.Assertions.fail;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.function.BooleanSupplier;
import org.flotilla.raft.cluster.Configuration;
import org.flotilla.raft.cluster.Member;
import org.flotilla.raft.cluster.Role;
import org.flotilla.raft.memory.MemoryNetwork;
import org.flotilla.raft.sim.VirtualScheduler;
import org.flotilla.raft.spi.HardState;
import org.flotilla.raft.testkit.TestCluster;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The configuration a member starts from is stored before it takes part, and later starts use it: a
 * member restarted with another list, or with only itself, is refused instead of running with that
 * list; one started with {@link RaftNode.Builder#join()} waits, never campaigns, and catches up
 * once the leader adds it. Real nodes run in virtual time on the test's thread (one {@link
 * VirtualScheduler} for their workers and the network's deliveries).
 */
class InitialConfigurationTest {

  private static final RaftOptions OPTIONS = TestCluster.fastOptions().build();
  private static final Member N1 = Member.of("n1");
  private static final Member N2 = Member.of("n2");
  private static final Member N3 = Member.of("n3");
  private static final List<Member> VOTERS = List.of(N1, N2, N3);

  private final VirtualScheduler time = new VirtualScheduler();
  private final MemoryNetwork network =
      MemoryNetwork.create(
          time.executor(),
          MemoryNetwork.DEFAULT_LINK_CAPACITY,
          MemoryNetwork.DEFAULT_MAX_MESSAGE_BYTES);
  private final Map<String, TestCluster.MemoryStores> disks = new HashMap<>();
  // Only the joining member n4 accepts messages from members it does not know: the leader.
  private final TestCluster cluster =
      new TestCluster(
              Member::of,
              id -> network.transport().acceptNonMembers(id.equals("n4")),
              id -> disks.computeIfAbsent(id, k -> new TestCluster.MemoryStores()),
              OPTIONS)
          .withScheduler(t -> time)
          .withCallbackExecutor(time.executor());

  @AfterEach
  void close() {
    cluster.close();
    network.close();
  }

  /**
   * Before the initial configuration was stored, n1 restarted with only itself in its list became a
   * group of one, cut off from the others (its transport talks to members only): it elected itself
   * and acknowledged writes that no other member had, beside the real group's leader. Now the
   * restart is refused, naming both lists, and n1 starts again with its own list.
   */
  @Test
  void aMemberRestartedWithOnlyItselfIsRefusedInsteadOfAcknowledgingWritesAlone() {
    cluster.start("n1", "n2", "n3");
    put(awaitLeader(), "k", "1");
    cluster.stop("n1");

    Throwable refused = catchThrowable(() -> cluster.startNode("n1", List.of(N1)));

    assertThat(refused)
        .as(() -> "n1 restarted with only itself was not refused: " + whatItDoesAlone("n1"))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("first started with voters [n1, n2, n3]")
        .hasMessageContaining("now given voters [n1]");
    assertThat(cluster.node("n1")).isNull();
    assertThat(stored("n1")).contains(Configuration.ofVoters(VOTERS));

    cluster.startNode("n1", VOTERS);
    put(awaitLeader(), "k", "2");
    runUntil("n1 catches up", () -> "2".equals(cluster.machine("n1").value("k")));
  }

  /** A list that differs in a member, an address or a learner is refused; the order is free. */
  @Test
  void aRestartWithAnotherListIsRefusedNamingBothLists() {
    cluster.start("n1", "n2", "n3");
    awaitLeader();
    cluster.stop("n2");

    assertThatThrownBy(() -> cluster.startNode("n2", List.of(N1, N2, Member.of("n4"))))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("n2 cannot start")
        .hasMessageContaining("first started with voters [n1, n2, n3]")
        .hasMessageContaining("now given voters [n1, n2, n4]");
    assertThatThrownBy(
            () -> cluster.startNode("n2", List.of(N1, N2, Member.of("n3", "10.0.0.3:7000"))))
        .hasMessageContaining("now given voters [n1, n2, n3@10.0.0.3:7000]");
    assertThatThrownBy(
            () ->
                cluster.startNode(
                    "n2", b -> b.bootstrap(VOTERS).learners(List.of(Member.of("n4")))))
        .hasMessageContaining("now given voters [n1, n2, n3] and learners [n4]");

    cluster.startNode("n2", List.of(N3, N1, N2));
    assertThat(cluster.node("n2").status().configuration().voters())
        .containsExactlyElementsOf(VOTERS);
  }

  /** Restarted with no list, or with {@code join()}, a member starts from what it stored. */
  @Test
  void aRestartWithNoListOrWithJoinStartsFromTheStoredConfiguration() {
    cluster.start("n1", "n2", "n3");
    put(awaitLeader(), "a", "1");
    cluster.stop("n2");
    cluster.startNode("n2", b -> b);
    cluster.stop("n3");
    cluster.startNode("n3", RaftNode.Builder::join);

    for (String id : List.of("n2", "n3")) {
      assertThat(cluster.node(id).status().configuration())
          .isEqualTo(Configuration.ofVoters(VOTERS));
      assertThat(stored(id)).contains(Configuration.ofVoters(VOTERS));
    }
    put(awaitLeader(), "b", "2");
    for (String id : List.of("n2", "n3")) {
      runUntil(id + " applies the second put", () -> "2".equals(cluster.machine(id).value("b")));
    }
  }

  /**
   * A new member stores its list when {@code start()} returns, before any of its turns ran: a crash
   * right after the start keeps it, and the member, restarted with only itself, is refused; {@code
   * join()} on it uses the stored list.
   */
  @Test
  void theFirstStartStoresTheConfigurationBeforeTheMemberTakesPart() {
    cluster.startNode("n1", VOTERS);
    assertThat(stored("n1")).contains(Configuration.ofVoters(VOTERS));
    assertThat(status("n1").term()).isZero();
    cluster.stop("n1"); // no virtual time has passed: n1 never sent or received anything

    assertThatThrownBy(() -> cluster.startNode("n1", List.of(N1)))
        .hasMessageContaining("first started with voters [n1, n2, n3]");
    cluster.startNode("n1", RaftNode.Builder::join);
    assertThat(status("n1").configuration()).isEqualTo(Configuration.ofVoters(VOTERS));
  }

  /**
   * A member started with {@code join()} has no configuration of its own: alone, through many
   * election timeouts, it never campaigns. The leader adds it; it catches up and is promoted. It
   * stored that it joined, so a restart as a group of its own is refused, and a restart with {@code
   * join()} or no list uses its log.
   */
  @Test
  void aJoiningMemberNeverCampaignsAndCatchesUpOnceTheLeaderAddsIt() {
    cluster.start("n1", "n2", "n3");
    RaftNode leader = awaitLeader();
    for (int i = 0; i < 10; i++) {
      put(leader, "k" + i, "v" + i);
    }
    cluster.startNode("n4", RaftNode.Builder::join);
    assertThat(stored("n4")).contains(Configuration.EMPTY);

    List<Role> roles = new ArrayList<>();
    runFor(10 * OPTIONS.electionTimeout().toNanos(), () -> roles.add(status("n4").role()));
    assertThat(roles).containsOnly(Role.LEARNER);
    assertThat(status("n4").term()).isZero();
    assertThat(status("n4").configuration()).isEqualTo(Configuration.EMPTY);

    CompletableFuture<Result> added = leader.addMember(Member.of("n4"));
    runUntil(
        "n4 catches up and is promoted",
        () ->
            added.isDone()
                && cluster.machine("n4").size() == 10
                && status("n4").configuration().isVoter("n4")
                && !status("n4").configuration().isJoint());

    cluster.stop("n4");
    assertThatThrownBy(() -> cluster.startNode("n4", List.of(Member.of("n4"))))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("joined a running group")
        .hasMessageContaining("now given voters [n4]");
    cluster.startNode("n4", RaftNode.Builder::join);
    assertThat(status("n4").configuration().isVoter("n4")).isTrue();
    cluster.stop("n4");
    cluster.startNode("n4", b -> b);
    put(awaitLeader(), "after", "1");
    runUntil("n4 applies a later put", () -> "1".equals(cluster.machine("n4").value("after")));
  }

  /**
   * A member that ran before the initial configuration was stored (its metadata holds a term and no
   * configuration, as a version 1 metadata file does) takes the list it is given once and stores
   * it; from then on it refuses any other. Without a list it is refused: what it started with is
   * unknown.
   */
  @Test
  void aMemberThatRanBeforeTheConfigurationWasStoredTakesTheListItIsGivenOnce() {
    for (String id : List.of("n1", "n2", "n3")) {
      disk(id).meta().save(new HardState(3, ""));
    }
    assertThatThrownBy(() -> cluster.startNode("n1", b -> b))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("has run before")
        .hasMessageContaining("Start it once with the list it was first started with");
    assertThatThrownBy(() -> cluster.startNode("n1", RaftNode.Builder::join))
        .hasMessageContaining("has run before");
    assertThat(stored("n1")).isEmpty();

    cluster.start("n1", "n2", "n3");
    assertThat(stored("n1")).contains(Configuration.ofVoters(VOTERS));
    put(awaitLeader(), "k", "1");
    cluster.stop("n1");
    assertThatThrownBy(() -> cluster.startNode("n1", List.of(N1)))
        .hasMessageContaining("first started with voters [n1, n2, n3]");
  }

  /** A new member needs to be told how to start; the builder refuses contradictions. */
  @Test
  void aNewMemberWithoutAConfigurationIsRefusedAndTheBuilderRefusesContradictions() {
    assertThatThrownBy(() -> cluster.startNode("n1", b -> b))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("storage is empty and it was given no configuration");
    assertThat(stored("n1")).isEmpty();
    assertThatThrownBy(() -> cluster.startNode("n1", b -> b.bootstrap(VOTERS).join()))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("join() excludes bootstrap(...)");
    assertThatThrownBy(() -> cluster.startNode("n1", b -> b.learners(List.of(N2))))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("learners(...) needs bootstrap(...)");
    assertThatThrownBy(() -> cluster.startNode("n1", b -> b.bootstrap(List.of())))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("at least one voter");
  }

  // ------------------------------------------------------------------ helpers

  private TestCluster.MemoryStores disk(String id) {
    return disks.computeIfAbsent(id, k -> new TestCluster.MemoryStores());
  }

  private Optional<Configuration> stored(String id) {
    return disk(id).meta().loadInitialConfiguration();
  }

  private NodeStatus status(String id) {
    return cluster.node(id).status();
  }

  private RaftNode awaitLeader() {
    RaftNode[] leader = new RaftNode[1];
    runUntil(
        "a leader",
        () -> {
          for (RaftNode n : cluster.nodes().values()) {
            if (n.status().role() == Role.LEADER) {
              leader[0] = n;
              return true;
            }
          }
          return false;
        });
    return leader[0];
  }

  private void put(RaftNode leader, String key, String value) {
    CompletableFuture<Result> f = leader.submit(TestCluster.put(key, value));
    runUntil("put " + key, f::isDone);
    f.join();
  }

  /**
   * Describes what a member started with only itself in its list does on its own, for the failure
   * message of the test that expects such a start to be refused.
   */
  private String whatItDoesAlone(String id) {
    RaftNode n = cluster.node(id);
    runFor(10 * OPTIONS.electionTimeout().toNanos(), () -> {});
    NodeStatus s = n.status();
    if (s.role() != Role.LEADER) {
      return "it is " + s.role() + " in term " + s.term();
    }
    CompletableFuture<Result> f = n.submit(TestCluster.put("alone", "1"));
    runFor(OPTIONS.electionTimeout().toNanos(), () -> {});
    return "it elected itself leader of "
        + s.configuration().voters().stream().map(Member::id).toList()
        + " in term "
        + s.term()
        + (f.isDone() && !f.isCompletedExceptionally()
            ? " and acknowledged a write alone at index " + f.join().index()
            : "");
  }

  /** Moves virtual time forward in 10 ms steps for {@code nanos}, running {@code check} each. */
  private void runFor(long nanos, Runnable check) {
    long end = time.nanoTime() + nanos;
    while (time.nanoTime() < end) {
      time.runUntil(Math.min(end, time.nanoTime() + Duration.ofMillis(10).toNanos()));
      check.run();
    }
  }

  /** Moves virtual time forward in 10 ms steps until the condition holds, at most 30 s of it. */
  private void runUntil(String what, BooleanSupplier condition) {
    long deadline = time.nanoTime() + Duration.ofSeconds(30).toNanos();
    while (!condition.getAsBoolean()) {
      if (time.nanoTime() > deadline) {
        fail("not within 30 s of virtual time: " + what);
      }
      time.runUntil(time.nanoTime() + Duration.ofMillis(10).toNanos());
    }
  }
}
