package org.flotilla.raft.transport.netty;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.flotilla.raft.NodeStatus;
import org.flotilla.raft.RaftNode;
import org.flotilla.raft.Result;
import org.flotilla.raft.cluster.Member;
import org.flotilla.raft.testkit.TestCluster;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A cluster of real nodes over {@link NettyTransport} with mutual TLS on loopback: members with
 * certificates from the cluster's CA elect a leader, replicate and serve linearizable reads; a
 * member whose certificate another CA signed never gets a connection, so it never receives the log
 * and never joins the quorum, while writes go on without it.
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class NettyTlsClusterTest {

  private static final Duration ELECTION = Duration.ofSeconds(10);

  @TempDir static Path dir;
  static Path ca;
  static final Map<String, TestPki.Identity> identities = new HashMap<>();

  private TestCluster cluster;

  @BeforeAll
  static void certificates() throws Exception {
    TestPki pki = new TestPki(dir);
    ca = pki.ca("cluster-ca");
    for (String id : List.of("n1", "n2", "n3", "n5")) {
      identities.put(id, pki.member(id, "cluster-ca"));
    }
    pki.ca("rogue-ca");
    // n4 presents a certificate another CA signed, though it trusts the cluster's CA itself.
    identities.put("n4", pki.member("n4", "rogue-ca"));
  }

  @AfterEach
  void close() {
    if (cluster != null) {
      cluster.close();
    }
  }

  private static TestCluster tlsCluster() {
    Map<String, Integer> ports = new ConcurrentHashMap<>();
    return new TestCluster(
        id -> Member.of(id, "127.0.0.1:" + ports.computeIfAbsent(id, k -> freePort())),
        id -> {
          TestPki.Identity me = identities.get(id);
          return NettyClusterTest.transport(ports.computeIfAbsent(id, k -> freePort()))
              .tls(me.certificate(), me.privateKey(), ca)
              .build();
        },
        id -> new TestCluster.MemoryStores(),
        TestCluster.fastOptions().build());
  }

  private static int freePort() {
    return NettyClusterTest.freePort();
  }

  private static <T> T join(CompletableFuture<T> f) throws Exception {
    return f.get(30, TimeUnit.SECONDS);
  }

  @Test
  void threeMembersWithTlsElectReplicateAndReadLinearizably() throws Exception {
    cluster = tlsCluster().start("n1", "n2", "n3");
    RaftNode leader = cluster.awaitLeader(ELECTION);
    for (int i = 0; i < 50; i++) {
      join(leader.submit(TestCluster.put("k" + i, "v" + i)));
    }
    RaftNode follower =
        cluster.nodes().values().stream().filter(n -> n != leader).findFirst().orElseThrow();
    // A linearizable read on a follower asks the leader for a read index over TLS.
    Result read = join(follower.read(TestCluster.get("k49")));
    assertThat(TestCluster.string(read.value())).isEqualTo("v49");
    assertThat(TestCluster.string(join(leader.read(TestCluster.get("k0"))).value()))
        .isEqualTo("v0");
    for (String id : List.of("n1", "n2", "n3")) {
      TestCluster.await(
          id + " applies every write",
          Duration.ofSeconds(20),
          () -> cluster.machine(id).size() == 50);
    }
  }

  @Test
  void aMemberWithACertificateFromAnotherCaNeverJoinsTheQuorum() throws Exception {
    cluster = tlsCluster().start("n1", "n2", "n3");
    RaftNode leader = cluster.awaitLeader(ELECTION);
    List<Member> voters = List.of(cluster.member("n1"), cluster.member("n2"), cluster.member("n3"));
    RaftNode rogue = cluster.startNode("n4", voters);
    // The configuration with n4 as a learner commits without n4: learners do not count.
    join(leader.addMember(cluster.member("n4")));
    for (int i = 0; i < 500; i++) {
      join(leader.submit(TestCluster.put("k" + i, "v" + i)));
    }
    // A trusted member added the same way catches up and is promoted, so the cluster would have
    // promoted n4 by now had it been able to talk to it.
    cluster.startNode("n5", voters);
    join(leader.addMember(cluster.member("n5")));
    TestCluster.await(
        "n5 promoted to voter and caught up",
        Duration.ofSeconds(30),
        () -> {
          NodeStatus s = cluster.awaitLeader(ELECTION).status();
          return s.configuration().isVoter("n5")
              && !s.configuration().isJoint()
              && cluster.machine("n5").size() == 500;
        });
    join(cluster.awaitLeader(ELECTION).submit(TestCluster.put("after", "x")));

    NodeStatus status = cluster.awaitLeader(ELECTION).status();
    assertThat(status.configuration().isVoter("n4")).as("n4 is a voter").isFalse();
    assertThat(status.configuration().isLearner("n4")).isTrue();
    NodeStatus.PeerStatus n4 =
        status.peers().stream().filter(p -> p.id().equals("n4")).findFirst().orElseThrow();
    assertThat(n4.recentlyActive()).as("n4 answered within the last election timeout").isFalse();
    assertThat(n4.matchIndex()).as("entries n4 acknowledged").isZero();
    // Not one message got through either way: n4 has heard of no leader and applied nothing.
    assertThat(rogue.status().leader()).isEmpty();
    assertThat(rogue.status().commitIndex()).isZero();
    assertThat(cluster.machine("n4").size()).isZero();
  }
}
