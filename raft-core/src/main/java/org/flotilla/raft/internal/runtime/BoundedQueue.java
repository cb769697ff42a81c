package org.flotilla.raft.internal.runtime;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.concurrent.ConcurrentLinkedQueue;

/**
 * A bounded FIFO queue for a node's event loop and apply worker: many producers, one consumer, no
 * lock and no preallocated slots. A {@code LinkedBlockingQueue} of the same capacity costs two
 * locks, two conditions and a counter (about 230 bytes) even empty; this one costs a linked queue
 * with its one sentinel node and a count (about 70 bytes), which matters on a host of thousands of
 * idle groups, each with two of them. Nothing blocks: {@link #offer} fails when full.
 *
 * <p>Thread-safe. {@code count} is the number of slots taken: a producer takes one (compare and set
 * below the capacity) before it adds its element, and the consumer gives one back after it removed
 * one, so the queue never holds more than {@code capacity} elements. invariant: 0 <= elements held
 * <= count <= capacity.
 *
 * @param <E> the elements' type
 */
final class BoundedQueue<E> {

  private static final VarHandle COUNT;

  static {
    try {
      COUNT = MethodHandles.lookup().findVarHandle(BoundedQueue.class, "count", int.class);
    } catch (ReflectiveOperationException e) {
      throw new ExceptionInInitializerError(e);
    }
  }

  private final ConcurrentLinkedQueue<E> items = new ConcurrentLinkedQueue<>();
  private final int capacity;

  // slots taken (see the class comment); written through COUNT
  @SuppressWarnings("unused")
  private volatile int count;

  BoundedQueue(int capacity) {
    if (capacity < 1) {
      throw new IllegalArgumentException("capacity must be at least 1: " + capacity);
    }
    this.capacity = capacity;
  }

  /** Adds {@code e} at the tail; false, and nothing added, if the queue is full. */
  boolean offer(E e) {
    if (e == null) {
      throw new NullPointerException("element is null");
    }
    int c;
    do {
      c = count;
      if (c >= capacity) {
        return false;
      }
    } while (!COUNT.compareAndSet(this, c, c + 1));
    items.add(e);
    return true;
  }

  /** Removes and returns the head, or null if the queue is empty. */
  E poll() {
    E e = items.poll();
    if (e != null) {
      COUNT.getAndAdd(this, -1);
    }
    return e;
  }

  /** Removes one occurrence of {@code o}; true if it was there. */
  boolean remove(Object o) {
    if (items.remove(o)) {
      COUNT.getAndAdd(this, -1);
      return true;
    }
    return false;
  }

  /** Whether the queue holds nothing now. */
  boolean isEmpty() {
    return items.isEmpty();
  }

  /** The number of elements held or being added now, for monitoring. */
  int size() {
    return count;
  }
}
