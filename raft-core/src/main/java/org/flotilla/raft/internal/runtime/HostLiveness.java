package org.flotilla.raft.internal.runtime;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import org.flotilla.raft.RaftNode;
import org.flotilla.raft.cluster.Member;
import org.flotilla.raft.message.Heartbeat;
import org.flotilla.raft.message.RaftMessage;
import org.flotilla.raft.spi.PeerStats;
import org.flotilla.raft.spi.Scheduler;
import org.flotilla.raft.spi.Transport;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Host-level liveness for a {@code RaftHost}, so that its quiesced groups, which send no heartbeats
 * of their own, still learn that a peer's host failed.
 *
 * <p>Every heartbeat interval the host sends one small message (a {@link Heartbeat} of term 0) to
 * every remote host that one of its groups names, on the host transport's reserved group {@value
 * #GROUP}: one message per remote host and interval, whatever the number of groups, coalesced with
 * the groups' heartbeats where the transport does that. A remote host not heard from for an
 * election timeout is down: every interval while it stays down, {@code onDown} is told its id, and
 * the host wakes each quiesced group that it leads, or that leads it (see {@code
 * NodeRuntime.hostDown}). Told again every interval, a group that quiesced with a message still in
 * flight from the failed host is woken too. A host heard from again is up.
 *
 * <p>Bound: a quiesced follower of a leader on a failed host wakes within an election timeout and
 * one interval of the host's last message, then waits out the rest of its election timer (at most
 * two election timeouts, three for a member of lower priority) before it campaigns.
 *
 * <p>Threading: {@link #track} and {@link #start} from any thread; the tracked transports' {@code
 * updateMembers} on their groups' event loops (they write {@code groupMembers}); the transport's
 * threads write {@code heard}; everything else is owned by the liveness worker, an event loop of
 * the host's scheduler.
 */
public final class HostLiveness implements AutoCloseable {

  /** The host transport's group that carries the hosts' liveness messages. */
  public static final String GROUP = org.flotilla.raft.spi.HostTransport.LIVENESS_GROUP;

  private static final Logger LOG = LoggerFactory.getLogger(HostLiveness.class);

  private final String hostId;
  private final Scheduler scheduler;
  private final Transport transport;
  private final long intervalNanos;
  private final long timeoutNanos;
  private final Consumer<String> onDown;
  // every running group's members, by group (groups' event loops)
  private final ConcurrentHashMap<String, Collection<Member>> groupMembers =
      new ConcurrentHashMap<>();
  private final AtomicLong membersVersion = new AtomicLong();
  // when each remote host was last heard from, by the scheduler's clock (transport threads);
  // When each watched host was last heard from (scheduler.nanoTime()): the worker adds and removes
  // the hosts (only those in known, so bounded by the members of this host's groups); the
  // transport's threads set the times, on every message from the host (heardFrom).
  private final ConcurrentHashMap<String, AtomicLong> heard = new ConcurrentHashMap<>();
  // worker
  private long seenVersion = -1;
  private volatile Map<String, Member> known = Map.of();
  private final Set<String> down = new HashSet<>();
  private long round;
  private Scheduler.Worker worker;
  private volatile boolean closed;

  /**
   * Creates the liveness of a host; nothing runs until {@link #start()}.
   *
   * @param hostId the host's member id
   * @param scheduler the host's scheduler, for the worker and the clock
   * @param transport the host transport's group {@value #GROUP}, not started
   * @param intervalNanos how often the host sends its liveness messages
   * @param timeoutNanos how long a host may stay silent before it is down
   * @param onDown told a down host's id, every interval while it stays down (worker thread)
   */
  public HostLiveness(
      String hostId,
      Scheduler scheduler,
      Transport transport,
      long intervalNanos,
      long timeoutNanos,
      Consumer<String> onDown) {
    this.hostId = hostId;
    this.scheduler = scheduler;
    this.transport = transport;
    this.intervalNanos = intervalNanos;
    this.timeoutNanos = timeoutNanos;
    this.onDown = onDown;
  }

  /**
   * Starts the transport and the worker.
   *
   * @throws IOException if the transport cannot start
   */
  public void start() throws IOException {
    transport.start(hostId, this::heardFrom);
    worker = scheduler.startEventLoop("flotilla-" + hostId + "-liveness", this::turn);
  }

  /**
   * Notes that the sender of {@code m} is alive, if it is a host this host watches (the map stays
   * bounded by the groups' members); the transport's threads, for every message of every group.
   */
  private void heardFrom(RaftMessage m) {
    if (hostId.equals(m.to())) {
      AtomicLong at = heard.get(m.from());
      if (at != null) {
        at.set(scheduler.nanoTime());
      }
    }
  }

  /**
   * Wraps a group's transport so that the members it is told of count as hosts to watch, from its
   * first {@code updateMembers} until it closes, and so that every message its group receives
   * counts as hearing from the host that sent it.
   *
   * <p>Why every message counts, not only liveness messages: a message of any group proves that its
   * host's transport and event loops ran within a network delay of its arrival, as a liveness
   * message does (both are sent by the host's loop threads). And a host busy with many groups (its
   * start, when thousands of groups elect at once) sends many group messages, and its liveness
   * messages queue behind them on the same connection: counted alone, they arrive late and a busy
   * host is declared down, its groups wake and elect again, which makes it busier still. This only
   * decides when quiesced groups wake; no safety property rests on it (docs/architecture.md,
   * "Quiescence": leases and CheckQuorum hold whenever a group wakes).
   *
   * @param groupId the group's id
   * @param t the group's transport
   * @return the transport to hand to the group's node
   */
  public Transport track(String groupId, Transport t) {
    return new Transport() {
      @Override
      public void start(String localId, Inbox inbox) throws IOException {
        t.start(
            localId,
            new Inbox() {
              @Override
              public void receive(RaftMessage message) {
                heardFrom(message);
                inbox.receive(message);
              }

              @Override
              public void unsendable(RaftMessage message, String reason) {
                inbox.unsendable(message, reason);
              }

              @Override
              public Optional<RaftNode> node() {
                return inbox.node();
              }
            });
      }

      @Override
      public void updateMembers(Collection<Member> members) {
        groupMembers.put(groupId, List.copyOf(members));
        membersVersion.incrementAndGet();
        t.updateMembers(members);
      }

      @Override
      public void send(RaftMessage message) {
        t.send(message);
      }

      @Override
      public int maxMessageBytes() {
        return t.maxMessageBytes();
      }

      @Override
      public void flush() {
        t.flush();
      }

      @Override
      public List<PeerStats> peerStats() {
        return t.peerStats();
      }

      @Override
      public void close() {
        if (groupMembers.remove(groupId) != null) {
          membersVersion.incrementAndGet();
        }
        t.close();
      }
    };
  }

  /**
   * Returns the remote hosts now considered down, sorted.
   *
   * @return a fresh list
   */
  public List<String> downHosts() {
    List<String> ids = new ArrayList<>();
    long now = scheduler.nanoTime();
    for (Map.Entry<String, AtomicLong> e : heard.entrySet()) {
      if (known.containsKey(e.getKey()) && now - e.getValue().get() > timeoutNanos) {
        ids.add(e.getKey());
      }
    }
    ids.sort(null);
    return ids;
  }

  private long turn() {
    if (closed) {
      return -1;
    }
    long now = scheduler.nanoTime();
    long version = membersVersion.get();
    if (version != seenVersion) {
      seenVersion = version;
      Map<String, Member> next = new LinkedHashMap<>();
      for (Collection<Member> ms : groupMembers.values()) {
        for (Member m : ms) {
          if (!m.id().equals(hostId)) {
            next.putIfAbsent(m.id(), m);
          }
        }
      }
      // A host newly watched gets one timeout from now to be heard.
      for (String id : next.keySet()) {
        heard.computeIfAbsent(id, k -> new AtomicLong(now));
      }
      heard.keySet().retainAll(next.keySet());
      down.retainAll(next.keySet());
      known = next;
      transport.updateMembers(next.values());
    }
    for (String id : known.keySet()) {
      transport.send(new Heartbeat(hostId, id, 0, 0, round));
    }
    round++;
    transport.flush();
    for (String id : known.keySet()) {
      AtomicLong heardAt = heard.get(id);
      long last = heardAt == null ? now : heardAt.get();
      if (now - last > timeoutNanos) {
        if (down.add(id)) {
          LOG.warn(
              "host {}: host {} not heard from for {} ms: waking the quiesced groups it shares",
              hostId,
              id,
              (now - last) / 1_000_000);
        }
        onDown.accept(id);
      } else if (down.remove(id)) {
        LOG.info("host {}: host {} is heard from again", hostId, id);
      }
    }
    return intervalNanos;
  }

  /** Stops the worker and closes the transport's liveness group. */
  @Override
  public void close() {
    closed = true;
    Scheduler.Worker w = worker;
    if (w != null) {
      w.wake();
      if (!w.awaitStop(5_000)) {
        LOG.warn("host {}: liveness worker did not stop within 5 s", hostId);
      }
    }
    transport.close();
  }
}
