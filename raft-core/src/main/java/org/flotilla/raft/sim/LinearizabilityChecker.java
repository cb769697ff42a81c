package org.flotilla.raft.sim;

import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * A linearizability checker: decides whether a concurrent history of operations could have come
 * from one copy of a store, described by a {@link Model}, applying the operations one at a time,
 * each at some instant between its invocation and its completion (Herlihy &amp; Wing 1990).
 *
 * <pre>{@code
 * LinearizabilityChecker.Result result =
 *     LinearizabilityChecker.check(history, new CasRegisterModel(), Duration.ofSeconds(10));
 * assertThat(result.verdict()).as(result.message()).isEqualTo(Verdict.LINEARIZABLE);
 * }</pre>
 *
 * <p>How it decides: operations with outcome {@link Operation.Outcome#FAILED} are dropped (they did
 * not take effect), and so are read-only operations ({@link Model#isReadOnly}) with outcome {@link
 * Operation.Outcome#UNKNOWN} (their output is unknown, so they constrain nothing). Other unknown
 * operations may take effect at any time after their invocation, or never. The history is split by
 * key and each key is checked on its own (linearizability is compositional), with Wing &amp; Gong's
 * backtracking search and Lowe's memoization of explored (linearized set, state) pairs, as in
 * Porcupine and Knossos. The search is exponential in the worst case; the time budget bounds it,
 * and a search that runs out of time answers {@link Verdict#UNKNOWN}, never {@link
 * Verdict#LINEARIZABLE}.
 *
 * <p>Stateless and thread-safe: each call runs on the caller's thread and allocates its own working
 * memory.
 */
public final class LinearizabilityChecker {

  private static final int SHOWN_PREFIX = 10;

  private LinearizabilityChecker() {}

  /** The answer of a check. */
  public enum Verdict {
    /** Every key has a linearization: the history is linearizable. */
    LINEARIZABLE,
    /** Some key has none: the history is not linearizable. */
    NOT_LINEARIZABLE,
    /** The time budget ran out before the search could decide. */
    UNKNOWN
  }

  /**
   * The outcome of a check, with what a failure message needs.
   *
   * @param verdict the answer
   * @param key the key that is not linearizable, or whose check ran out of time; null if the
   *     history is linearizable
   * @param longestPrefix for {@link Verdict#NOT_LINEARIZABLE}, the longest sequence of the key's
   *     operations that the model accepts in an order the history allows; otherwise empty
   * @param pending for {@link Verdict#NOT_LINEARIZABLE}, the operations invoked but not placed
   *     after that prefix, none of which can be placed next; otherwise empty
   * @param message a readable account of the verdict, for test failure messages
   */
  public record Result(
      Verdict verdict,
      String key,
      List<Operation> longestPrefix,
      List<Operation> pending,
      String message) {

    /**
     * Creates a result, copying the lists.
     *
     * @param verdict the answer, not null
     * @param key the key, may be null
     * @param longestPrefix the prefix, not null
     * @param pending the pending operations, not null
     * @param message the message, not null
     * @throws NullPointerException if an argument other than key is null
     */
    public Result {
      Objects.requireNonNull(verdict, "verdict");
      longestPrefix = List.copyOf(longestPrefix);
      pending = List.copyOf(pending);
      Objects.requireNonNull(message, "message");
    }

    /**
     * Tells whether the history is linearizable.
     *
     * @return true only for {@link Verdict#LINEARIZABLE}
     */
    public boolean isLinearizable() {
      return verdict == Verdict.LINEARIZABLE;
    }

    /**
     * Returns {@link #message()}.
     *
     * @return the message
     */
    @Override
    public String toString() {
      return message;
    }
  }

  /**
   * Checks the operations recorded in a history so far.
   *
   * @param history the history
   * @param model the sequential specification of one key
   * @param timeout the time budget for the whole check
   * @param <S> the model's state type
   * @return the result
   * @throws IllegalArgumentException if the model rejects an operation as malformed
   */
  public static <S> Result check(History history, Model<S> model, Duration timeout) {
    return check(history.operations(), model, timeout);
  }

  /**
   * Checks a history given as a list of operations, in any order.
   *
   * @param operations the operations
   * @param model the sequential specification of one key
   * @param timeout the time budget for the whole check
   * @param <S> the model's state type
   * @return the result
   * @throws IllegalArgumentException if the model rejects an operation as malformed, or the timeout
   *     is negative
   */
  public static <S> Result check(List<Operation> operations, Model<S> model, Duration timeout) {
    Objects.requireNonNull(model, "model");
    if (timeout.isNegative()) {
      throw new IllegalArgumentException("negative timeout " + timeout);
    }
    long start = System.nanoTime();
    long deadline = start + saturatedNanos(timeout);
    Map<String, List<Operation>> byKey = new LinkedHashMap<>();
    for (Operation op : operations) {
      if (op.outcome() == Operation.Outcome.FAILED
          || (op.outcome() == Operation.Outcome.UNKNOWN && model.isReadOnly(op))) {
        continue;
      }
      byKey.computeIfAbsent(op.key(), k -> new ArrayList<>()).add(op);
    }
    String timedOutKey = null;
    for (Map.Entry<String, List<Operation>> e : byKey.entrySet()) {
      LinearizabilitySearch<S> search = new LinearizabilitySearch<>(model, e.getValue(), deadline);
      LinearizabilitySearch.Found found = search.run();
      if (found == LinearizabilitySearch.Found.NOT_LINEARIZABLE) {
        return notLinearizable(e.getKey(), e.getValue().size(), search);
      }
      if (found == LinearizabilitySearch.Found.TIMED_OUT && timedOutKey == null) {
        timedOutKey = e.getKey();
      }
    }
    if (timedOutKey != null) {
      return new Result(
          Verdict.UNKNOWN,
          timedOutKey,
          List.of(),
          List.of(),
          "unknown: the check ran out of its time budget of "
              + timeout
              + " on key \""
              + timedOutKey
              + "\" ("
              + byKey.get(timedOutKey).size()
              + " operations); no violation found on the other keys");
    }
    return new Result(
        Verdict.LINEARIZABLE,
        null,
        List.of(),
        List.of(),
        "linearizable: "
            + byKey.size()
            + " keys, "
            + byKey.values().stream().mapToInt(List::size).sum()
            + " operations checked");
  }

  private static long saturatedNanos(Duration timeout) {
    try {
      return Math.min(timeout.toNanos(), Long.MAX_VALUE / 4);
    } catch (ArithmeticException tooLong) {
      return Long.MAX_VALUE / 4; // centuries: no practical bound
    }
  }

  private static <S> Result notLinearizable(String key, int count, LinearizabilitySearch<S> s) {
    List<Operation> prefix = s.longestPrefix();
    List<Operation> pending = s.pending();
    StringBuilder b = new StringBuilder(1024);
    b.append("not linearizable: key \"").append(key).append("\" (").append(count);
    b.append(" operations). The longest linearizable prefix found has ").append(prefix.size());
    b.append(" operation(s) and leaves the state ").append(s.describeState());
    b.append(". After it, no order of the rest works: ").append(s.blocked());
    b.append(" must take effect before it completes, but none of these ").append(pending.size());
    b.append(" pending operation(s) can be placed next (the model rejects it in that state,");
    b.append(" or every order that follows fails):");
    for (Operation op : pending) {
      b.append("\n    ").append(op);
    }
    b.append("\n  The prefix");
    if (prefix.size() > SHOWN_PREFIX) {
      b.append(" (last ").append(SHOWN_PREFIX).append(')');
    }
    b.append(':');
    for (Operation op : prefix.subList(Math.max(0, prefix.size() - SHOWN_PREFIX), prefix.size())) {
      b.append("\n    ").append(op);
    }
    return new Result(Verdict.NOT_LINEARIZABLE, key, prefix, pending, b.toString());
  }
}
