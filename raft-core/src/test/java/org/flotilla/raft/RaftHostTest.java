package org.flotilla.raft;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import org.flotilla.raft.cluster.Member;
import org.flotilla.raft.cluster.Role;
import org.flotilla.raft.memory.MemoryHostStorage;
import org.flotilla.raft.memory.MemoryNetwork;
import org.flotilla.raft.testkit.TestCluster;
import org.flotilla.raft.testkit.TestCluster.KvStateMachine;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Many groups on a few {@link RaftHost}s in one JVM, over the in-memory network: every group elects
 * a leader and replicates, the hosts' threads do not grow with the number of groups, a host's crash
 * moves its leaderships, a removed group leaves nothing behind.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class RaftHostTest {

  private static final Duration WAIT = Duration.ofSeconds(60);
  private static final List<String> HOSTS = List.of("s1", "s2", "s3");
  private static final List<Member> MEMBERS =
      HOSTS.stream().map(h -> Member.of(h, h + ":1")).toList();

  private final MemoryNetwork network = MemoryNetwork.create();
  private final Map<String, MemoryHostStorage> disks = new HashMap<>();
  private final Map<String, RaftHost> hosts = new HashMap<>();
  // host -> group -> state machine
  private final Map<String, Map<String, KvStateMachine>> machines = new HashMap<>();

  @AfterEach
  void tearDown() {
    hosts.values().forEach(RaftHost::close);
    network.close();
  }

  private RaftHost host(String id) {
    RaftHost h =
        RaftHost.builder()
            .id(id)
            .transport(network.host())
            .storage(disks.computeIfAbsent(id, k -> new MemoryHostStorage()))
            .options(TestCluster.fastOptions().build())
            .threads(2, 2)
            .build();
    hosts.put(id, h);
    return h;
  }

  private RaftNode group(RaftHost h, String groupId) {
    KvStateMachine sm = new KvStateMachine(false);
    machines.computeIfAbsent(h.id(), k -> new HashMap<>()).put(groupId, sm);
    RaftNode node = h.newGroup(groupId).stateMachine(sm).bootstrap(MEMBERS).build();
    node.start();
    return node;
  }

  /** Starts every host of {@link #HOSTS} with the groups g0 to g(groups - 1) on each. */
  private void startHostsWithGroups(int groups) {
    for (String id : HOSTS) {
      host(id);
    }
    for (int g = 0; g < groups; g++) {
      for (String id : HOSTS) {
        group(hosts.get(id), groupId(g));
      }
    }
  }

  private static String groupId(int g) {
    return "g" + g;
  }

  /** The leader of a group as the group's running nodes see it, if they agree on one. */
  private Optional<RaftNode> leader(String groupId) {
    for (RaftHost h : hosts.values()) {
      Optional<RaftNode> n = h.group(groupId);
      if (n.isPresent() && n.get().isRunning() && n.get().status().role() == Role.LEADER) {
        return n;
      }
    }
    return Optional.empty();
  }

  @Test
  void manyGroupsOnThreeHostsElectReplicateAndShareAFixedSetOfThreads() throws Exception {
    int groups = 120;
    for (String id : HOSTS) {
      host(id);
    }
    int threadsBefore = Thread.activeCount();
    for (int g = 0; g < groups; g++) {
      for (String id : HOSTS) {
        group(hosts.get(id), groupId(g));
      }
    }
    // 360 group replicas; with a thread per worker they would need over a thousand threads.
    assertThat(Thread.activeCount() - threadsBefore).isLessThan(10);
    assertThat(hosts.get("s1").threads()).isEqualTo(5);

    TestCluster.await(
        "every group has a leader",
        WAIT,
        () -> {
          for (int g = 0; g < groups; g++) {
            if (leader(groupId(g)).isEmpty()) {
              return false;
            }
          }
          return true;
        });
    writeToEveryGroup(groups, "k", "v1");
    for (int g = 0; g < groups; g++) {
      String group = groupId(g);
      for (String id : HOSTS) {
        KvStateMachine sm = machines.get(id).get(group);
        TestCluster.await(id + " applies in " + group, WAIT, () -> "v1".equals(sm.value("k")));
      }
    }
  }

  /** Writes key=value+group to every group through its leader, retrying across leader changes. */
  private void writeToEveryGroup(int groups, String key, String value) {
    List<CompletableFuture<Result>> writes = new ArrayList<>();
    for (int g = 0; g < groups; g++) {
      String group = groupId(g);
      writes.add(submitWithRetry(group, key, value));
    }
    for (CompletableFuture<Result> w : writes) {
      assertThat(w.join().index()).isPositive();
    }
  }

  private CompletableFuture<Result> submitWithRetry(String group, String key, String value) {
    long deadline = System.nanoTime() + WAIT.toNanos();
    while (true) {
      Optional<RaftNode> l = leader(group);
      if (l.isPresent()) {
        try {
          Result r = l.get().submit(TestCluster.put(key, value)).get(10, TimeUnit.SECONDS);
          return CompletableFuture.completedFuture(r);
        } catch (Exception e) {
          // a leader change under us: ask again
        }
      }
      if (System.nanoTime() - deadline > 0) {
        throw new AssertionError("no write accepted in " + group + " within " + WAIT);
      }
      LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(2)); // polls for a leader
    }
  }

  @Test
  void aCrashedHostsGroupsElectNewLeadersAndItCatchesUpWhenBack() {
    int groups = 30;
    startHostsWithGroups(groups);
    writeToEveryGroup(groups, "a", "1");

    hosts.remove("s1").close();
    writeToEveryGroup(groups, "b", "2");
    for (int g = 0; g < groups; g++) {
      assertThat(leader(groupId(g)).orElseThrow().id()).isNotEqualTo("s1");
    }

    // Back on the same storage: every group restarts from what it stored, and catches up.
    RaftHost s1 = host("s1");
    for (int g = 0; g < groups; g++) {
      group(s1, groupId(g));
    }
    for (int g = 0; g < groups; g++) {
      KvStateMachine sm = machines.get("s1").get(groupId(g));
      TestCluster.await("s1 catches up in " + groupId(g), WAIT, () -> "2".equals(sm.value("b")));
      assertThat(sm.value("a")).isEqualTo("1");
    }
  }

  @Test
  void idleGroupsQuiesceWakeForWorkAndElectNewLeadersWhenTheLeadersHostFails() throws Exception {
    int groups = 24;
    startHostsWithGroups(groups);
    writeToEveryGroup(groups, "a", "1");
    awaitAllQuiesced(groups);
    long delivered = network.delivered();

    // A write wakes its group, commits, and the group quiesces again.
    RaftNode l0 = leader(groupId(0)).orElseThrow();
    assertThat(l0.submit(TestCluster.put("a", "2")).get(10, TimeUnit.SECONDS).index()).isPositive();
    assertThat(network.delivered()).isGreaterThan(delivered);
    // A linearizable read on a quiesced group: the leader wakes, and with no lease left from
    // before it quiesced, confirms its leadership with a round before it answers.
    awaitAllQuiesced(groups);
    RaftNode l1 = leader(groupId(1)).orElseThrow();
    assertThat(l1.read(TestCluster.get("a")).get(10, TimeUnit.SECONDS)).isNotNull();
    awaitAllQuiesced(groups);

    // The host that leads some groups fails. Their followers are quiesced and hear nothing: only
    // the hosts' liveness wakes them, and they elect new leaders.
    String victim = leader(groupId(2)).orElseThrow().id();
    List<String> led = new ArrayList<>();
    for (int g = 0; g < groups; g++) {
      if (leader(groupId(g)).orElseThrow().id().equals(victim)) {
        led.add(groupId(g));
      }
    }
    hosts.remove(victim).close();
    RaftHost survivor = hosts.values().iterator().next();
    TestCluster.await(
        victim + " is down for " + survivor.id(),
        WAIT,
        () -> survivor.downHosts().equals(List.of(victim)));
    TestCluster.await(
        "the groups " + victim + " led elect new leaders: " + led,
        WAIT,
        () ->
            led.stream().allMatch(g -> leader(g).filter(n -> !n.id().equals(victim)).isPresent()));
    writeToEveryGroup(groups, "b", "3");
  }

  /** Waits until every group on every running host is quiesced. */
  private void awaitAllQuiesced(int groups) {
    TestCluster.await(
        "every group quiesces on every host",
        WAIT,
        () -> hosts.values().stream().allMatch(h -> h.quiescedGroups() == groups));
  }

  @Test
  void aRemovedGroupLeavesNothingAndCanBeCreatedAfresh() {
    RaftHost h = host("s1");
    RaftNode node =
        h.newGroup("solo")
            .stateMachine(new KvStateMachine(false))
            .bootstrap(List.of(Member.of("s1", "s1:1")))
            .build();
    node.start();
    TestCluster.await("solo leads", WAIT, () -> node.status().role() == Role.LEADER);
    node.submit(TestCluster.put("x", "1")).join();
    assertThat(h.groupIds()).containsExactly("solo");
    assertThat(disks.get("s1").holds("solo")).isTrue();

    h.removeGroup("solo");
    assertThat(node.isRunning()).isFalse();
    assertThat(h.groupIds()).isEmpty();
    assertThat(disks.get("s1").holds("solo")).isFalse();

    KvStateMachine fresh = new KvStateMachine(false);
    RaftNode again =
        h.newGroup("solo").stateMachine(fresh).bootstrap(List.of(Member.of("s1", "s1:1"))).build();
    again.start();
    TestCluster.await("solo leads again", WAIT, () -> again.status().role() == Role.LEADER);
    again.submit(TestCluster.put("y", "2")).join();
    // A new group: nothing of the removed one's log came back.
    assertThat(fresh.value("y")).isEqualTo("2");
    assertThat(fresh.value("x")).isNull();
  }

  @Test
  void misuseIsRefusedWithAClearError() {
    RaftHost h = host("s1");
    RaftNode first =
        h.newGroup("g").stateMachine(new KvStateMachine(false)).bootstrap(MEMBERS).build();
    assertThatThrownBy(
            () ->
                h.newGroup("g").stateMachine(new KvStateMachine(false)).bootstrap(MEMBERS).build())
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("already runs group g");
    assertThatThrownBy(
            () ->
                h.newGroup("h")
                    .transport(network.transport())
                    .stateMachine(new KvStateMachine(false))
                    .bootstrap(MEMBERS)
                    .build())
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("host's id, threads, transport and storage");
    assertThatThrownBy(
            () -> h.newGroup("bad group").stateMachine(new KvStateMachine(false)).build())
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("groupId");
    assertThat(h.groupIds()).containsExactly("g");

    // A closed group may be built again (a restart of that replica).
    first.close();
    RaftNode second =
        h.newGroup("g").stateMachine(new KvStateMachine(false)).bootstrap(MEMBERS).build();
    assertThat(h.group("g")).contains(second);

    h.close();
    assertThatThrownBy(() -> h.newGroup("z"))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("closed");
    assertThatThrownBy(() -> RaftHost.builder().id("s9").build())
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("transport is required");
  }
}
