package org.flotilla.raft.transport.netty;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import org.flotilla.raft.message.AppendEntries;
import org.flotilla.raft.message.Heartbeat;
import org.flotilla.raft.message.RaftMessage;
import org.flotilla.raft.message.RequestVoteResponse;
import org.junit.jupiter.api.Test;

class OutboundQueueTest {

  private static RaftMessage append(long prev) {
    return new AppendEntries("a", "b", 1, prev, 0, 0, List.of());
  }

  private static Outbound out(RaftMessage m) {
    return new Outbound(WireCodecTest.CODEC, m);
  }

  private static List<RaftMessage> messages(List<Outbound> polled) {
    return polled.stream().map(Outbound::message).toList();
  }

  private static RaftMessage vote(long term) {
    return new RequestVoteResponse("a", "b", term, true, false);
  }

  @Test
  void whenFullTheOldestReplicationMessageGoesFirst() {
    OutboundQueue q = new OutboundQueue(3, 1 << 20);
    q.offer(out(vote(1)));
    q.offer(out(append(1)));
    q.offer(out(append(2)));
    assertThat(q.offer(out(vote(2)))).isEqualTo(1);
    List<Outbound> polled = new ArrayList<>();
    q.pollBatch(polled, 10);
    assertThat(messages(polled)).containsExactly(vote(1), append(2), vote(2));
    assertThat(q.dropped()).isEqualTo(1);
  }

  @Test
  void withNoReplicationMessageLeftTheOldestOfAnyKindGoes() {
    OutboundQueue q = new OutboundQueue(2, 1 << 20);
    q.offer(out(vote(1)));
    q.offer(out(vote(2)));
    q.offer(out(vote(3)));
    List<Outbound> polled = new ArrayList<>();
    q.pollBatch(polled, 10);
    assertThat(messages(polled)).containsExactly(vote(2), vote(3));
  }

  @Test
  void theByteBoundHoldsAndAMessageAboveItIsDropped() {
    int hb = new Heartbeat("a", "b", 1, 0, 0).sizeInBytes();
    OutboundQueue q = new OutboundQueue(1000, 3L * hb);
    for (int i = 0; i < 10; i++) {
      q.offer(out(new Heartbeat("a", "b", 1, 0, i)));
    }
    assertThat(q.size()).isEqualTo(3);
    OutboundQueue tiny = new OutboundQueue(1000, hb - 1);
    assertThat(tiny.offer(out(new Heartbeat("a", "b", 1, 0, 0)))).isEqualTo(1);
    assertThat(tiny.isEmpty()).isTrue();
  }

  @Test
  void pollBatchTakesAtMostMaxInOrderAndClearCounts() {
    OutboundQueue q = new OutboundQueue(100, 1 << 20);
    for (int i = 0; i < 10; i++) {
      q.offer(out(new Heartbeat("a", "b", 1, 0, i)));
    }
    List<Outbound> polled = new ArrayList<>();
    q.pollBatch(polled, 4);
    assertThat(messages(polled))
        .extracting(m -> ((Heartbeat) m).round())
        .containsExactly(0L, 1L, 2L, 3L);
    assertThat(q.clear()).isEqualTo(6);
    assertThat(q.dropped()).isEqualTo(6);
  }
}
