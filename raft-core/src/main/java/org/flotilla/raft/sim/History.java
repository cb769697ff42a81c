package org.flotilla.raft.sim;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReferenceArray;
import java.util.function.LongSupplier;

/**
 * A recorder of the operations that clients run against a store, for {@link
 * LinearizabilityChecker}: a client calls {@link #invoke} just before it sends a request, and
 * {@link #ok}, {@link #fail} or {@link #unknown} with the handle as soon as it knows the outcome.
 *
 * <pre>{@code
 * History history = new History(100_000, System::nanoTime);
 * History.Handle h = history.invoke(clientId, "k", CasRegisterModel.GET, null);
 * try {
 *   history.ok(h, client.get("k"));
 * } catch (TimeoutException e) {
 *   history.unknown(h);
 * }
 * }</pre>
 *
 * <p>Thread-safe and lock-free: any number of client threads may record at once. The history is
 * bounded: it holds at most {@code capacity} operations, in a fixed array whose slots are claimed
 * with an atomic counter and completed with a compare-and-set. Times come from the clock given at
 * construction, read inside {@link #invoke} and the completion methods, so the recorded interval of
 * each operation contains its real one; the clock must be monotonic across threads ({@code
 * System::nanoTime}, or the simulator's virtual clock).
 */
public final class History {

  private final LongSupplier clock;
  // invariant: slots [0, min(next, capacity)) are claimed; a claimed slot is null only while its
  // invoke() is still running, then holds the open (UNKNOWN, never completing) operation, then at
  // most once its completed form.
  private final AtomicReferenceArray<Operation> slots;
  private final AtomicInteger next = new AtomicInteger();

  /**
   * A claim on one recorded operation, returned by {@link #invoke} and completed exactly once.
   * Immutable; may be handed between threads.
   */
  public static final class Handle {
    private final int slot;
    private final Operation invoked;

    private Handle(int slot, Operation invoked) {
      this.slot = slot;
      this.invoked = invoked;
    }

    /**
     * Returns the operation as invoked, still open.
     *
     * @return the operation, with outcome UNKNOWN
     */
    public Operation operation() {
      return invoked;
    }

    @Override
    public String toString() {
      return "Handle " + slot + ": " + invoked;
    }
  }

  /**
   * Creates an empty history.
   *
   * @param capacity the most operations it can hold, at least 1
   * @param clock the time source, monotonic across threads
   * @throws IllegalArgumentException if capacity is not positive
   */
  public History(int capacity, LongSupplier clock) {
    if (capacity < 1) {
      throw new IllegalArgumentException("capacity must be positive, got " + capacity);
    }
    this.clock = Objects.requireNonNull(clock, "clock");
    this.slots = new AtomicReferenceArray<>(capacity);
  }

  /**
   * Records that a client invokes an operation. Call it before the request leaves the client.
   *
   * @param clientId the client
   * @param key the key the operation touches
   * @param kind the operation's kind, as the model names it
   * @param input the operation's input, may be null
   * @return the handle to complete the operation with
   * @throws IllegalStateException if the history is full
   */
  public Handle invoke(int clientId, String key, String kind, Object input) {
    int slot = next.getAndIncrement();
    if (slot >= slots.length()) {
      next.getAndDecrement();
      throw new IllegalStateException("history is full: " + slots.length() + " operations");
    }
    Operation op = Operation.unknown(clientId, key, kind, input, clock.getAsLong());
    slots.set(slot, op);
    return new Handle(slot, op);
  }

  /**
   * Records that an operation took effect and returned {@code output}.
   *
   * @param handle the operation
   * @param output what it returned, may be null
   * @throws IllegalStateException if the operation was already completed
   */
  public void ok(Handle handle, Object output) {
    complete(handle, output, Operation.Outcome.OK);
  }

  /**
   * Records that an operation definitely did not take effect.
   *
   * @param handle the operation
   * @throws IllegalStateException if the operation was already completed
   */
  public void fail(Handle handle) {
    complete(handle, null, Operation.Outcome.FAILED);
  }

  /**
   * Records that the client gave up on an operation without learning whether it took effect. The
   * operation may still take effect later; the checker allows for that.
   *
   * @param handle the operation
   * @throws IllegalStateException if the operation was already completed
   */
  public void unknown(Handle handle) {
    complete(handle, null, Operation.Outcome.UNKNOWN);
  }

  private void complete(Handle handle, Object output, Operation.Outcome outcome) {
    Operation in = handle.invoked;
    Operation done =
        new Operation(
            in.clientId(),
            in.key(),
            in.kind(),
            in.input(),
            output,
            in.invokeTime(),
            Math.max(in.invokeTime(), clock.getAsLong()),
            outcome);
    if (!slots.compareAndSet(handle.slot, in, done)) {
      throw new IllegalStateException(
          "operation already completed: " + slots.get(handle.slot) + "; again as " + outcome);
    }
  }

  /**
   * Returns the operations recorded so far, in the order their slots were claimed (the checker
   * orders them by time itself); operations not yet completed appear with outcome UNKNOWN. It
   * includes every operation whose {@link #invoke} returned before this call, and every completion
   * that happened before it.
   *
   * @return a new list
   */
  public List<Operation> operations() {
    int n = Math.min(next.get(), slots.length());
    List<Operation> ops = new ArrayList<>(n);
    for (int i = 0; i < n; i++) {
      Operation op = slots.get(i);
      if (op != null) { // null: its invoke() is still running, so no request has left yet
        ops.add(op);
      }
    }
    return ops;
  }

  /**
   * Returns how many operations have been invoked.
   *
   * @return the count
   */
  public int size() {
    return Math.min(next.get(), slots.length());
  }
}
