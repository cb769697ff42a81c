package org.flotilla.raft.memory;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Executor;
import org.flotilla.raft.cluster.Member;
import org.flotilla.raft.message.Heartbeat;
import org.flotilla.raft.message.RaftMessage;
import org.junit.jupiter.api.Test;

/**
 * The in-memory network's own behaviour, on a synchronous executor (or a manual one) so that every
 * outcome is known when {@code send} returns: no threads, no waiting.
 */
class MemoryNetworkTest {

  private static final List<Member> MEMBERS =
      List.of(Member.of("a"), Member.of("b"), Member.of("c"));

  private final List<RaftMessage> atA = new ArrayList<>();
  private final List<RaftMessage> atB = new ArrayList<>();
  private final List<RaftMessage> atC = new ArrayList<>();

  private MemoryTransport[] start(MemoryNetwork network) {
    MemoryTransport a = network.transport();
    MemoryTransport b = network.transport();
    MemoryTransport c = network.transport();
    a.start("a", atA::add);
    b.start("b", atB::add);
    c.start("c", atC::add);
    for (MemoryTransport t : List.of(a, b, c)) {
      t.updateMembers(MEMBERS);
    }
    return new MemoryTransport[] {a, b, c};
  }

  private static Heartbeat hb(String from, String to, long round) {
    return new Heartbeat(from, to, 1, 0, round);
  }

  @Test
  void synchronousExecutorDeliversInsideSend() {
    MemoryNetwork network = MemoryNetwork.create(Runnable::run, 16, 1 << 20);
    MemoryTransport[] t = start(network);
    t[0].send(hb("a", "b", 1));
    assertThat(atB).containsExactly(hb("a", "b", 1));
    assertThat(network.delivered()).isEqualTo(1);
  }

  @Test
  void disconnectedMemberNeitherSendsNorReceivesUntilReconnected() {
    MemoryNetwork network = MemoryNetwork.create(Runnable::run, 16, 1 << 20);
    MemoryTransport[] t = start(network);
    network.disconnect("b");
    t[0].send(hb("a", "b", 1));
    t[1].send(hb("b", "c", 1));
    t[0].send(hb("a", "c", 1));
    assertThat(atB).isEmpty();
    assertThat(atC).containsExactly(hb("a", "c", 1));
    assertThat(network.dropped()).isEqualTo(2);
    network.reconnect("b");
    t[0].send(hb("a", "b", 2));
    assertThat(atB).containsExactly(hb("a", "b", 2));
  }

  @Test
  void blockCutsOneDirectionOnly() {
    MemoryNetwork network = MemoryNetwork.create(Runnable::run, 16, 1 << 20);
    MemoryTransport[] t = start(network);
    network.block("a", "b");
    t[0].send(hb("a", "b", 1));
    t[1].send(hb("b", "a", 1));
    assertThat(atB).isEmpty();
    assertThat(atA).containsExactly(hb("b", "a", 1));
    network.unblock("a", "b");
    t[0].send(hb("a", "b", 2));
    assertThat(atB).containsExactly(hb("a", "b", 2));
  }

  @Test
  void partitionSeparatesSidesUntilHealed() {
    MemoryNetwork network = MemoryNetwork.create(Runnable::run, 16, 1 << 20);
    MemoryTransport[] t = start(network);
    network.partition(Set.of("a"), Set.of("b", "c"));
    t[0].send(hb("a", "b", 1));
    t[2].send(hb("c", "a", 1));
    t[1].send(hb("b", "c", 1));
    assertThat(atA).isEmpty();
    assertThat(atB).isEmpty();
    assertThat(atC).containsExactly(hb("b", "c", 1));
    network.heal();
    t[0].send(hb("a", "b", 2));
    assertThat(atB).containsExactly(hb("a", "b", 2));
  }

  @Test
  void fullLinkDropsTheOldestMessage() {
    List<Runnable> tasks = new ArrayList<>();
    Executor manual = tasks::add;
    MemoryNetwork network = MemoryNetwork.create(manual, 3, 1 << 20);
    MemoryTransport[] t = start(network);
    for (int i = 1; i <= 5; i++) {
      t[0].send(hb("a", "b", i));
    }
    assertThat(tasks).hasSize(1); // one delivery task per link, however many messages
    tasks.remove(0).run();
    assertThat(atB).containsExactly(hb("a", "b", 3), hb("a", "b", 4), hb("a", "b", 5));
    assertThat(network.dropped()).isEqualTo(2);
  }

  @Test
  void messagesQueuedForADisconnectedMemberAreDropped() {
    List<Runnable> tasks = new ArrayList<>();
    MemoryNetwork network = MemoryNetwork.create(tasks::add, 16, 1 << 20);
    MemoryTransport[] t = start(network);
    t[0].send(hb("a", "b", 1));
    network.disconnect("b");
    tasks.remove(0).run();
    assertThat(atB).isEmpty();
  }

  @Test
  void aMemberIdJoinsOnlyOnce() {
    MemoryNetwork network = MemoryNetwork.create(Runnable::run, 16, 1 << 20);
    start(network);
    assertThatThrownBy(() -> network.transport().start("a", m -> {}))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("already");
  }

  @Test
  void rejectsNonPositiveBounds() {
    assertThatThrownBy(() -> MemoryNetwork.create(0, 10)).hasMessageContaining("linkCapacity");
    assertThatThrownBy(() -> MemoryNetwork.create(10, 0)).hasMessageContaining("maxMessageBytes");
  }
}
