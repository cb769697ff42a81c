package org.flotilla.raft;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.flotilla.raft.cluster.Member;
import org.flotilla.raft.memory.MemoryNetwork;
import org.flotilla.raft.memory.MemoryTransport;
import org.flotilla.raft.message.ForwardRequest;
import org.flotilla.raft.message.ForwardResponse;
import org.flotilla.raft.sim.VirtualScheduler;
import org.flotilla.raft.testkit.RaftClusterScenarios;
import org.flotilla.raft.testkit.TestCluster;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The runtime's integration scenarios over the in-memory transport and stores, in virtual time: the
 * nodes' workers, the network's deliveries and the futures' completions are events of one {@link
 * VirtualScheduler}, run on the test's thread, so nothing here waits on a real clock and a run does
 * the same thing every time.
 */
class MemoryClusterTest extends RaftClusterScenarios {

  private static final Duration WAIT = Duration.ofSeconds(20);

  private MemoryNetwork network;

  @Override
  protected TestCluster newCluster(RaftOptions options) {
    VirtualScheduler time = new VirtualScheduler();
    network =
        MemoryNetwork.create(
            time.executor(),
            MemoryNetwork.DEFAULT_LINK_CAPACITY,
            MemoryNetwork.DEFAULT_MAX_MESSAGE_BYTES);
    return new TestCluster(
            Member::of, id -> network.transport(), id -> new TestCluster.MemoryStores(), options)
        .withVirtualTime(time);
  }

  @AfterEach
  void closeNetwork() {
    if (network != null) {
      network.close();
    }
  }

  /**
   * A member that forwards a command whose envelope does not decode gets a refusal, and nothing
   * reaches the log: applied, it would stop every member's apply thread. The third member is played
   * by the test through a bare transport.
   */
  @Test
  void theLeaderRefusesAForwardedCommandWhoseEnvelopeDoesNotDecode() {
    TestCluster c = newCluster(TestCluster.fastOptions().build());
    try (c) {
      List<Member> voters = List.of(Member.of("n1"), Member.of("n2"), Member.of("n3"));
      c.startNode("n1", voters);
      c.startNode("n2", voters);
      List<ForwardResponse> answers = new ArrayList<>();
      MemoryTransport n3 = network.transport();
      n3.start(
          "n3",
          m -> {
            if (m instanceof ForwardResponse r && r.requestId() == 77) {
              answers.add(r);
            }
          });
      n3.updateMembers(voters);
      RaftNode leader = c.awaitLeader(WAIT);
      long committedBefore = c.join(leader.submit(TestCluster.put("a", "1"))).index();

      byte[] garbage = {(byte) 0x7f, 1, 2, 3};
      n3.send(
          new ForwardRequest(
              "n3", leader.id(), leader.status().term(), 77, ByteBuffer.wrap(garbage)));
      c.waitUntil("the leader's answer to n3", WAIT, () -> !answers.isEmpty());
      ForwardResponse answer = answers.get(0);
      assertThat(answer.status()).isEqualTo(ForwardResponse.Status.REJECTED);
      assertThat(answer.error()).contains("malformed forwarded command from n3");

      // Both running members go on applying, and the garbage never became an entry.
      Result next = c.join(leader.submit(TestCluster.put("b", "2")));
      assertThat(next.index()).isEqualTo(committedBefore + 1);
      for (String id : List.of("n1", "n2")) {
        c.waitUntil(
            id + " applies the next command", WAIT, () -> "2".equals(c.machine(id).value("b")));
      }
      n3.close();
    }
  }
}
