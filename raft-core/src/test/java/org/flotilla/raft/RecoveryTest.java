package org.flotilla.raft;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.flotilla.raft.cluster.Member;
import org.flotilla.raft.cluster.Role;
import org.flotilla.raft.memory.MemoryNetwork;
import org.flotilla.raft.sim.VirtualScheduler;
import org.flotilla.raft.testkit.TestCluster;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * {@link Recovery#forceMembers}: a group whose quorum is gone for good elects no leader, and comes
 * back with the writes its survivors hold once their configuration is forced. Real nodes on
 * in-memory stores, in virtual time.
 */
class RecoveryTest {

  private static final Duration WAIT = Duration.ofSeconds(20);
  private static final RaftOptions OPTIONS = TestCluster.fastOptions().build();

  private final VirtualScheduler time = new VirtualScheduler();
  private final MemoryNetwork network =
      MemoryNetwork.create(
          time.executor(),
          MemoryNetwork.DEFAULT_LINK_CAPACITY,
          MemoryNetwork.DEFAULT_MAX_MESSAGE_BYTES);
  private final Map<String, TestCluster.MemoryStores> disks = new HashMap<>();
  private final TestCluster cluster =
      new TestCluster(
              Member::of,
              id -> network.transport(),
              id -> disks.computeIfAbsent(id, k -> new TestCluster.MemoryStores()),
              OPTIONS)
          .withVirtualTime(time);

  @AfterEach
  void close() {
    cluster.close();
    network.close();
  }

  @Test
  void aGroupThatLostTwoOfItsThreeVotersComesBackFromOneSurvivor() {
    cluster.start("n1", "n2", "n3");
    writeAndReplicate(20, "n1", "n2", "n3");
    cluster.stop("n2");
    cluster.stop("n3");
    cluster.stop("n1");

    // Without the recovery the survivor never leads: it cannot get a majority of three.
    RaftNode alone = cluster.restart("n1");
    time.runUntil(time.nanoTime() + 10 * OPTIONS.electionTimeout().toNanos());
    assertThat(alone.status().role()).isNotEqualTo(Role.LEADER);
    cluster.stop("n1");

    long index = force("n1", List.of(cluster.member("n1")));
    RaftNode n1 = cluster.restart("n1");
    assertThat(cluster.awaitLeader(WAIT)).isSameAs(n1);
    assertThat(n1.status().configuration().voters()).extracting(Member::id).containsExactly("n1");
    cluster.waitUntil(
        "the forced configuration commits", WAIT, () -> n1.status().commitIndex() > index);
    assertThat(value(n1, "k19")).as("a write acknowledged before the loss").isEqualTo("v19");
    cluster.join(n1.submit(TestCluster.put("after", "1")));
    assertThat(value(n1, "after")).isEqualTo("1");
  }

  @Test
  void twoSurvivorsWithLogsOfDifferentLengthsAgreeAfterTheRecovery() {
    cluster.start("n1", "n2", "n3", "n4", "n5");
    writeAndReplicate(10, "n1", "n2", "n3", "n4", "n5");
    // n2 misses the last writes; n1 holds them.
    cluster.stop("n2");
    writeAndReplicate(10, "n1", "n3", "n4", "n5");
    for (String id : List.of("n1", "n3", "n4", "n5")) {
      cluster.stop(id);
    }
    List<Member> survivors = List.of(cluster.member("n1"), cluster.member("n2"));
    force("n1", survivors);
    force("n2", survivors);
    cluster.restart("n1");
    cluster.restart("n2");
    RaftNode leader = cluster.awaitLeader(WAIT);
    assertThat(leader.id()).as("the longer log wins").isEqualTo("n1");
    cluster.join(leader.submit(TestCluster.put("after", "1")));
    cluster.waitUntil(
        "both survivors apply every write",
        WAIT,
        () ->
            "1".equals(cluster.machine("n2").value("after"))
                && cluster.machine("n2").size() == cluster.machine("n1").size());
    assertThat(cluster.machine("n2").value("k19")).isEqualTo("v19");
  }

  @Test
  void noVotersIsRefused() {
    TestCluster.MemoryStores s = new TestCluster.MemoryStores();
    assertThatThrownBy(() -> Recovery.forceMembers(List.of(), s.log(), s.meta(), s.snapshots()))
        .isInstanceOf(IllegalArgumentException.class);
  }

  private long force(String id, List<Member> voters) {
    TestCluster.MemoryStores s = disks.get(id);
    return Recovery.forceMembers(voters, s.log(), s.meta(), s.snapshots());
  }

  private int written;

  /** Writes {@code n} more keys through the leader and waits until the members apply them. */
  private void writeAndReplicate(int n, String... members) {
    RaftNode leader = cluster.awaitLeader(WAIT);
    for (int i = 0; i < n; i++) {
      cluster.join(leader.submit(TestCluster.put("k" + written, "v" + written)));
      written++;
    }
    int size = written;
    for (String id : members) {
      cluster.waitUntil(id + " applies the writes", WAIT, () -> cluster.machine(id).size() >= size);
    }
  }

  private String value(RaftNode node, String key) {
    return TestCluster.string(cluster.join(node.read(TestCluster.get(key))).value());
  }
}
