package org.flotilla.raft;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import org.flotilla.raft.memory.MemoryNetwork;
import org.flotilla.raft.memory.MemoryTransport;
import org.flotilla.raft.message.ForwardRequest;
import org.flotilla.raft.message.ForwardResponse;
import org.flotilla.raft.message.RaftMessage;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The runtime's integration scenarios over the in-memory transport and stores. */
class MemoryClusterTest extends RaftClusterScenarios {

  private static final Duration WAIT = Duration.ofSeconds(20);

  private MemoryNetwork network;

  @Override
  protected TestCluster newCluster(RaftOptions options) {
    network = MemoryNetwork.create();
    return new TestCluster(
        Member::of, id -> network.transport(), id -> new TestCluster.MemoryStores(), options);
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
  void theLeaderRefusesAForwardedCommandWhoseEnvelopeDoesNotDecode() throws Exception {
    TestCluster c = newCluster(TestCluster.fastOptions().build());
    try (c) {
      List<Member> voters = List.of(Member.of("n1"), Member.of("n2"), Member.of("n3"));
      c.startNode("n1", voters);
      c.startNode("n2", voters);
      BlockingQueue<RaftMessage> toN3 = new ArrayBlockingQueue<>(100_000);
      MemoryTransport n3 = network.transport();
      n3.start("n3", m -> toN3.offer(m));
      n3.updateMembers(voters);
      RaftNode leader = c.awaitLeader(WAIT);
      long committedBefore = join(leader.submit(TestCluster.put("a", "1"))).index();

      byte[] garbage = {(byte) 0x7f, 1, 2, 3};
      n3.send(
          new ForwardRequest(
              "n3", leader.id(), leader.status().term(), 77, ByteBuffer.wrap(garbage)));
      ForwardResponse answer = null;
      long deadline = System.nanoTime() + WAIT.toNanos();
      while (answer == null && System.nanoTime() < deadline) {
        RaftMessage m = toN3.poll(100, TimeUnit.MILLISECONDS);
        if (m instanceof ForwardResponse r && r.requestId() == 77) {
          answer = r;
        }
      }
      assertThat(answer).as("the leader's answer to n3").isNotNull();
      assertThat(answer.status()).isEqualTo(ForwardResponse.Status.REJECTED);
      assertThat(answer.error()).contains("malformed forwarded command from n3");

      // Both running members go on applying, and the garbage never became an entry.
      Result next = join(leader.submit(TestCluster.put("b", "2")));
      assertThat(next.index()).isEqualTo(committedBefore + 1);
      for (String id : List.of("n1", "n2")) {
        TestCluster.await(
            id + " applies the next command", WAIT, () -> "2".equals(c.machine(id).value("b")));
      }
      n3.close();
    }
  }
}
