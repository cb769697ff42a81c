package org.flotilla.raft.sim;

import java.util.Objects;

/**
 * One client operation of a recorded history: who ran it, on which key, what it asked, what it got
 * back, when it started and ended, and whether it took effect.
 *
 * <p>Times are in any monotonic unit (virtual ticks, {@code System.nanoTime()}, line numbers of a
 * log), the same for every operation of a history. An operation that completed at time {@code t1}
 * happened before one invoked at {@code t2 > t1}; operations whose intervals overlap (including
 * equal end points) are concurrent.
 *
 * <p>Inputs and outputs are whatever the {@link Model} understands; they must be immutable values
 * with value equality (strings, boxed numbers, records).
 *
 * @param clientId the client (process) that ran the operation
 * @param key the key the operation touches; the checker checks each key on its own
 * @param kind what the operation does, as the model names it (for example {@code "get"})
 * @param input the operation's argument, or null if it has none
 * @param output what the operation returned, or null if it returned nothing (always null unless the
 *     outcome is {@link Outcome#OK})
 * @param invokeTime when the client invoked the operation
 * @param completeTime when the client saw the outcome; for {@link Outcome#UNKNOWN} the time the
 *     client gave up (the checker treats it as infinitely late) or {@link Long#MAX_VALUE}
 * @param outcome whether the operation took effect
 */
public record Operation(
    int clientId,
    String key,
    String kind,
    Object input,
    Object output,
    long invokeTime,
    long completeTime,
    Outcome outcome) {

  /** Whether an operation took effect, as far as its client knows. */
  public enum Outcome {
    /** The operation took effect exactly once, between its invocation and completion. */
    OK,
    /** The operation definitely did not take effect (for example, rejected before it was sent). */
    FAILED,
    /**
     * The client does not know (timed out, connection lost): the operation may have taken effect at
     * any time after its invocation, even after the client gave up, or never.
     */
    UNKNOWN
  }

  /**
   * Creates an operation, checking its fields.
   *
   * @param clientId the client
   * @param key the key, not null
   * @param kind the kind, not null
   * @param input the input, may be null
   * @param output the output, may be null; must be null unless the outcome is OK
   * @param invokeTime the invocation time
   * @param completeTime the completion time, not before the invocation time
   * @param outcome the outcome, not null
   * @throws NullPointerException if key, kind or outcome is null
   * @throws IllegalArgumentException if the operation completes before it is invoked, or has an
   *     output without being OK
   */
  public Operation {
    Objects.requireNonNull(key, "key");
    Objects.requireNonNull(kind, "kind");
    Objects.requireNonNull(outcome, "outcome");
    if (completeTime < invokeTime) {
      throw new IllegalArgumentException(
          "operation completes at " + completeTime + " before its invocation at " + invokeTime);
    }
    if (output != null && outcome != Outcome.OK) {
      throw new IllegalArgumentException(
          "an operation with outcome " + outcome + " has no output, got " + output);
    }
  }

  /**
   * Creates an operation that completed with a result.
   *
   * @param clientId the client
   * @param key the key
   * @param kind the kind
   * @param input the input, may be null
   * @param output the output, may be null
   * @param invokeTime the invocation time
   * @param completeTime the completion time
   * @return the operation
   */
  public static Operation ok(
      int clientId,
      String key,
      String kind,
      Object input,
      Object output,
      long invokeTime,
      long completeTime) {
    return new Operation(clientId, key, kind, input, output, invokeTime, completeTime, Outcome.OK);
  }

  /**
   * Creates an operation that definitely did not take effect.
   *
   * @param clientId the client
   * @param key the key
   * @param kind the kind
   * @param input the input, may be null
   * @param invokeTime the invocation time
   * @param completeTime the completion time
   * @return the operation
   */
  public static Operation failed(
      int clientId, String key, String kind, Object input, long invokeTime, long completeTime) {
    return new Operation(
        clientId, key, kind, input, null, invokeTime, completeTime, Outcome.FAILED);
  }

  /**
   * Creates an operation whose outcome the client never learned.
   *
   * @param clientId the client
   * @param key the key
   * @param kind the kind
   * @param input the input, may be null
   * @param invokeTime the invocation time
   * @return the operation, with completion time {@link Long#MAX_VALUE}
   */
  public static Operation unknown(
      int clientId, String key, String kind, Object input, long invokeTime) {
    return new Operation(
        clientId, key, kind, input, null, invokeTime, Long.MAX_VALUE, Outcome.UNKNOWN);
  }

  /**
   * Returns a one-line description for failure messages, such as {@code client 3: cas("x", [1 2])
   * -> true, OK [10, 14]}.
   *
   * @return the description
   */
  @Override
  public String toString() {
    StringBuilder b = new StringBuilder(64);
    b.append("client ").append(clientId).append(": ").append(kind).append("(\"").append(key);
    b.append('"');
    if (input != null) {
      b.append(", ").append(input);
    }
    b.append(')');
    if (outcome == Outcome.OK) {
      b.append(" -> ").append(output);
    }
    b.append(", ").append(outcome).append(" [").append(invokeTime).append(", ");
    if (completeTime == Long.MAX_VALUE) {
      b.append("never");
    } else {
      b.append(completeTime);
    }
    return b.append(']').toString();
  }
}
