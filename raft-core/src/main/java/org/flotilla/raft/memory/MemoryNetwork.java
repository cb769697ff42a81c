package org.flotilla.raft.memory;

import java.util.ArrayDeque;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReentrantLock;
import org.flotilla.raft.message.RaftMessage;
import org.flotilla.raft.spi.HostTransport;
import org.flotilla.raft.spi.Transport;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A network in one JVM that routes messages between {@link MemoryTransport}s by member id, for
 * tests and single-process clusters.
 *
 * <p>Each direction between two members is a link with a bounded queue: when it is full the oldest
 * message is dropped. Messages on one link are delivered in order, one at a time, on the delivery
 * executor: by default a single daemon thread the network owns, or any executor the caller gives
 * ({@code Runnable::run} delivers synchronously inside {@link MemoryTransport#send}). Tests can cut
 * a member off ({@link #disconnect}), cut one direction of one link ({@link #block}), and heal.
 * Messages larger than the maximum message size are dropped and logged, as a real transport drops
 * frames above its limit.
 *
 * <p>Thread-safe: transports on any thread may send; the fault controls may be called from any
 * thread. Each link's queue is guarded by its own lock; at most one delivery task per link is
 * queued on the executor at a time, so the executor holds at most one task per link.
 */
public final class MemoryNetwork implements AutoCloseable {

  private static final Logger LOG = LoggerFactory.getLogger(MemoryNetwork.class);

  /** Default bound of each link's queue, in messages. */
  public static final int DEFAULT_LINK_CAPACITY = 4096;

  /** Default maximum message size ({@link RaftMessage#sizeInBytes()}): 16 MiB. */
  public static final int DEFAULT_MAX_MESSAGE_BYTES = 16 * 1024 * 1024;

  private static final int DELIVERIES_PER_TASK = 256;

  private final Executor executor;
  private final ExecutorService ownedExecutor;
  private final int linkCapacity;
  private final int maxMessageBytes;
  private final Map<String, MemoryTransport> endpoints = new ConcurrentHashMap<>();
  private final Map<String, Link> links = new ConcurrentHashMap<>();
  private final Set<String> disconnected = ConcurrentHashMap.newKeySet();
  private final Set<String> blocked = ConcurrentHashMap.newKeySet();
  private final AtomicLong dropped = new AtomicLong();
  private final AtomicLong delivered = new AtomicLong();

  private MemoryNetwork(
      Executor executor, ExecutorService owned, int linkCapacity, int maxMessageBytes) {
    this.executor = executor;
    this.ownedExecutor = owned;
    this.linkCapacity = linkCapacity;
    this.maxMessageBytes = maxMessageBytes;
  }

  /**
   * Creates a network that delivers on one daemon thread of its own, with the default bounds.
   *
   * @return the network; {@link #close()} stops its thread
   */
  public static MemoryNetwork create() {
    return create(DEFAULT_LINK_CAPACITY, DEFAULT_MAX_MESSAGE_BYTES);
  }

  /**
   * Creates a network that delivers on one daemon thread of its own.
   *
   * @param linkCapacity the bound of each link's queue, in messages, at least 1
   * @param maxMessageBytes the largest message delivered, by {@link RaftMessage#sizeInBytes()}
   * @return the network; {@link #close()} stops its thread
   * @throws IllegalArgumentException if a bound is not positive
   */
  public static MemoryNetwork create(int linkCapacity, int maxMessageBytes) {
    check(linkCapacity, maxMessageBytes);
    ExecutorService owned =
        Executors.newSingleThreadExecutor(
            r -> {
              Thread t = new Thread(r, "flotilla-memory-network");
              t.setDaemon(true);
              return t;
            });
    return new MemoryNetwork(owned, owned, linkCapacity, maxMessageBytes);
  }

  /**
   * Creates a network that delivers on the caller's executor. With {@code Runnable::run}, {@link
   * MemoryTransport#send} delivers synchronously on the sending thread.
   *
   * @param executor runs delivery tasks; must run each task it accepts
   * @param linkCapacity the bound of each link's queue, in messages, at least 1
   * @param maxMessageBytes the largest message delivered, by {@link RaftMessage#sizeInBytes()}
   * @return the network
   * @throws IllegalArgumentException if a bound is not positive
   */
  public static MemoryNetwork create(Executor executor, int linkCapacity, int maxMessageBytes) {
    Objects.requireNonNull(executor, "executor");
    check(linkCapacity, maxMessageBytes);
    return new MemoryNetwork(executor, null, linkCapacity, maxMessageBytes);
  }

  private static void check(int linkCapacity, int maxMessageBytes) {
    if (linkCapacity < 1) {
      throw new IllegalArgumentException("linkCapacity must be at least 1: " + linkCapacity);
    }
    if (maxMessageBytes < 1) {
      throw new IllegalArgumentException("maxMessageBytes must be positive: " + maxMessageBytes);
    }
  }

  /**
   * Returns a new transport on this network; it joins when started.
   *
   * @return the transport
   */
  public MemoryTransport transport() {
    return new MemoryTransport(this, "");
  }

  /**
   * Returns a transport shared by the groups of one {@code RaftHost} on this network: each group's
   * transport joins the network under its group's id and its member id, so that many groups with
   * the same member ids (one per host) share the network. The fault controls act on member ids, so
   * they cut a host's every group at once. Closing it does nothing to the network.
   *
   * @return the host's transport
   */
  public HostTransport host() {
    return new HostTransport() {
      @Override
      public Transport group(String groupId) {
        if (groupId == null || groupId.isEmpty()) {
          throw new IllegalArgumentException("a group id is required");
        }
        return new MemoryTransport(MemoryNetwork.this, groupId);
      }

      @Override
      public void close() {}
    };
  }

  /**
   * Cuts a member off: every message to or from it is dropped, including those already queued,
   * until {@link #reconnect} or {@link #heal}.
   *
   * @param id the member id
   */
  public void disconnect(String id) {
    disconnected.add(id);
  }

  /**
   * Undoes {@link #disconnect} for one member.
   *
   * @param id the member id
   */
  public void reconnect(String id) {
    disconnected.remove(id);
  }

  /**
   * Cuts one direction of one link: messages from {@code from} to {@code to} are dropped.
   *
   * @param from the sender
   * @param to the receiver
   */
  public void block(String from, String to) {
    blocked.add(key(from, to));
  }

  /**
   * Undoes {@link #block} for one direction of one link.
   *
   * @param from the sender
   * @param to the receiver
   */
  public void unblock(String from, String to) {
    blocked.remove(key(from, to));
  }

  /**
   * Splits the members into two sides that cannot reach each other (both directions blocked).
   *
   * @param side one side of the partition
   * @param other the other side
   */
  public void partition(Set<String> side, Set<String> other) {
    for (String a : side) {
      for (String b : other) {
        block(a, b);
        block(b, a);
      }
    }
  }

  /** Removes every fault: all members reconnected, all links unblocked. */
  public void heal() {
    disconnected.clear();
    blocked.clear();
  }

  /**
   * Returns how many messages were dropped so far, for any reason.
   *
   * @return the count
   */
  public long dropped() {
    return dropped.get();
  }

  /**
   * Returns how many messages were handed to an inbox so far.
   *
   * @return the count
   */
  public long delivered() {
    return delivered.get();
  }

  /** Stops the network's own delivery thread, if it has one; queued messages are dropped. */
  @Override
  public void close() {
    if (ownedExecutor != null) {
      ownedExecutor.shutdownNow();
      try {
        if (!ownedExecutor.awaitTermination(5, TimeUnit.SECONDS)) {
          LOG.warn("memory network delivery thread did not stop within 5 s");
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }

  // ---------------------------------------------------------------- for MemoryTransport

  void join(String group, String id, MemoryTransport transport) {
    if (endpoints.putIfAbsent(endpoint(group, id), transport) != null) {
      throw new IllegalStateException(
          "member " + id + (group.isEmpty() ? "" : " of group " + group) + " is already here");
    }
  }

  void leave(String group, String id, MemoryTransport transport) {
    endpoints.remove(endpoint(group, id), transport);
  }

  /** The key of a member's endpoint: the group's id ("" for a transport of its own) and the id. */
  private static String endpoint(String group, String id) {
    return group.isEmpty() ? id : group + '\u0000' + id;
  }

  void countDropped() {
    dropped.incrementAndGet();
  }

  void route(String group, RaftMessage message) {
    if (message.sizeInBytes() > maxMessageBytes) {
      dropped.incrementAndGet();
      LOG.warn(
          "dropped a {} from {} to {}: {} bytes is above the maximum of {}",
          message.getClass().getSimpleName(),
          message.from(),
          message.to(),
          message.sizeInBytes(),
          maxMessageBytes);
      return;
    }
    if (!reachable(message)) {
      dropped.incrementAndGet();
      return;
    }
    Link link =
        links.computeIfAbsent(
            endpoint(group, key(message.from(), message.to())), k -> new Link(group));
    if (link.offer(message)) {
      try {
        executor.execute(link::deliver);
      } catch (RuntimeException e) {
        // A closed network or a saturated caller executor: the queued messages are lost.
        dropped.addAndGet(link.abandon());
        LOG.debug("memory network cannot deliver: {}", e.toString());
      }
    }
  }

  /** Tells whether messages from {@code from} to {@code to} would be delivered now. */
  boolean linkUp(String group, String from, String to) {
    return endpoints.containsKey(endpoint(group, to))
        && !disconnected.contains(from)
        && !disconnected.contains(to)
        && !blocked.contains(key(from, to));
  }

  private boolean reachable(RaftMessage m) {
    return !disconnected.contains(m.from())
        && !disconnected.contains(m.to())
        && !blocked.contains(key(m.from(), m.to()));
  }

  private static String key(String from, String to) {
    return from + '\u0000' + to;
  }

  /**
   * One direction between two members: a bounded queue and a flag that says whether a delivery task
   * is on the executor. Thread-safe; guarded by its lock.
   */
  private final class Link {
    private final ReentrantLock lock = new ReentrantLock();
    private final ArrayDeque<RaftMessage> queue = new ArrayDeque<>();
    private final String group;
    private boolean scheduled;

    Link(String group) {
      this.group = group;
    }

    /** Queues a message; returns true if the caller must schedule a delivery task. */
    boolean offer(RaftMessage m) {
      lock.lock();
      try {
        if (queue.size() >= linkCapacity) {
          queue.pollFirst();
          dropped.incrementAndGet();
        }
        queue.addLast(m);
        if (scheduled) {
          return false;
        }
        scheduled = true;
        return true;
      } finally {
        lock.unlock();
      }
    }

    int abandon() {
      lock.lock();
      try {
        int n = queue.size();
        queue.clear();
        scheduled = false;
        return n;
      } finally {
        lock.unlock();
      }
    }

    /** Delivers queued messages in order; yields the executor after a bounded number. */
    void deliver() {
      for (int i = 0; i < DELIVERIES_PER_TASK; i++) {
        RaftMessage m;
        lock.lock();
        try {
          m = queue.pollFirst();
          if (m == null) {
            scheduled = false;
            return;
          }
        } finally {
          lock.unlock();
        }
        handOver(group, m);
      }
      boolean more;
      lock.lock();
      try {
        more = !queue.isEmpty();
        scheduled = more;
      } finally {
        lock.unlock();
      }
      if (more) {
        try {
          executor.execute(this::deliver);
        } catch (RuntimeException e) {
          dropped.addAndGet(abandon());
          LOG.debug("memory network cannot deliver: {}", e.toString());
        }
      }
    }
  }

  private void handOver(String group, RaftMessage m) {
    MemoryTransport target = endpoints.get(endpoint(group, m.to()));
    if (target == null || !reachable(m)) {
      dropped.incrementAndGet();
      return;
    }
    if (target.accept(m)) {
      delivered.incrementAndGet();
    } else {
      dropped.incrementAndGet();
    }
  }
}
