package org.flotilla.raft.memory;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;
import java.util.stream.Collectors;
import org.flotilla.raft.cluster.Member;
import org.flotilla.raft.message.RaftMessage;
import org.flotilla.raft.spi.PeerStats;
import org.flotilla.raft.spi.Transport;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A {@link Transport} that carries messages through a {@link MemoryNetwork} in the same JVM, for
 * tests and single-process use. Messages are not copied: the receiver gets the sender's immutable
 * record.
 *
 * <p>Like a network transport it only talks to members: a message to an id that is not in the last
 * {@link #updateMembers} is dropped, and so is a message from a sender that is not a member of the
 * receiver's configuration, unless {@link #acceptNonMembers(boolean)} is set. Delivery is
 * asynchronous on the network's executor (see {@link MemoryNetwork}), in order per direction;
 * {@link #flush()} does nothing.
 *
 * <p>Threading: {@link #start}, {@link #updateMembers}, {@link #send} and {@link #close} may be
 * called from any thread (the node calls them from its event loop); the inbox is called on the
 * network's delivery thread.
 */
public final class MemoryTransport implements Transport {

  private static final Logger LOG = LoggerFactory.getLogger(MemoryTransport.class);

  private final MemoryNetwork network;
  // The group this transport carries on a host's shared network, or "" for a transport of its own.
  private final String group;
  // Written once by start, read by senders and the delivery thread.
  private volatile String localId;
  private volatile Inbox inbox;
  // Replaced (never mutated) by updateMembers.
  private volatile Set<String> members = Set.of();
  private volatile boolean acceptNonMembers;
  // Senders outside the configuration whose messages were accepted (acceptNonMembers), so that
  // this transport can answer them; thread-safe.
  private final Set<String> learned = ConcurrentHashMap.newKeySet();
  private volatile boolean closed;
  // Per-peer counters, created on first use and never removed; thread-safe.
  private final ConcurrentHashMap<String, Counters> counters = new ConcurrentHashMap<>();

  /** One peer's counters; thread-safe adders. */
  private static final class Counters {
    final LongAdder sent = new LongAdder();
    final LongAdder sentBytes = new LongAdder();
    final LongAdder received = new LongAdder();
    final LongAdder receivedBytes = new LongAdder();
    final LongAdder dropped = new LongAdder();
  }

  private Counters counters(String peer) {
    Counters c = counters.get(peer);
    if (c == null) {
      Counters fresh = new Counters();
      c = counters.putIfAbsent(peer, fresh);
      if (c == null) {
        c = fresh;
      }
    }
    return c;
  }

  MemoryTransport(MemoryNetwork network, String group) {
    this.network = network;
    this.group = group;
  }

  @Override
  public void start(String localId, Inbox inbox) {
    Objects.requireNonNull(localId, "localId");
    Objects.requireNonNull(inbox, "inbox");
    if (this.localId != null || closed) {
      throw new IllegalStateException("transport already started or closed");
    }
    this.inbox = inbox;
    this.localId = localId;
    network.join(group, localId, this);
  }

  /**
   * Sets whether messages from senders outside the configuration are accepted, and answered
   * (default false), as {@code NettyTransport.Builder.acceptNonMembers} does. A member started with
   * {@code RaftNode.Builder.join()} needs it: it knows no member until the leader that adds it has
   * sent it the group's configuration.
   *
   * @param accept whether to accept them
   * @return this transport
   */
  public MemoryTransport acceptNonMembers(boolean accept) {
    this.acceptNonMembers = accept;
    return this;
  }

  @Override
  public void updateMembers(Collection<Member> newMembers) {
    members = newMembers.stream().map(Member::id).collect(Collectors.toUnmodifiableSet());
  }

  @Override
  public void send(RaftMessage message) {
    if (closed
        || localId == null
        || message == null
        || !(members.contains(message.to()) || learned.contains(message.to()))) {
      network.countDropped();
      if (message != null && members.contains(message.to())) {
        counters(message.to()).dropped.increment();
      }
      return;
    }
    Counters c = counters(message.to());
    c.sent.increment();
    c.sentBytes.add(message.sizeInBytes());
    network.route(group, message);
  }

  /** Called by the network on its delivery thread; returns false if the message was refused. */
  boolean accept(RaftMessage message) {
    if (closed || !message.to().equals(localId)) {
      return false;
    }
    if (!members.contains(message.from())) {
      if (!acceptNonMembers) {
        return false;
      }
      learned.add(message.from());
    }
    Counters c = counters(message.from());
    c.received.increment();
    c.receivedBytes.add(message.sizeInBytes());
    try {
      inbox.receive(message);
    } catch (RuntimeException e) {
      LOG.error("{}: inbox failed on a message from {}", localId, message.from(), e);
    }
    return true;
  }

  /**
   * Returns per-peer counters. Bytes are {@link RaftMessage#sizeInBytes()} (nothing is serialized);
   * messages sent are those handed to the network, which may still drop them; the state is {@code
   * CONNECTED} while the network would deliver to the peer (not disconnected, blocked or absent).
   */
  @Override
  public List<PeerStats> peerStats() {
    String self = localId;
    List<PeerStats> out = new ArrayList<>();
    for (String peer : members) {
      if (peer.equals(self)) {
        continue;
      }
      Counters c = counters(peer);
      boolean up = self != null && !closed && network.linkUp(group, self, peer);
      out.add(
          new PeerStats(
              peer,
              up ? PeerStats.ConnectionState.CONNECTED : PeerStats.ConnectionState.DISCONNECTED,
              c.sent.sum(),
              c.sentBytes.sum(),
              c.received.sum(),
              c.receivedBytes.sum(),
              c.dropped.sum()));
    }
    out.sort((a, b) -> a.peer().compareTo(b.peer()));
    return List.copyOf(out);
  }

  /**
   * Returns the network this transport sends on.
   *
   * @return the network
   */
  public MemoryNetwork network() {
    return network;
  }

  @Override
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    String id = localId;
    if (id != null) {
      network.leave(group, id, this);
    }
  }

  @Override
  public String toString() {
    return "MemoryTransport[" + (group.isEmpty() ? "" : group + "/") + localId + "]";
  }
}
