package org.flotilla.raft.examples;

import java.nio.ByteBuffer;
import java.util.function.Function;

/**
 * Shows a {@code flotilla-kv} command in one line ({@code PUT greeting = "hello"}), for {@code
 * flotilla log dump --decode kv}. A service that embeds Flotilla writes the same kind of class for
 * its own commands and names it with {@code --decode}: any {@code Function<ByteBuffer, String>}
 * with a public no-argument constructor, on the tool's class path ({@code FLOTILLA_CLASSPATH}).
 */
public final class KvCommandDecoder implements Function<ByteBuffer, String> {

  /** Creates the decoder. */
  public KvCommandDecoder() {}

  /**
   * Describes one command.
   *
   * @param command the command as the state machine receives it (not moved)
   * @return one line
   */
  @Override
  public String apply(ByteBuffer command) {
    return KvStateMachine.describe(command);
  }
}
