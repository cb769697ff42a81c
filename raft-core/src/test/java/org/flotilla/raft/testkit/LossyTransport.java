package org.flotilla.raft.testkit;

import java.io.IOException;
import java.util.Collection;
import java.util.List;
import java.util.function.Predicate;
import org.flotilla.raft.cluster.Member;
import org.flotilla.raft.message.RaftMessage;
import org.flotilla.raft.spi.PeerStats;
import org.flotilla.raft.spi.Transport;

/**
 * A transport that drops the outbound messages a test chooses (by type, sender or receiver) and
 * passes the rest to another transport: for faults finer than a whole link, such as "this follower
 * gets heartbeats but no entries".
 *
 * <p>Thread-safe as far as its delegate is; the filter may be changed from any thread.
 */
public final class LossyTransport implements Transport {

  private final Transport delegate;
  private volatile Predicate<RaftMessage> lost = m -> false;

  /**
   * Wraps a transport; nothing is dropped until {@link #lose} is called.
   *
   * @param delegate the transport that carries what is not dropped
   */
  public LossyTransport(Transport delegate) {
    this.delegate = delegate;
  }

  /**
   * Sets which messages this member's sends drop from now on.
   *
   * @param filter true for a message to drop; {@code m -> false} drops none
   */
  public void lose(Predicate<RaftMessage> filter) {
    this.lost = filter;
  }

  @Override
  public void start(String localId, Inbox inbox) throws IOException {
    delegate.start(localId, inbox);
  }

  @Override
  public void updateMembers(Collection<Member> members) {
    delegate.updateMembers(members);
  }

  @Override
  public void send(RaftMessage message) {
    if (!lost.test(message)) {
      delegate.send(message);
    }
  }

  @Override
  public void flush() {
    delegate.flush();
  }

  @Override
  public List<PeerStats> peerStats() {
    return delegate.peerStats();
  }

  @Override
  public void close() {
    delegate.close();
  }
}
