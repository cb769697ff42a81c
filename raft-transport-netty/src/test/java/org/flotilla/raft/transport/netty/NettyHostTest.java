package org.flotilla.raft.transport.netty;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import org.flotilla.raft.RaftHost;
import org.flotilla.raft.RaftNode;
import org.flotilla.raft.Result;
import org.flotilla.raft.cluster.Member;
import org.flotilla.raft.cluster.Role;
import org.flotilla.raft.memory.MemoryHostStorage;
import org.flotilla.raft.spi.PeerStats;
import org.flotilla.raft.testkit.TestCluster;
import org.flotilla.raft.testkit.TestCluster.KvStateMachine;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Three {@link RaftHost}s over {@link NettyHostTransport} on loopback in one JVM, each a member of
 * every one of many groups: one connection per remote host carries them all, every group elects and
 * replicates, and a host's death moves its leaderships.
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class NettyHostTest {

  private static final Duration WAIT = Duration.ofSeconds(60);
  private static final int GROUPS = 48;

  private final Map<String, RaftHost> hosts = new LinkedHashMap<>();
  private final Map<String, NettyHostTransport> transports = new HashMap<>();
  private final Map<String, Map<String, KvStateMachine>> machines = new HashMap<>();
  private final List<Member> members = new ArrayList<>();

  @AfterEach
  void tearDown() {
    hosts.values().forEach(RaftHost::close);
  }

  private void startHosts(String... ids) {
    startHosts(true, ids);
  }

  private void startHosts(boolean quiescence, String... ids) {
    for (String id : ids) {
      NettyHostTransport t =
          NettyTransport.builder().clusterId("test").bindAddress("127.0.0.1", 0).buildHost();
      RaftHost h =
          RaftHost.builder()
              .id(id)
              .transport(t)
              .storage(new MemoryHostStorage())
              .options(TestCluster.fastOptions().build())
              .threads(2, 2)
              .quiescence(quiescence)
              .build();
      hosts.put(id, h);
      transports.put(id, t);
      members.add(Member.of(id, "127.0.0.1:" + t.localAddress().getPort()));
    }
    for (RaftHost h : hosts.values()) {
      for (int g = 0; g < GROUPS; g++) {
        KvStateMachine sm = new KvStateMachine(false);
        machines.computeIfAbsent(h.id(), k -> new HashMap<>()).put("g" + g, sm);
        h.newGroup("g" + g).stateMachine(sm).bootstrap(members).build().start();
      }
    }
  }

  private Optional<RaftNode> leader(String group) {
    for (RaftHost h : hosts.values()) {
      Optional<RaftNode> n = h.group(group).filter(RaftNode::isRunning);
      if (n.isPresent() && n.get().status().role() == Role.LEADER) {
        return n;
      }
    }
    return Optional.empty();
  }

  private Result write(String group, String key, String value) {
    long deadline = System.nanoTime() + WAIT.toNanos();
    while (System.nanoTime() - deadline < 0) {
      Optional<RaftNode> l = leader(group);
      if (l.isPresent()) {
        try {
          return l.get().submit(TestCluster.put(key, value)).get(10, TimeUnit.SECONDS);
        } catch (Exception e) {
          // a leader change: ask again
        }
      }
      LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(2)); // polls for a leader
    }
    throw new AssertionError("no write accepted in " + group + " within " + WAIT);
  }

  @Test
  void everyGroupReplicatesOverOneConnectionPerRemoteHost() {
    // Groups that never quiesce heartbeat all the time: their heartbeats share frames.
    startHosts(false, "s1", "s2", "s3");
    for (int g = 0; g < GROUPS; g++) {
      assertThat(write("g" + g, "k", "v" + g).index()).isPositive();
    }
    for (int g = 0; g < GROUPS; g++) {
      String group = "g" + g;
      String expected = "v" + g;
      for (String h : hosts.keySet()) {
        KvStateMachine sm = machines.get(h).get(group);
        TestCluster.await(h + " applies " + group, WAIT, () -> expected.equals(sm.value("k")));
      }
    }
    for (Map.Entry<String, NettyHostTransport> e : transports.entrySet()) {
      List<PeerStats> peers = e.getValue().peerStats();
      // One outbound connection to each of the two other hosts, for all 48 groups.
      assertThat(peers).extracting(PeerStats::peer).hasSize(2).doesNotContain(e.getKey());
      assertThat(peers)
          .allSatisfy(p -> assertThat(p.state()).isEqualTo(PeerStats.ConnectionState.CONNECTED));
      assertThat(e.getValue().groups()).hasSize(GROUPS);
    }
    // The leaders' heartbeats (and the answers) of many groups towards a host share frames.
    TestCluster.await(
        "heartbeats coalesced",
        WAIT,
        () -> transports.values().stream().mapToLong(t -> t.coalescedHeartbeats()[0]).sum() > 10);
    for (NettyHostTransport t : transports.values()) {
      long[] c = t.coalescedHeartbeats();
      assertThat(c[1]).as("heartbeats per coalesced frame").isGreaterThanOrEqualTo(2 * c[0]);
    }
  }

  @Test
  void whenAHostDiesItsGroupsElectLeadersOnTheOthers() {
    startHosts("s1", "s2", "s3");
    for (int g = 0; g < GROUPS; g++) {
      write("g" + g, "a", "1");
    }
    hosts.remove("s1").close();
    for (int g = 0; g < GROUPS; g++) {
      write("g" + g, "b", "2");
      assertThat(leader("g" + g).orElseThrow().id()).isNotEqualTo("s1");
    }
  }

  @Test
  void idleGroupsQuiesceAndADeadHostsLivenessWakesThem() {
    startHosts("s1", "s2", "s3");
    for (int g = 0; g < GROUPS; g++) {
      write("g" + g, "a", "1");
    }
    TestCluster.await(
        "every group quiesces on every host",
        WAIT,
        () -> hosts.values().stream().allMatch(h -> h.quiescedGroups() == GROUPS));
    // Quiesced, the hosts still hear each other: their liveness messages flow.
    for (RaftHost h : hosts.values()) {
      assertThat(h.downHosts()).isEmpty();
    }
    // A write wakes only its group.
    assertThat(write("g0", "b", "2").index()).isPositive();
    String victim = leader("g1").orElseThrow().id();
    hosts.remove(victim).close();
    TestCluster.await(
        "the others find " + victim + " down",
        WAIT,
        () -> hosts.values().stream().allMatch(h -> h.downHosts().equals(List.of(victim))));
    for (int g = 0; g < GROUPS; g++) {
      write("g" + g, "c", "3");
      assertThat(leader("g" + g).orElseThrow().id()).isNotEqualTo(victim);
    }
  }

  @Test
  void removingAGroupStopsOnlyIt() {
    startHosts("s1", "s2", "s3");
    write("g0", "a", "1");
    for (RaftHost h : hosts.values()) {
      h.removeGroup("g0");
    }
    for (NettyHostTransport t : transports.values()) {
      assertThat(t.groups()).hasSize(GROUPS - 1).doesNotContain("g0");
    }
    // The connections stay for the other groups.
    assertThat(write("g1", "b", "2").index()).isPositive();
  }
}
