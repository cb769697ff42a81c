package org.flotilla.raft.transport.netty;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.UnaryOperator;
import org.flotilla.raft.NodeStatus;
import org.flotilla.raft.RaftNode;
import org.flotilla.raft.RaftOptions;
import org.flotilla.raft.cluster.Member;
import org.flotilla.raft.testkit.RaftClusterScenarios;
import org.flotilla.raft.testkit.TestCluster;
import org.junit.jupiter.api.Test;

/**
 * The runtime's integration scenarios over {@link NettyTransport} on loopback: every member listens
 * on its own 127.0.0.1 port, kept across restarts (a restarted member gets a new transport bound to
 * the same port), with in-memory stores.
 */
class NettyClusterTest extends RaftClusterScenarios {

  @Override
  protected TestCluster newCluster(RaftOptions options) {
    return cluster(options, b -> b);
  }

  /**
   * A cluster whose members listen on loopback ports of their own, kept across restarts, with
   * transports {@link #transport} builds and {@code settings} adjusts.
   */
  static TestCluster cluster(RaftOptions options, UnaryOperator<NettyTransport.Builder> settings) {
    Map<String, Integer> ports = new ConcurrentHashMap<>();
    return new TestCluster(
        id -> Member.of(id, "127.0.0.1:" + ports.computeIfAbsent(id, k -> freePort())),
        id -> settings.apply(transport(ports.computeIfAbsent(id, k -> freePort()))).build(),
        id -> new TestCluster.MemoryStores(),
        options);
  }

  /**
   * n3 is down while n4 joins, n1 leaves and n4 takes the lead. n3's configuration names only n1,
   * n2 and n3, and only n4 (the leader) can bring it up to date: it must accept n4's connection.
   */
  @Test
  void aMemberAwayWhileItsNewLeaderJoinedCatchesUpFromIt() {
    try (TestCluster c =
        cluster(TestCluster.fastOptions().build(), b -> b.acceptNonMembers(true))
            .start("n1", "n2", "n3")) {
      List<Member> initial = List.of(c.member("n1"), c.member("n2"), c.member("n3"));
      join(c.awaitLeader(ELECTION).submit(TestCluster.put("before", "1")));
      TestCluster.await(
          "n3 applies the first write",
          Duration.ofSeconds(10),
          () -> "1".equals(c.machine("n3").value("before")));
      c.stop("n3");
      c.startNode("n4", initial);
      join(c.awaitLeader(ELECTION).addMember(c.member("n4")));
      TestCluster.await(
          "n4 promoted",
          Duration.ofSeconds(20),
          () -> {
            NodeStatus s = c.awaitLeader(ELECTION).status();
            return s.configuration().isVoter("n4") && !s.configuration().isJoint();
          });
      // Right after the promotion: the change waits for it to commit instead of failing.
      join(c.awaitLeader(ELECTION).removeMember("n1"));
      assertThat(c.awaitLeader(ELECTION).status().configuration().contains("n1")).isFalse();
      c.stop("n1");
      TestCluster.await(
          "n4 leads",
          Duration.ofSeconds(20),
          () -> {
            RaftNode l = c.awaitLeader(ELECTION);
            if (!l.id().equals("n4")) {
              CompletableFuture<Void> unused = l.transferLeadership("n4");
              return false;
            }
            return true;
          });
      join(c.node("n4").submit(TestCluster.put("after", "2")));

      c.restart("n3");
      TestCluster.await(
          "n3 catches up from n4, a leader it had never heard of",
          Duration.ofSeconds(20),
          () -> "2".equals(c.machine("n3").value("after")));
      // The status is refreshed by the loop at the end of the turn that handed the entry to the
      // apply thread, which may apply it first: wait for the status rather than read it once.
      TestCluster.await(
          "n3's status names n4 as leader and member",
          Duration.ofSeconds(10),
          () -> {
            NodeStatus s = c.node("n3").status();
            return s.leader().equals(Optional.of("n4")) && s.configuration().contains("n4");
          });
    }
  }

  /**
   * A member started with {@code join()} knows no member and connects to none: it accepts the
   * leader that adds it (acceptNonMembers), answers it at the address the leader announced in its
   * handshake, and catches up from it; the new configuration then names everyone.
   */
  @Test
  void aJoiningMemberHearsFromTheLeaderThatAddsItAndCatchesUp() {
    try (TestCluster c =
        cluster(TestCluster.fastOptions().build(), b -> b.acceptNonMembers(true))
            .start("n1", "n2", "n3")) {
      join(c.awaitLeader(ELECTION).submit(TestCluster.put("before", "1")));
      c.startNode("n4", RaftNode.Builder::join);
      assertThat(c.node("n4").status().configuration().isEmpty()).isTrue();
      join(c.awaitLeader(ELECTION).addMember(c.member("n4")));
      TestCluster.await(
          "n4 catches up and is promoted",
          Duration.ofSeconds(20),
          () -> {
            NodeStatus s = c.node("n4").status();
            return "1".equals(c.machine("n4").value("before"))
                && s.configuration().isVoter("n4")
                && !s.configuration().isJoint();
          });
      join(c.awaitLeader(ELECTION).submit(TestCluster.put("after", "2")));
      TestCluster.await(
          "n4 applies a later write",
          Duration.ofSeconds(10),
          () -> "2".equals(c.machine("n4").value("after")));
    }
  }

  /**
   * Returns a builder for a cluster member's transport on a loopback port, with quick reconnects.
   */
  static NettyTransport.Builder transport(int port) {
    return NettyTransport.builder()
        .clusterId("it")
        .bindAddress("127.0.0.1", port)
        .reconnectBackoff(Duration.ofMillis(10), Duration.ofMillis(200))
        .keepalive(Duration.ofSeconds(1))
        .ioThreads(1);
  }

  /** Returns a loopback port that was free a moment ago. */
  static int freePort() {
    return org.flotilla.raft.testkit.TestPorts.free();
  }
}
