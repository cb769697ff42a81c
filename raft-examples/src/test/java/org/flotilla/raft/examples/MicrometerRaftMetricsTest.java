package org.flotilla.raft.examples;

import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.flotilla.raft.RaftNode;
import org.flotilla.raft.RaftOptions;
import org.flotilla.raft.cluster.Member;
import org.flotilla.raft.cluster.Role;
import org.flotilla.raft.memory.MemoryLogStore;
import org.flotilla.raft.memory.MemoryMetaStore;
import org.flotilla.raft.memory.MemoryNetwork;
import org.flotilla.raft.memory.MemorySnapshotStore;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Tests the Micrometer binding on a real single-node group in memory, with Micrometer's simple
 * registry: what a service that copies the class into its code base gets.
 */
@Timeout(60)
class MicrometerRaftMetricsTest {

  private final MemoryNetwork network = MemoryNetwork.create();
  private final SimpleMeterRegistry registry = new SimpleMeterRegistry();
  private RaftNode node;

  @AfterEach
  void close() {
    if (node != null) {
      node.close();
    }
    network.close();
  }

  private static void await(String what, BooleanSupplier condition) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
    while (!condition.getAsBoolean()) {
      assertThat(System.nanoTime()).as("waiting for " + what).isLessThan(deadline);
      Thread.sleep(10);
    }
  }

  private double value(String name, String... tags) {
    Meter m = registry.find(name).tags(tags).meter();
    assertThat(m).as("meter %s %s", name, List.of(tags)).isNotNull();
    return m.measure().iterator().next().getValue();
  }

  @Test
  void reportsTheNodeAndFollowsTheMembershipAndLeavesNothingBehindWhenClosed() throws Exception {
    node =
        RaftNode.builder()
            .id("n1")
            .groupId("orders")
            .members(List.of(Member.of("n1")))
            .stateMachine(new KvStateMachine(Map.of()))
            .transport(network.transport())
            .logStore(new MemoryLogStore())
            .metaStore(new MemoryMetaStore())
            .snapshotStore(new MemorySnapshotStore())
            .metrics(new MicrometerRaftMetrics(registry))
            .options(
                RaftOptions.builder()
                    .tickInterval(Duration.ofMillis(5))
                    .electionTimeout(Duration.ofMillis(100))
                    .heartbeatInterval(Duration.ofMillis(20))
                    .leaseDriftMargin(Duration.ofMillis(20))
                    .build())
            .build();
    node.start();
    await("n1 leads", () -> node.status().role() == Role.LEADER);
    node.submit(KvStateMachine.encodePut("k", new byte[] {1})).get(10, TimeUnit.SECONDS);
    await("the put applied", () -> value("flotilla.entries.applied") >= 1);

    assertThat(value("flotilla.is.leader", "group", "orders", "node", "n1")).isEqualTo(1);
    assertThat(value("flotilla.role", "role", "LEADER")).isEqualTo(1);
    assertThat(value("flotilla.role", "role", "FOLLOWER")).isZero();
    assertThat(value("flotilla.term")).isGreaterThanOrEqualTo(1);
    assertThat(value("flotilla.commit.index")).isGreaterThanOrEqualTo(2);
    assertThat(value("flotilla.proposals")).isEqualTo(1);
    assertThat(value("flotilla.elections.won")).isEqualTo(1);
    assertThat(value("flotilla.failed")).isZero();
    assertThat(value("flotilla.snapshot.send.done")).as("no snapshot transfer").isZero();
    assertThat(value("flotilla.snapshot.receive.size")).isZero();
    assertThat(registry.find("flotilla.log.append").timer().count()).isPositive();
    assertThat(registry.find("flotilla.apply.batch").summary().count()).isPositive();
    assertThat(registry.find("flotilla.peer.messages.sent").meters()).as("no peers yet").isEmpty();

    // A learner joins: its meters appear; it leaves: they go.
    node.addLearner(Member.of("n2")).get(10, TimeUnit.SECONDS);
    await(
        "n2's meters",
        () -> registry.find("flotilla.follower.match.index").tag("peer", "n2").gauge() != null);
    assertThat(registry.find("flotilla.peer.connection.state").tag("peer", "n2").gauges())
        .hasSize(3);
    node.removeMember("n2").get(10, TimeUnit.SECONDS);
    await(
        "n2's meters removed",
        () -> registry.find("flotilla.follower.match.index").tag("peer", "n2").gauge() == null);

    node.close();
    assertThat(registry.getMeters()).as("every meter is removed when the node closes").isEmpty();
    node = null;
  }

  @Test
  void eventsBeforeRegistrationAreIgnoredNotFatal() {
    MicrometerRaftMetrics m = new MicrometerRaftMetrics(registry);
    m.proposalAccepted(10);
    m.logSynced(3, 100, 1_000);
    m.entriesApplied(1, 1_000);
    m.unregister();
    assertThat(registry.getMeters()).isEmpty();
  }
}
