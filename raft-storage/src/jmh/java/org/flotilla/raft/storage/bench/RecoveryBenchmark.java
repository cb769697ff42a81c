package org.flotilla.raft.storage.bench;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.flotilla.raft.message.EntryType;
import org.flotilla.raft.message.LogEntry;
import org.flotilla.raft.storage.FileLogStore;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Time to open (recover) a log of 1,000,000 entries: every record read and its CRC32C checked, the
 * in-memory index rebuilt. Single shot per iteration, the files in the page cache after the first.
 */
@BenchmarkMode(Mode.SingleShotTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 2)
@Measurement(iterations = 5)
@Fork(1)
@State(Scope.Benchmark)
public class RecoveryBenchmark {

  @Param({"128"})
  int entrySize;

  @Param({"1000000"})
  int entries;

  Path dir;

  @Setup(Level.Trial)
  public void write() throws IOException {
    dir = AppendBenchmark.freshDir("recovery");
    ByteBuffer payload = ByteBuffer.allocate(entrySize).asReadOnlyBuffer();
    try (FileLogStore store = FileLogStore.open(dir, FileLogStore.Options.defaults())) {
      List<LogEntry> batch = new ArrayList<>(1000);
      for (long i = 1; i <= entries; i++) {
        batch.add(new LogEntry(i, 1 + i / 100_000, EntryType.COMMAND, payload));
        if (batch.size() == 1000) {
          store.append(batch);
          batch.clear();
        }
      }
    }
  }

  @TearDown(Level.Trial)
  public void delete() throws IOException {
    AppendBenchmark.delete(dir);
  }

  /** Opens the log (full recovery) and closes it. */
  @Benchmark
  public long open() {
    try (FileLogStore store = FileLogStore.open(dir, FileLogStore.Options.defaults())) {
      if (store.lastIndex() != entries) {
        throw new IllegalStateException("recovered " + store.lastIndex() + " of " + entries);
      }
      return store.lastIndex();
    }
  }
}
