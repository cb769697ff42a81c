package org.flotilla.raft.metrics;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.lang.management.ManagementFactory;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import javax.management.JMException;
import javax.management.MBeanServer;
import javax.management.ObjectName;
import javax.management.openmbean.CompositeData;
import org.flotilla.raft.NodeStatus;
import org.flotilla.raft.RaftNode;
import org.flotilla.raft.cluster.Member;
import org.flotilla.raft.cluster.Role;
import org.flotilla.raft.memory.MemoryNetwork;
import org.flotilla.raft.sim.VirtualScheduler;
import org.flotilla.raft.spi.RaftMetrics;
import org.flotilla.raft.testkit.TestCluster;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A real three-node cluster over the in-memory network with {@link JmxRaftMetrics}: the MBeans
 * appear in the platform MBean server, their attributes follow the cluster, and they disappear when
 * the node closes. The cluster runs in virtual time on the test's thread ({@link
 * VirtualScheduler}): each wait moves the virtual clock until its condition holds, within a bounded
 * virtual time.
 */
@Timeout(60)
class JmxRaftMetricsTest {

  private static final Duration WAIT = Duration.ofSeconds(20);
  private static final String GROUP = "jmx-test";

  private final MBeanServer server = ManagementFactory.getPlatformMBeanServer();

  private long longAttribute(ObjectName name, String attribute) {
    try {
      return (Long) server.getAttribute(name, attribute);
    } catch (JMException e) {
      throw new AssertionError("cannot read " + name + " " + attribute, e);
    }
  }

  private Object attribute(ObjectName name, String attribute) throws JMException {
    return server.getAttribute(name, attribute);
  }

  @Test
  void registersMBeansWhoseAttributesMoveAndUnregistersThemOnClose() throws Exception {
    Map<String, JmxRaftMetrics> metrics = new ConcurrentHashMap<>();
    VirtualScheduler time = new VirtualScheduler();
    try (MemoryNetwork net =
            MemoryNetwork.create(
                time.executor(),
                MemoryNetwork.DEFAULT_LINK_CAPACITY,
                MemoryNetwork.DEFAULT_MAX_MESSAGE_BYTES);
        TestCluster cluster =
            new TestCluster(
                    Member::of,
                    id -> net.transport(),
                    id -> new TestCluster.MemoryStores(),
                    TestCluster.fastOptions().build())
                .withVirtualTime(time)
                .withMetrics(GROUP, id -> metrics.computeIfAbsent(id, x -> new JmxRaftMetrics()))) {
      cluster.start("n1", "n2", "n3");
      for (String id : List.of("n1", "n2", "n3")) {
        assertThat(server.isRegistered(JmxRaftMetrics.nodeObjectName(GROUP, id))).isTrue();
        for (String peer : List.of("n1", "n2", "n3")) {
          assertThat(server.isRegistered(JmxRaftMetrics.peerObjectName(GROUP, id, peer)))
              .as("%s's bean of %s", id, peer)
              .isEqualTo(!peer.equals(id));
        }
      }

      RaftNode leader = cluster.awaitLeader(WAIT);
      ObjectName name = JmxRaftMetrics.nodeObjectName(GROUP, leader.id());
      long proposalsBefore = longAttribute(name, "Proposals");
      for (int i = 0; i < 5; i++) {
        cluster.join(leader.submit(TestCluster.put("k" + i, "v" + i)));
      }
      assertThat(longAttribute(name, "Proposals")).isEqualTo(proposalsBefore + 5);
      assertThat(attribute(name, "Role")).isEqualTo("LEADER");
      assertThat(attribute(name, "GroupId")).isEqualTo(GROUP);
      assertThat(longAttribute(name, "Term")).isPositive();
      assertThat(longAttribute(name, "ElectionsWon")).isPositive();
      assertThat(longAttribute(name, "ElectionsStarted")).isPositive();
      // the leader's no-op and the five commands
      assertThat(longAttribute(name, "CommitIndex")).isGreaterThanOrEqualTo(6);
      assertThat(longAttribute(name, "EntriesCommitted")).isGreaterThanOrEqualTo(6);
      cluster.waitUntil(
          "the applied counters to catch up",
          WAIT,
          () ->
              longAttribute(name, "EntriesApplied") >= 6
                  && longAttribute(name, "AppliedIndex") >= 6);
      CompositeData apply = (CompositeData) attribute(name, "ApplyLatency");
      assertThat((Long) apply.get("count")).isPositive();
      assertThat((long[]) apply.get("bucketCounts"))
          .hasSize(((long[]) apply.get("bounds")).length + 1);
      CompositeData append = (CompositeData) attribute(name, "LogAppendBatchSize");
      assertThat((Long) append.get("count")).isPositive();
      assertThat((Long) append.get("sum")).isGreaterThanOrEqualTo(6);

      // every follower sees the same leader, counted as a leader change
      for (String id : List.of("n1", "n2", "n3")) {
        assertThat(longAttribute(JmxRaftMetrics.nodeObjectName(GROUP, id), "LeaderChanges"))
            .isPositive();
      }

      String follower = leader.id().equals("n1") ? "n2" : "n1";
      ObjectName peer = JmxRaftMetrics.peerObjectName(GROUP, leader.id(), follower);
      long commit = longAttribute(name, "CommitIndex");
      cluster.waitUntil(
          "the leader's view of " + follower + " to catch up",
          WAIT,
          () -> longAttribute(peer, "MatchIndex") >= commit && longAttribute(peer, "Lag") == 0);
      assertThat(attribute(peer, "ConnectionState")).isEqualTo("CONNECTED");
      assertThat(attribute(peer, "ReplicationState")).isEqualTo("REPLICATE");
      assertThat(attribute(peer, "Voter")).isEqualTo(true);
      assertThat(longAttribute(peer, "MessagesSent")).isPositive();
      assertThat(longAttribute(peer, "BytesSent")).isPositive();
      assertThat(longAttribute(peer, "MessagesReceived")).isPositive();

      String id = leader.id();
      cluster.stop(id);
      assertThat(server.isRegistered(name)).isFalse();
      assertThat(server.isRegistered(peer)).isFalse();
    }
    for (String id : List.of("n1", "n2", "n3")) {
      assertThat(server.queryNames(JmxRaftMetrics.nodeObjectName(GROUP, id), null)).isEmpty();
      assertThat(
              server.queryNames(
                  new ObjectName(
                      "org.flotilla:type=RaftPeer,group=" + GROUP + ",node=" + id + ",*"),
                  null))
          .isEmpty();
    }
  }

  @Test
  void oneInstanceServesOneNode() {
    JmxRaftMetrics metrics = new JmxRaftMetrics();
    RaftMetrics.Gauges gauges = new FixedGauges("twice");
    metrics.register(gauges);
    try {
      assertThatThrownBy(() -> metrics.register(gauges)).isInstanceOf(IllegalStateException.class);
      assertThatThrownBy(() -> new JmxRaftMetrics().register(new FixedGauges("twice")))
          .as("a second node of the same group and id")
          .isInstanceOf(IllegalStateException.class);
    } finally {
      metrics.unregister();
    }
    assertThat(server.isRegistered(JmxRaftMetrics.nodeObjectName(GROUP, "twice"))).isFalse();
  }

  @Test
  void histogramCountsEachValueInTheFirstBucketThatHoldsIt() {
    Histogram h = new Histogram(new long[] {1, 10, 100});
    for (long v : new long[] {0, 1, 2, 10, 11, 100, 101, 5000, -3}) {
      h.record(v);
    }
    Distribution d = h.snapshot();
    assertThat(d.getCount()).isEqualTo(9);
    assertThat(d.getSum()).isEqualTo(0 + 1 + 2 + 10 + 11 + 100 + 101 + 5000);
    assertThat(d.getMax()).isEqualTo(5000);
    assertThat(d.getBucketCounts()).containsExactly(3, 2, 2, 2);
  }

  /** Gauges of a node that never started. */
  private record FixedGauges(String nodeId) implements RaftMetrics.Gauges {
    @Override
    public String groupId() {
      return GROUP;
    }

    @Override
    public long term() {
      return 0;
    }

    @Override
    public Role role() {
      return null;
    }

    @Override
    public String leader() {
      return null;
    }

    @Override
    public long commitIndex() {
      return 0;
    }

    @Override
    public long appliedIndex() {
      return 0;
    }

    @Override
    public long lastIndex() {
      return 0;
    }

    @Override
    public NodeStatus status() {
      return null;
    }

    @Override
    public List<org.flotilla.raft.spi.PeerStats> transportPeers() {
      return List.of();
    }
  }
}
