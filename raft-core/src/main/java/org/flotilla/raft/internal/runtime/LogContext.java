package org.flotilla.raft.internal.runtime;

import java.util.Map;
import java.util.random.RandomGenerator;
import org.flotilla.raft.spi.Scheduler;
import org.slf4j.MDC;

/**
 * Puts a node's group and id in the slf4j {@link MDC} of the threads that work for it, under {@link
 * #GROUP} and {@link #NODE}, so that with a logging backend that prints the MDC every line names
 * the node. (Log lines also start with {@code group/id:} for backends that do not.)
 *
 * <p>Stateless and thread-safe; the MDC itself is per thread.
 */
final class LogContext {

  /** The MDC key of the group id. */
  static final String GROUP = "flotilla.group";

  /** The MDC key of the node id. */
  static final String NODE = "flotilla.node";

  private LogContext() {}

  /**
   * Sets the node's keys on the calling thread, returning what was there before.
   *
   * @return the previous context, for {@link #restore}; may be null
   */
  static Map<String, String> enter(String group, String node) {
    Map<String, String> previous = MDC.getCopyOfContextMap();
    MDC.put(GROUP, group);
    MDC.put(NODE, node);
    return previous;
  }

  /** Restores the context {@link #enter} returned. */
  static void restore(Map<String, String> previous) {
    if (previous == null) {
      MDC.clear();
    } else {
      MDC.setContextMap(previous);
    }
  }

  /**
   * Returns a scheduler that runs each worker turn of {@code delegate} with the node's keys in the
   * MDC. The keys are set when the turn's thread lacks them (once per thread, or when a thread
   * shared by many nodes' workers switches node), so a turn costs two thread-local lookups.
   */
  static Scheduler wrap(Scheduler delegate, String group, String node) {
    return new Scheduler() {
      @Override
      public long nanoTime() {
        return delegate.nanoTime();
      }

      @Override
      public RandomGenerator random() {
        return delegate.random();
      }

      @Override
      public Worker start(String name, Turn turn) {
        return delegate.start(name, inContext(turn));
      }

      @Override
      public Worker startEventLoop(String name, Turn turn) {
        return delegate.startEventLoop(name, inContext(turn));
      }

      @Override
      public Worker startBlocking(String name, Turn turn) {
        return delegate.startBlocking(name, inContext(turn));
      }

      private Turn inContext(Turn turn) {
        return () -> {
          if (!node.equals(MDC.get(NODE)) || !group.equals(MDC.get(GROUP))) {
            MDC.put(GROUP, group);
            MDC.put(NODE, node);
          }
          return turn.run();
        };
      }

      @Override
      public String toString() {
        return delegate.toString();
      }
    };
  }
}
