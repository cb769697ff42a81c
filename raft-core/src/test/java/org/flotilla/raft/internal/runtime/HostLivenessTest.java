package org.flotilla.raft.internal.runtime;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import org.flotilla.raft.cluster.Member;
import org.flotilla.raft.message.Heartbeat;
import org.flotilla.raft.message.RaftMessage;
import org.flotilla.raft.message.RequestVote;
import org.flotilla.raft.sim.VirtualScheduler;
import org.flotilla.raft.spi.Transport;
import org.junit.jupiter.api.Test;

/**
 * {@link HostLiveness} in virtual time: host "a" watches host "b", a member of one of its groups.
 */
class HostLivenessTest {

  private static final long MS = 1_000_000L;
  private static final long INTERVAL = 100 * MS;
  private static final long TIMEOUT = 1_000 * MS;

  private final VirtualScheduler clock = new VirtualScheduler(17);
  private final StubTransport livenessGroup = new StubTransport();
  private final StubTransport dataGroup = new StubTransport();
  private final List<String> downs = new ArrayList<>();
  private final HostLiveness liveness =
      new HostLiveness("a", clock, livenessGroup, INTERVAL, TIMEOUT, downs::add);

  private Transport startWatchingB() throws Exception {
    liveness.start();
    Transport t = liveness.track("g1", dataGroup);
    t.start("a", m -> {});
    t.updateMembers(List.of(Member.of("a"), Member.of("b")));
    return t;
  }

  /** Every {@code period} from now until {@code until}, {@code m} arrives on {@code t}. */
  private void deliverEvery(StubTransport t, long period, long until, RaftMessage m) {
    for (long at = period; clock.nanoTime() + at <= until; at += period) {
      clock.schedule(at, () -> t.inbox.receive(m));
    }
  }

  /** A host that sends neither liveness nor group messages is down after the timeout. */
  @Test
  void aSilentHostIsDownAfterTheTimeout() throws Exception {
    startWatchingB();
    clock.runUntil(TIMEOUT / 2);
    assertThat(downs).isEmpty();
    clock.runUntil(TIMEOUT + 2 * INTERVAL);
    assertThat(downs).contains("b");
    assertThat(liveness.downHosts()).containsExactly("b");
    liveness.close();
  }

  /** Liveness messages keep a host up; they stop, and it is down. */
  @Test
  void livenessMessagesKeepAHostUp() throws Exception {
    startWatchingB();
    deliverEvery(livenessGroup, INTERVAL, 5 * TIMEOUT, new Heartbeat("b", "a", 0, 0, 0, false));
    clock.runUntil(5 * TIMEOUT);
    assertThat(downs).isEmpty();
    clock.runUntil(6 * TIMEOUT + 2 * INTERVAL);
    assertThat(downs).contains("b");
    liveness.close();
  }

  /**
   * A host whose liveness messages are late or lost (queued behind thousands of groups' messages on
   * a busy start) but whose groups' messages arrive is alive: it is not declared down, which would
   * wake every quiesced group it shares and make it busier still.
   */
  @Test
  void anyMessageOfAGroupCountsAsHearingFromItsHost() throws Exception {
    startWatchingB();
    deliverEvery(
        dataGroup, INTERVAL, 5 * TIMEOUT, new RequestVote("b", "a", 3, 0, 0, false, false));
    clock.runUntil(5 * TIMEOUT);
    assertThat(downs).isEmpty();
    assertThat(liveness.downHosts()).isEmpty();
    // A message for another host, or from a host not watched, proves nothing about "b".
    deliverEvery(
        dataGroup, INTERVAL, 7 * TIMEOUT, new RequestVote("b", "c", 3, 0, 0, false, false));
    clock.runUntil(7 * TIMEOUT);
    assertThat(downs).contains("b");
    liveness.close();
  }

  /** A transport that records what is sent and lets the test deliver messages. */
  private static final class StubTransport implements Transport {
    Inbox inbox;
    final List<RaftMessage> sent = new ArrayList<>();

    @Override
    public void start(String localId, Inbox in) {
      this.inbox = in;
    }

    @Override
    public void updateMembers(Collection<Member> members) {}

    @Override
    public void send(RaftMessage message) {
      sent.add(message);
    }

    @Override
    public void close() {}
  }
}
