package org.flotilla.raft.sim;

import java.nio.ByteBuffer;
import java.util.Objects;
import java.util.SplittableRandom;
import java.util.function.Function;

/**
 * What the clients of a {@link RuntimeSimulation} ask of the user's state machine: each call to
 * {@link #next} makes one operation, a command (submitted through the log) or a query (a read),
 * with the key, kind and input the {@link Model} checks it by, and how to turn the state machine's
 * answer into the operation's output.
 *
 * <p>A workload is called on the simulator's thread only, and must draw every random choice from
 * the {@code random} it is given, so that a seed replays.
 */
public interface Workload {

  /**
   * Makes the next operation of a client.
   *
   * @param random the run's random numbers, seeded; the only source of randomness to use
   * @param client the client's number, from 0
   * @return the operation
   */
  Request next(SplittableRandom random, int client);

  /**
   * Tells whether no two commands this workload makes have the same bytes. When true, the simulator
   * also checks exactly-once delivery of session commands directly: no command submitted in a
   * session may be applied at two log indexes. (Without it, a command applied twice still shows as
   * a linearizability violation whenever applying it twice is observable.)
   *
   * @return whether every command's bytes are unique; false by default
   */
  default boolean uniqueCommands() {
    return false;
  }

  /**
   * One operation of a client.
   *
   * @param key the key the model checks it under (operations on different keys are checked
   *     independently; use one key for a state machine that is one object)
   * @param kind the operation's kind, as the model knows it (for example "get" or "put")
   * @param input the operation's argument, as the model knows it (may be null)
   * @param bytes the command or query passed to the node
   * @param query whether it is a query, sent with {@code read}; a command otherwise
   * @param output turns the state machine's answer into the operation's output for the model
   */
  record Request(
      String key,
      String kind,
      Object input,
      ByteBuffer bytes,
      boolean query,
      Function<ByteBuffer, Object> output) {

    /**
     * Checks the fields.
     *
     * @param key see above
     * @param kind see above
     * @param input see above
     * @param bytes see above
     * @param query see above
     * @param output see above
     */
    public Request {
      Objects.requireNonNull(key, "key");
      Objects.requireNonNull(kind, "kind");
      Objects.requireNonNull(bytes, "bytes");
      Objects.requireNonNull(output, "output");
    }

    /**
     * Makes a command.
     *
     * @param key the key
     * @param kind the kind
     * @param input the input
     * @param bytes the command's bytes
     * @param output the output of the state machine's result
     * @return the request
     */
    public static Request command(
        String key,
        String kind,
        Object input,
        ByteBuffer bytes,
        Function<ByteBuffer, Object> output) {
      return new Request(key, kind, input, bytes, false, output);
    }

    /**
     * Makes a query.
     *
     * @param key the key
     * @param kind the kind
     * @param input the input
     * @param bytes the query's bytes
     * @param output the output of the state machine's answer
     * @return the request
     */
    public static Request query(
        String key,
        String kind,
        Object input,
        ByteBuffer bytes,
        Function<ByteBuffer, Object> output) {
      return new Request(key, kind, input, bytes, true, output);
    }
  }
}
