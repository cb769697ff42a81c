package org.flotilla.raft.sim;

/**
 * A map of strings that supports {@value #GET}, {@value #PUT} and {@value #APPEND}: the sequential
 * specification of the key-value histories of Porcupine's and Knossos' test corpora.
 *
 * <table>
 *   <caption>Operations</caption>
 *   <tr><th>kind</th><th>input</th><th>output (outcome OK)</th></tr>
 *   <tr><td>{@value #GET}</td><td>null</td><td>the string read</td></tr>
 *   <tr><td>{@value #PUT}</td><td>the string written</td><td>ignored</td></tr>
 *   <tr><td>{@value #APPEND}</td><td>the string appended</td><td>ignored</td></tr>
 * </table>
 *
 * <p>A key's state is its string; keys start as the empty string. Stateless and thread-safe.
 */
public final class AppendStringModel implements Model<String> {

  /** The kind of a read of a key. */
  public static final String GET = "get";

  /** The kind of a write that replaces a key's string. */
  public static final String PUT = "put";

  /** The kind of a write that appends to a key's string. */
  public static final String APPEND = "append";

  /** Creates the model. */
  public AppendStringModel() {}

  @Override
  public String init() {
    return "";
  }

  @Override
  public String step(String state, Operation op) {
    return switch (op.kind()) {
      case GET -> op.outcome() != Operation.Outcome.OK || state.equals(op.output()) ? state : null;
      case PUT -> text(op);
      case APPEND -> state.concat(text(op));
      default -> throw new IllegalArgumentException("not a get, put or append: " + op);
    };
  }

  private static String text(Operation op) {
    if (!(op.input() instanceof String s)) {
      throw new IllegalArgumentException("input must be a string: " + op);
    }
    return s;
  }

  @Override
  public boolean isReadOnly(Operation op) {
    return GET.equals(op.kind());
  }

  @Override
  public String describe(String state) {
    return '"' + state + '"';
  }
}
