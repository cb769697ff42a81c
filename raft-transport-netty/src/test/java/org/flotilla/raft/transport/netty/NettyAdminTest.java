package org.flotilla.raft.transport.netty;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.flotilla.raft.CommandRejectedException;
import org.flotilla.raft.NodeStatus;
import org.flotilla.raft.NotLeaderException;
import org.flotilla.raft.RaftNode;
import org.flotilla.raft.cluster.Member;
import org.flotilla.raft.cluster.Role;
import org.flotilla.raft.testkit.TestCluster;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Administrative requests over the Raft port ({@link NettyAdminClient}) against real members on
 * loopback: each operation does what the node's own call does, failures arrive as the same
 * exception types, and a tool is refused unless the member enables admin requests, belongs to
 * another cluster, or (with TLS) presents no certificate the cluster trusts.
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class NettyAdminTest {

  private static final Duration ELECTION = Duration.ofSeconds(10);

  @TempDir static Path dir;
  static Path ca;
  static final Map<String, TestPki.Identity> identities = new ConcurrentHashMap<>();

  private TestCluster cluster;

  @BeforeAll
  static void certificates() throws Exception {
    TestPki pki = new TestPki(dir);
    ca = pki.ca("cluster-ca");
    for (String id : new String[] {"n1", "n2", "n3", "flotilla"}) {
      identities.put(id, pki.member(id, "cluster-ca"));
    }
    pki.ca("rogue-ca");
    identities.put("rogue", pki.member("rogue", "rogue-ca"));
  }

  @AfterEach
  void close() {
    if (cluster != null) {
      cluster.close();
    }
  }

  private static NodeStatus status(NettyAdminClient admin, String address) {
    try {
      return admin.status(address);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static NettyAdminClient.Builder tool() {
    return NettyAdminClient.builder().clusterId("it").timeout(Duration.ofSeconds(20));
  }

  @Test
  void everyOperationDoesWhatTheNodesOwnCallDoes() throws Exception {
    cluster =
        NettyClusterTest.cluster(TestCluster.fastOptions().build(), b -> b.adminRequests(true))
            .start("n1", "n2", "n3");
    RaftNode leader = cluster.awaitLeader(ELECTION);
    String leaderAddress = cluster.member(leader.id()).address();
    RaftNode follower =
        cluster.nodes().values().stream().filter(n -> n != leader).findFirst().orElseThrow();
    String followerAddress = cluster.member(follower.id()).address();
    cluster.join(leader.submit(TestCluster.put("k", "v")));
    try (NettyAdminClient admin = tool().build()) {
      // status() is refreshed every ten ticks, on each node: wait until the leader's shows the
      // write's commit and the follower's shows the leader it has heard from.
      TestCluster.await(
          "the leader's status shows both followers answering and the write committed,"
              + " and the follower's names the leader",
          ELECTION,
          () -> {
            NodeStatus s = status(admin, leaderAddress);
            return s.peers().size() == 2
                && s.peers().stream().allMatch(p -> p.lastContactMillis() >= 0)
                && s.commitIndex() >= 2
                && status(admin, followerAddress).leader().isPresent();
          });
      NodeStatus s = admin.status(leaderAddress);
      assertThat(s.id()).isEqualTo(leader.id());
      assertThat(s.role()).isEqualTo(Role.LEADER);
      assertThat(s.leader()).contains(leader.id());
      assertThat(s.commitIndex()).isGreaterThanOrEqualTo(2);
      assertThat(s.configuration()).isEqualTo(leader.status().configuration());
      NodeStatus f = admin.status(followerAddress);
      assertThat(f.role()).isEqualTo(Role.FOLLOWER);
      assertThat(f.leader()).contains(leader.id());

      // A follower refuses a change the way RaftNode does: NotLeaderException, with the leader.
      Member n4 = cluster.member("n4");
      assertThatThrownBy(() -> admin.addLearner(followerAddress, n4))
          .isInstanceOfSatisfying(
              NotLeaderException.class,
              e -> assertThat(e.leader().map(Member::id)).contains(leader.id()));

      cluster.startNode("n4", RaftNode.Builder::join);
      long added = admin.addLearner(leaderAddress, n4);
      assertThat(added).isPositive();
      assertThat(leader.status().configuration().isLearner("n4")).isTrue();
      long promoted = admin.promote(leaderAddress, "n4");
      assertThat(promoted).isGreaterThan(added);
      TestCluster.await(
          "n4 is a voter",
          ELECTION,
          () -> cluster.awaitLeader(ELECTION).status().configuration().isVoter("n4"));

      admin.transferLeadership(leaderAddress, follower.id());
      TestCluster.await(
          follower.id() + " leads", ELECTION, () -> follower.status().role() == Role.LEADER);
      assertThat(admin.status(followerAddress).role()).isEqualTo(Role.LEADER);

      long snapshot = admin.takeSnapshot(leaderAddress);
      assertThat(snapshot).isPositive();
      TestCluster.await(
          "the status shows the snapshot",
          ELECTION,
          () -> leader.status().snapshotIndex() >= snapshot);

      admin.removeMember(followerAddress, "n4");
      assertThat(follower.status().configuration().contains("n4")).isFalse();
      assertThatThrownBy(() -> admin.removeMember(followerAddress, "n4"))
          .isInstanceOf(CommandRejectedException.class)
          .hasMessageContaining("n4");
    }
  }

  @Test
  void aToolIsRefusedUnlessTheMemberEnablesAdminRequestsAndShareItsCluster() throws Exception {
    cluster = NettyClusterTest.cluster(TestCluster.fastOptions().build(), b -> b).start("n1");
    cluster.awaitLeader(ELECTION);
    String address = cluster.member("n1").address();
    try (NettyAdminClient admin = tool().build()) {
      assertThatThrownBy(() -> admin.status(address))
          .isInstanceOf(IOException.class)
          .hasMessageContaining("admin requests are off")
          .hasMessageContaining("adminRequests(true)");
    }
    cluster.close();
    cluster =
        NettyClusterTest.cluster(TestCluster.fastOptions().build(), b -> b.adminRequests(true))
            .start("n1");
    cluster.awaitLeader(ELECTION);
    String enabled = cluster.member("n1").address();
    try (NettyAdminClient stranger = tool().clusterId("other").build()) {
      assertThatThrownBy(() -> stranger.status(enabled))
          .isInstanceOf(IOException.class)
          .hasMessageContaining("cluster id 'other'");
    }
    try (NettyAdminClient admin = tool().build()) {
      assertThat(admin.status(enabled).role()).isEqualTo(Role.LEADER);
    }
  }

  @Test
  void withTlsOnlyAToolWithATrustedCertificateIsServed() throws Exception {
    Map<String, Integer> ports = new ConcurrentHashMap<>();
    cluster =
        new TestCluster(
                id ->
                    Member.of(
                        id,
                        "127.0.0.1:" + ports.computeIfAbsent(id, k -> NettyClusterTest.freePort())),
                id -> {
                  TestPki.Identity me = identities.get(id);
                  return NettyClusterTest.transport(
                          ports.computeIfAbsent(id, k -> NettyClusterTest.freePort()))
                      .tls(me.certificate(), me.privateKey(), ca)
                      .adminRequests(true)
                      .build();
                },
                id -> new TestCluster.MemoryStores(),
                TestCluster.fastOptions().build())
            .start("n1", "n2", "n3");
    RaftNode leader = cluster.awaitLeader(ELECTION);
    String address = cluster.member(leader.id()).address();
    TestPki.Identity trusted = identities.get("flotilla");
    try (NettyAdminClient admin =
        tool().tls(trusted.certificate(), trusted.privateKey(), ca).build()) {
      assertThat(admin.status(address).role()).isEqualTo(Role.LEADER);
    }
    TestPki.Identity rogue = identities.get("rogue");
    try (NettyAdminClient admin = tool().tls(rogue.certificate(), rogue.privateKey(), ca).build()) {
      assertThatThrownBy(() -> admin.status(address)).isInstanceOf(IOException.class);
    }
    try (NettyAdminClient plain = tool().timeout(Duration.ofSeconds(5)).build()) {
      assertThatThrownBy(() -> plain.status(address)).isInstanceOf(IOException.class);
    }
  }
}
