package org.flotilla.raft.sim;

import java.util.Objects;
import java.util.Optional;

/**
 * A map of compare-and-set registers, the sequential specification of the Flotilla example's
 * key-value store: each key holds a value or is absent, and supports {@value #GET}, {@value #PUT}
 * and {@value #CAS}.
 *
 * <table>
 *   <caption>Operations</caption>
 *   <tr><th>kind</th><th>input</th><th>output (outcome OK)</th></tr>
 *   <tr><td>{@value #GET}</td><td>null</td><td>the value read, null if the key was absent</td></tr>
 *   <tr><td>{@value #PUT}</td><td>the value written, not null</td><td>ignored</td></tr>
 *   <tr><td>{@value #CAS}</td><td>a {@link Cas}</td><td>{@link Boolean#TRUE} if it swapped,
 *       {@link Boolean#FALSE} if the key did not hold the expected value</td></tr>
 * </table>
 *
 * <p>Values are compared with {@code equals}. A key's state is its value, or {@link
 * Optional#empty()} while absent; keys start absent. Stateless and thread-safe.
 */
public final class CasRegisterModel implements Model<Optional<Object>> {

  /** The kind of a read of a key. */
  public static final String GET = "get";

  /** The kind of a blind write of a key. */
  public static final String PUT = "put";

  /** The kind of a compare-and-set of a key. */
  public static final String CAS = "cas";

  /**
   * The input of a compare-and-set: set the key to {@code value} if it holds {@code expect}.
   *
   * @param expect the value the key must hold, or null if it must be absent
   * @param value the value to set, not null
   */
  public record Cas(Object expect, Object value) {

    /**
     * Creates the input, checking it.
     *
     * @param expect the expected value, null for absent
     * @param value the new value
     * @throws NullPointerException if value is null
     */
    public Cas {
      Objects.requireNonNull(value, "value");
    }

    /**
     * Returns the input as Jepsen prints it, {@code [expect value]}.
     *
     * @return the description
     */
    @Override
    public String toString() {
      return "[" + (expect == null ? "absent" : expect) + " " + value + "]";
    }
  }

  /** Creates the model. */
  public CasRegisterModel() {}

  @Override
  public Optional<Object> init() {
    return Optional.empty();
  }

  @Override
  public Optional<Object> step(Optional<Object> state, Operation op) {
    boolean known = op.outcome() == Operation.Outcome.OK;
    return switch (op.kind()) {
      case GET -> !known || Objects.equals(state.orElse(null), op.output()) ? state : null;
      case PUT -> Optional.of(Objects.requireNonNull(op.input(), "put without a value"));
      case CAS -> cas(state, op, known);
      default -> throw new IllegalArgumentException("not a get, put or cas: " + op);
    };
  }

  private static Optional<Object> cas(Optional<Object> state, Operation op, boolean known) {
    if (!(op.input() instanceof Cas cas)) {
      throw new IllegalArgumentException("cas input must be a Cas, got " + op);
    }
    boolean swaps = Objects.equals(state.orElse(null), cas.expect());
    if (known && !Boolean.valueOf(swaps).equals(op.output())) {
      return null;
    }
    return swaps ? Optional.of(cas.value()) : state;
  }

  @Override
  public boolean isReadOnly(Operation op) {
    return GET.equals(op.kind());
  }

  @Override
  public String describe(Optional<Object> state) {
    return state.map(String::valueOf).orElse("absent");
  }
}
