package org.flotilla.raft.transport.netty;

import java.util.ArrayDeque;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.locks.ReentrantLock;
import org.flotilla.raft.message.AppendEntries;
import org.flotilla.raft.message.Heartbeat;
import org.flotilla.raft.message.InstallSnapshot;
import org.flotilla.raft.message.RaftMessage;

/**
 * The bounded queue of messages waiting to be written to one peer.
 *
 * <p>Bounded by message count and by estimated bytes ({@link RaftMessage#sizeInBytes()}). When an
 * offer would pass a bound, the oldest <em>droppable</em> messages go first: replication traffic
 * ({@link AppendEntries}, {@link Heartbeat}, {@link InstallSnapshot}), which the leader resends
 * anyway; only if none is left are other messages (votes, responses) dropped, oldest first. Raft
 * tolerates the loss; the heap does not grow.
 *
 * <p>Thread-safe: the node's event loop offers (on a host, the event loops of many groups), the
 * peer's Netty event loop polls. One lock guards the deque and its counters; it is held only for
 * constant-time work or a bounded scan, never across I/O.
 */
final class OutboundQueue {

  private final int maxMessages;
  private final long maxBytes;
  private final ReentrantLock lock = new ReentrantLock();

  // Guarded by lock. invariant: bytes == sum of sizeInBytes() of queue's messages
  private final ArrayDeque<Outbound> queue = new ArrayDeque<>();
  private long bytes;
  private long dropped;

  OutboundQueue(int maxMessages, long maxBytes) {
    this.maxMessages = maxMessages;
    this.maxBytes = maxBytes;
  }

  /**
   * Appends a message, dropping older ones if a bound would be passed.
   *
   * @return how many messages were dropped (the offered one included if it alone is too big)
   */
  int offer(Outbound message) {
    long size = message.message().sizeInBytes();
    lock.lock();
    try {
      if (size > maxBytes) {
        dropped++;
        return 1;
      }
      int n = 0;
      while (queue.size() + 1 > maxMessages || bytes + size > maxBytes) {
        if (!dropOldest(true)) {
          dropOldest(false);
        }
        n++;
      }
      queue.addLast(message);
      bytes += size;
      dropped += n;
      return n;
    } finally {
      lock.unlock();
    }
  }

  private boolean dropOldest(boolean droppableOnly) {
    Iterator<Outbound> it = queue.iterator();
    while (it.hasNext()) {
      RaftMessage m = it.next().message();
      if (!droppableOnly || isDroppable(m)) {
        it.remove();
        bytes -= m.sizeInBytes();
        return true;
      }
    }
    return false;
  }

  static boolean isDroppable(RaftMessage m) {
    return m instanceof AppendEntries || m instanceof Heartbeat || m instanceof InstallSnapshot;
  }

  /** Moves up to {@code max} messages, oldest first, into {@code out}. */
  void pollBatch(List<Outbound> out, int max) {
    lock.lock();
    try {
      for (int i = 0; i < max; i++) {
        Outbound m = queue.pollFirst();
        if (m == null) {
          return;
        }
        bytes -= m.message().sizeInBytes();
        out.add(m);
      }
    } finally {
      lock.unlock();
    }
  }

  /**
   * Moves up to {@code max} messages of class {@code kind} from the head into {@code out}, stopping
   * at the first of another class.
   *
   * @return how many were moved
   */
  int pollRun(List<Outbound> out, Class<?> kind, int max) {
    lock.lock();
    try {
      int n = 0;
      while (n < max && !queue.isEmpty() && queue.peekFirst().message().getClass() == kind) {
        Outbound m = queue.pollFirst();
        bytes -= m.message().sizeInBytes();
        out.add(m);
        n++;
      }
      return n;
    } finally {
      lock.unlock();
    }
  }

  boolean isEmpty() {
    lock.lock();
    try {
      return queue.isEmpty();
    } finally {
      lock.unlock();
    }
  }

  int size() {
    lock.lock();
    try {
      return queue.size();
    } finally {
      lock.unlock();
    }
  }

  /** Drops everything queued; returns how many messages that was. */
  int clear() {
    lock.lock();
    try {
      int n = queue.size();
      queue.clear();
      bytes = 0;
      dropped += n;
      return n;
    } finally {
      lock.unlock();
    }
  }

  long dropped() {
    lock.lock();
    try {
      return dropped;
    } finally {
      lock.unlock();
    }
  }
}
