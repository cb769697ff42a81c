package org.flotilla.raft;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import org.flotilla.raft.cluster.Member;
import org.flotilla.raft.memory.MemoryNetwork;
import org.flotilla.raft.message.InstallSnapshotResponse;
import org.flotilla.raft.sim.VirtualScheduler;
import org.flotilla.raft.testkit.LossyTransport;
import org.flotilla.raft.testkit.TestCluster;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A snapshot transfer under way shows its progress in {@link NodeStatus#snapshotTransfers()} on
 * both ends, and leaves no entry once it is done. Three real nodes run in virtual time; a {@link
 * LossyTransport} holds the transfer in flight by losing the receiver's acknowledgements.
 */
class SnapshotProgressTest {

  private static final Duration WAIT = Duration.ofSeconds(30);
  private static final int CHUNK = 4096;
  private static final RaftOptions OPTIONS =
      TestCluster.fastOptions().snapshotChunkBytes(CHUNK).snapshotTrailingEntries(0).build();

  private final VirtualScheduler time = new VirtualScheduler();
  private final MemoryNetwork network =
      MemoryNetwork.create(
          time.executor(),
          MemoryNetwork.DEFAULT_LINK_CAPACITY,
          MemoryNetwork.DEFAULT_MAX_MESSAGE_BYTES);
  private final Map<String, LossyTransport> transports = new HashMap<>();
  private TestCluster cluster;

  @AfterEach
  void close() {
    if (cluster != null) {
      cluster.close();
    }
    network.close();
  }

  @Test
  void bothEndsReportBytesDoneAndTotalWhileASnapshotIsSent() {
    cluster =
        new TestCluster(
                Member::of,
                id -> {
                  LossyTransport t = new LossyTransport(network.transport());
                  transports.put(id, t);
                  return t;
                },
                id -> new TestCluster.MemoryStores(),
                OPTIONS)
            .withVirtualTime(time)
            .start("n1", "n2", "n3");
    RaftNode lead = cluster.awaitLeader(WAIT);
    RaftNode behind =
        cluster.nodes().values().stream().filter(n -> n != lead).findFirst().orElseThrow();
    String to = behind.id();
    // The follower falls behind, and the leader compacts what it missed into a snapshot of about
    // 64 KiB: sixteen chunks.
    transports.get(lead.id()).lose(m -> m.to().equals(to));
    List<CompletableFuture<Result>> puts = new ArrayList<>();
    for (int i = 0; i < 64; i++) {
      puts.add(lead.submit(TestCluster.put("k" + i, "v".repeat(1000))));
    }
    puts.forEach(cluster::join);
    long snapshot = cluster.join(lead.takeSnapshot());

    // The follower's acknowledgements are lost: the transfer stays in flight.
    transports.get(to).lose(m -> m instanceof InstallSnapshotResponse);
    transports.get(lead.id()).lose(m -> false);
    cluster.waitUntil(
        "both ends report the transfer",
        WAIT,
        () -> transfer(lead, to).isPresent() && transfer(behind, lead.id()).isPresent());
    NodeStatus.SnapshotTransfer sending = transfer(lead, to).orElseThrow();
    NodeStatus.SnapshotTransfer receiving = transfer(behind, lead.id()).orElseThrow();
    assertThat(sending.sending()).isTrue();
    assertThat(sending.snapshotIndex()).isEqualTo(snapshot);
    assertThat(sending.bytesTotal()).isGreaterThan(16L * CHUNK);
    assertThat(sending.bytesDone()).as("nothing acknowledged").isZero();
    assertThat(receiving.sending()).isFalse();
    assertThat(receiving.snapshotIndex()).isEqualTo(snapshot);
    assertThat(receiving.bytesTotal()).isEqualTo(sending.bytesTotal());
    assertThat(receiving.bytesDone())
        .as("chunks stored, but not the whole snapshot")
        .isPositive()
        .isLessThan(receiving.bytesTotal());

    transports.get(to).lose(m -> false);
    cluster.waitUntil(
        "the follower installed the snapshot and no transfer is left",
        WAIT,
        () ->
            behind.status().appliedIndex() >= snapshot
                && lead.status().snapshotTransfers().isEmpty()
                && behind.status().snapshotTransfers().isEmpty());
  }

  private static Optional<NodeStatus.SnapshotTransfer> transfer(RaftNode node, String peer) {
    return node.status().snapshotTransfers().stream()
        .filter(t -> t.peer().equals(peer))
        .findFirst();
  }
}
