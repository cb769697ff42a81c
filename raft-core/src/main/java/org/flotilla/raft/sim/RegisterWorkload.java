package org.flotilla.raft.sim;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.util.SplittableRandom;
import org.flotilla.raft.StateMachine;

/**
 * The runtime simulator's own workload: puts, compare-and-sets and gets on three registers of a
 * {@link RegisterMap}, checked with {@link CasRegisterModel}. Every value written is new, so every
 * command is unique and exactly-once is checked directly.
 *
 * <p>Not thread-safe; confined to the simulation's thread.
 */
final class RegisterWorkload implements Workload {

  private long nextValue = 1;

  @Override
  public Request next(SplittableRandom random, int client) {
    String key = "k" + random.nextInt(3);
    int choice = random.nextInt(10);
    if (choice < 4) {
      long v = nextValue++;
      return Request.command(key, CasRegisterModel.PUT, v, RegisterMap.put(key, v), r -> null);
    }
    if (choice < 6) {
      long expect = random.nextInt(3) == 0 ? RegisterMap.ABSENT : random.nextLong(nextValue);
      long v = nextValue++;
      return Request.command(
          key,
          CasRegisterModel.CAS,
          new CasRegisterModel.Cas(expect == RegisterMap.ABSENT ? null : expect, v),
          RegisterMap.cas(key, expect, v),
          r -> r.getLong(0) == 1);
    }
    return Request.query(
        key,
        CasRegisterModel.GET,
        null,
        RegisterMap.get(key),
        r -> r.getLong(0) == RegisterMap.ABSENT ? null : r.getLong(0));
  }

  @Override
  public boolean uniqueCommands() {
    return true;
  }

  /** The register map as a state machine. Confined to the simulation's thread. */
  static final class Registers implements StateMachine {
    private final boolean concurrentQueries;
    private final int padding;
    private RegisterMap map = new RegisterMap();

    /**
     * Creates an empty map.
     *
     * @param concurrentQueries what {@link #concurrentQueries()} says
     * @param padding bytes of filler each snapshot carries after the map, so that a snapshot takes
     *     several chunks to send (and a transfer can be interrupted and resumed); checked on
     *     restore
     */
    Registers(boolean concurrentQueries, int padding) {
      this.concurrentQueries = concurrentQueries;
      this.padding = padding;
    }

    @Override
    public ByteBuffer apply(long index, ByteBuffer command) {
      return ByteBuffer.allocate(8).putLong(0, map.apply(command));
    }

    @Override
    public ByteBuffer query(ByteBuffer query) {
      return ByteBuffer.allocate(8).putLong(0, map.apply(query));
    }

    @Override
    public boolean concurrentQueries() {
      return concurrentQueries;
    }

    @Override
    public Snapshot snapshot() {
      byte[] bytes = map.snapshot();
      int pad = padding;
      return out -> {
        out.write(ByteBuffer.allocate(8).putInt(bytes.length).putInt(pad).array());
        out.write(bytes);
        for (int i = 0; i < pad; i++) {
          out.write(i);
        }
      };
    }

    @Override
    public void restore(long index, long term, InputStream in) throws IOException {
      ByteBuffer header = ByteBuffer.wrap(in.readNBytes(8));
      int len = header.getInt();
      int pad = header.getInt();
      RegisterMap restored = RegisterMap.restore(in.readNBytes(len));
      byte[] filler = in.readNBytes(pad);
      for (int i = 0; i < pad; i++) {
        if (filler.length != pad || filler[i] != (byte) i) {
          throw new IOException("snapshot filler damaged at byte " + i + " of " + pad);
        }
      }
      map = restored;
    }
  }
}
