package org.flotilla.raft.sim;

/**
 * A sequential specification of one key of a store: what state the key starts in and how each
 * operation changes it, used by {@link LinearizabilityChecker} to decide whether a concurrent
 * history could have come from one copy of the store applying operations one at a time.
 *
 * <p>The checker partitions a history by {@link Operation#key()} and checks each key on its own
 * (linearizability is compositional, Herlihy &amp; Wing 1990), so a model describes a single key: a
 * register, a string, a counter.
 *
 * <p>States must be immutable values with {@code equals} and {@code hashCode}: the checker
 * remembers which (set of linearized operations, state) pairs it has already explored and prunes
 * them (Lowe 2017). {@link #step} is called millions of times on large histories, so it should not
 * allocate when it can return an existing state.
 *
 * <p>Implementations must be stateless (or at least thread-safe): one model may check many
 * histories on many threads.
 *
 * @param <S> the type of the state of one key
 */
public interface Model<S> {

  /**
   * Returns the state every key starts in.
   *
   * @return the initial state, not null
   */
  S init();

  /**
   * Applies an operation to a state, if the operation's output is possible in that state.
   *
   * <p>For an operation with outcome {@link Operation.Outcome#UNKNOWN} the output is unknown (it is
   * null), so the step must not reject it on account of its output: it returns the state the
   * operation would leave if it took effect. Operations with outcome {@link
   * Operation.Outcome#FAILED} never reach the model.
   *
   * <p>The step may depend only on the operation's {@link Operation#kind() kind}, {@link
   * Operation#input() input} and {@link Operation#output() output}, not on its client or times: the
   * checker treats operations of unknown outcome with equal kind and input as interchangeable.
   *
   * @param state the state before the operation, never null
   * @param op the operation
   * @return the state after the operation, or null if the operation's output contradicts {@code
   *     state} (for example, a read that returned a value the state does not hold)
   * @throws IllegalArgumentException if the operation is not one this model knows
   */
  S step(S state, Operation op);

  /**
   * Tells whether an operation can never change the state (a read). The checker drops read-only
   * operations whose outcome is unknown: they constrain nothing.
   *
   * @param op the operation
   * @return true if {@link #step} never returns a state different from its input for {@code op}
   */
  default boolean isReadOnly(Operation op) {
    return false;
  }

  /**
   * Describes a state for failure messages.
   *
   * @param state the state
   * @return a short description
   */
  default String describe(S state) {
    return String.valueOf(state);
  }
}
