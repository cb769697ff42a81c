package org.flotilla.raft.examples.embedding;

import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import org.flotilla.raft.StateMachine;

/**
 * The counter's replicated state: a single {@code long}. A command is 8 bytes, the amount to add;
 * every answer is 8 bytes, the counter's value. Any query reads the value.
 *
 * <p>Not thread-safe, and it need not be: Flotilla calls it on the node's apply thread, one call at
 * a time. Only the {@link StateMachine.Snapshot} it returns runs on another thread.
 */
public final class Counter implements StateMachine {

  private long value; // confined to the apply thread

  /** Creates a counter at zero. */
  public Counter() {}

  @Override
  public ByteBuffer apply(long index, ByteBuffer command) {
    value += command.getLong(command.position()); // deterministic: state and command only
    return ByteBuffer.allocate(8).putLong(0, value);
  }

  @Override
  public ByteBuffer query(ByteBuffer query) {
    return ByteBuffer.allocate(8).putLong(0, value);
  }

  @Override
  public Snapshot snapshot() {
    long captured = value; // captured on the apply thread, written on the snapshot thread
    return out -> out.write(ByteBuffer.allocate(8).putLong(0, captured).array());
  }

  @Override
  public void restore(long index, long term, InputStream in) throws IOException {
    value = new DataInputStream(in).readLong();
  }
}
