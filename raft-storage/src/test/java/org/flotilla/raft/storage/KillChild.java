package org.flotilla.raft.storage;

import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.flotilla.raft.message.EntryType;
import org.flotilla.raft.message.LogEntry;
import org.flotilla.raft.spi.LogStore;

/**
 * The child process of {@link SigkillTest}: appends to a log in a loop until killed, printing
 * {@code D <index>} for every durability report, after the store made it.
 */
final class KillChild {
  private KillChild() {}

  /** The deterministic entry for an index, so the parent can check every byte. */
  static LogEntry entry(long index) {
    SplittableRandom r = new SplittableRandom(index);
    byte[] p = new byte[100 + r.nextInt(3000)];
    r.nextBytes(p);
    return new LogEntry(index, 1, EntryType.COMMAND, ByteBuffer.wrap(p));
  }

  /**
   * Runs the write loop.
   *
   * @param args the log directory
   */
  public static void main(String[] args) {
    PrintStream out = new PrintStream(System.out, true, StandardCharsets.UTF_8);
    FileLogStore store =
        FileLogStore.open(
            Path.of(args[0]), FileLogStore.Options.defaults().withSegmentSize(1 << 20));
    store.setListener(
        new LogStore.DurabilityListener() {
          @Override
          public void durable(long index, long term) {
            out.println("D " + index);
          }

          @Override
          public void failed(Throwable cause) {
            out.println("F " + cause);
          }
        });
    out.println("READY " + store.lastIndex());
    SplittableRandom random = new SplittableRandom();
    long next = store.lastIndex() + 1;
    long deadline = System.nanoTime() + 60_000_000_000L;
    while (System.nanoTime() < deadline) {
      int n = 1 + random.nextInt(20);
      List<LogEntry> batch = new ArrayList<>(n);
      for (int i = 0; i < n; i++) {
        batch.add(entry(next + i));
      }
      store.append(batch);
      next += n;
    }
    store.close();
  }
}
