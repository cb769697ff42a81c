package org.flotilla.raft.storage.bench;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.stream.Stream;
import org.flotilla.raft.message.EntryType;
import org.flotilla.raft.message.LogEntry;
import org.flotilla.raft.spi.LogStore;
import org.flotilla.raft.storage.FileLogStore;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Durable appends per second: the raw limit of the disk (a plain loop of write + force, one entry
 * per force) against {@link FileLogStore}'s group commit with many concurrent appenders, each
 * waiting for its entry to be reported durable. Run with {@code mvn -P jmh -pl raft-storage
 * test-compile exec:exec}; the directory is {@code target/jmh-data} (same disk as the build).
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 2, time = 3)
@Measurement(iterations = 3, time = 5)
@Fork(1)
public class AppendBenchmark {

  static Path freshDir(String name) throws IOException {
    Path dir = Path.of(System.getProperty("flotilla.bench.dir", "target/jmh-data"), name);
    delete(dir);
    Files.createDirectories(dir);
    return dir;
  }

  static void delete(Path dir) throws IOException {
    if (Files.exists(dir)) {
      try (Stream<Path> walk = Files.walk(dir)) {
        for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
          Files.delete(p);
        }
      }
    }
  }

  /** Size of the raw loops' file. */
  static final long FILE_SIZE = 256L << 20;

  /**
   * A plain file, preallocated with zeros like the log's segments, written and forced in a loop:
   * the physical limit.
   */
  @State(Scope.Thread)
  public static class Raw {
    @Param({"128", "4096"})
    int entrySize;

    FileChannel channel;
    ByteBuffer record;
    ByteBuffer batch;
    long position;
    Path dir;

    @Setup(Level.Trial)
    public void open() throws IOException {
      dir = freshDir("raw");
      channel =
          FileChannel.open(
              dir.resolve("raw.dat"),
              StandardOpenOption.CREATE,
              StandardOpenOption.READ,
              StandardOpenOption.WRITE);
      // preallocated like a log segment: filled with zeros and forced
      ByteBuffer zeros = ByteBuffer.allocateDirect(1 << 20);
      for (long p = 0; p < FILE_SIZE; p += zeros.capacity()) {
        zeros.clear();
        channel.write(zeros, p);
      }
      channel.force(true);
      record = ByteBuffer.allocateDirect(entrySize + 25);
      batch = ByteBuffer.allocateDirect((entrySize + 25) * BATCH);
    }

    /** Starts again at the beginning of the zero-filled file, as a log rolls to a new segment. */
    void wrapIfFull() {
      if (position > FILE_SIZE - (1 << 20)) {
        position = 0;
      }
    }

    @TearDown(Level.Trial)
    public void close() throws IOException {
      channel.close();
      delete(dir);
    }
  }

  /** The raw limit: write one record and force, per operation. */
  @Benchmark
  public long rawWriteForce(Raw raw) throws IOException {
    raw.record.clear();
    while (raw.record.hasRemaining()) {
      raw.position += raw.channel.write(raw.record, raw.position);
    }
    raw.channel.force(false);
    raw.wrapIfFull();
    return raw.position;
  }

  /** Entries per force in {@link #rawBatchWriteForce}: as many as there are appenders. */
  static final int BATCH = 32;

  /**
   * The raw limit for batches as large as the appenders can form: write 32 records with one write
   * and force once, counted as 32 operations. An ideal group commit of 32 appenders does this.
   */
  @Benchmark
  @OperationsPerInvocation(BATCH)
  public long rawBatchWriteForce(Raw raw) throws IOException {
    raw.batch.clear();
    while (raw.batch.hasRemaining()) {
      raw.position += raw.channel.write(raw.batch, raw.position);
    }
    raw.channel.force(false);
    raw.wrapIfFull();
    return raw.position;
  }

  /**
   * A file log driven the way a node drives it: one event-loop thread appends whatever the
   * appenders submitted (one batch per turn), and durability reports complete their futures.
   */
  @State(Scope.Benchmark)
  public static class GroupCommit {
    @Param({"128", "4096"})
    int entrySize;

    FileLogStore store;
    Thread loop;
    final ArrayBlockingQueue<CompletableFuture<Void>> submitted = new ArrayBlockingQueue<>(4096);
    final ConcurrentLinkedQueue<Long> inflightIndex = new ConcurrentLinkedQueue<>();
    final ConcurrentLinkedQueue<CompletableFuture<Void>> inflight = new ConcurrentLinkedQueue<>();
    volatile boolean running = true;
    Path dir;
    ByteBuffer payload;

    @Setup(Level.Trial)
    public void open() throws IOException {
      dir = freshDir("group");
      payload = ByteBuffer.allocate(entrySize).asReadOnlyBuffer();
      store = FileLogStore.open(dir, FileLogStore.Options.defaults());
      store.setListener(
          new LogStore.DurabilityListener() {
            @Override
            public void durable(long index, long term) {
              // called on the store's sync thread: complete every future up to index
              Long head;
              while ((head = inflightIndex.peek()) != null && head <= index) {
                inflightIndex.poll();
                inflight.poll().complete(null);
              }
            }

            @Override
            public void failed(Throwable cause) {
              running = false;
            }
          });
      loop = new Thread(this::eventLoop, "bench-event-loop");
      loop.start();
    }

    private void eventLoop() {
      List<CompletableFuture<Void>> batch = new ArrayList<>();
      List<LogEntry> entries = new ArrayList<>();
      long next = store.lastIndex() + 1;
      try {
        while (running) {
          CompletableFuture<Void> first = submitted.poll(10, TimeUnit.MILLISECONDS);
          if (first == null) {
            continue;
          }
          batch.add(first);
          submitted.drainTo(batch);
          for (CompletableFuture<Void> f : batch) {
            entries.add(new LogEntry(next, 1, EntryType.COMMAND, payload));
            inflight.add(f);
            inflightIndex.add(next);
            next++;
          }
          store.append(entries);
          entries.clear();
          batch.clear();
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }

    @TearDown(Level.Trial)
    public void close() throws Exception {
      running = false;
      loop.join();
      store.close();
      delete(dir);
    }
  }

  /**
   * A file log appended to by the benchmark thread acting as the event loop: the entries of {@link
   * #BATCH} appenders arrive in one loop turn and go to the store as one append, and the turn waits
   * until they are reported durable, parked until the store's sync thread reports.
   */
  @State(Scope.Thread)
  public static class LoopTurn {
    @Param({"128", "4096"})
    int entrySize;

    FileLogStore store;
    Path dir;
    ByteBuffer payload;
    volatile Thread waiter;
    volatile long durable;
    long next = 1;
    final List<LogEntry> batch = new ArrayList<>(BATCH);

    @Setup(Level.Trial)
    public void open() throws IOException {
      dir = freshDir("turn");
      payload = ByteBuffer.allocate(entrySize).asReadOnlyBuffer();
      store = FileLogStore.open(dir, FileLogStore.Options.defaults());
      store.setListener(
          new LogStore.DurabilityListener() {
            @Override
            public void durable(long index, long term) {
              durable = index;
              Thread w = waiter;
              if (w != null) {
                LockSupport.unpark(w);
              }
            }

            @Override
            public void failed(Throwable cause) {
              durable = Long.MIN_VALUE;
            }
          });
      waiter = Thread.currentThread();
    }

    @TearDown(Level.Trial)
    public void close() throws IOException {
      store.close();
      delete(dir);
    }
  }

  /** Group commit, 32 appenders per loop turn: one append of 32 entries, then wait for them. */
  @Benchmark
  @OperationsPerInvocation(BATCH)
  public long groupCommitLoopTurn(LoopTurn log) {
    log.waiter = Thread.currentThread();
    for (int i = 0; i < BATCH; i++) {
      log.batch.add(new LogEntry(log.next++, 1, EntryType.COMMAND, log.payload));
    }
    log.store.append(log.batch);
    log.batch.clear();
    long last = log.next - 1;
    while (log.durable < last) {
      if (log.durable == Long.MIN_VALUE) {
        throw new IllegalStateException("store failed");
      }
      LockSupport.parkNanos(1_000_000);
    }
    return last;
  }

  /** Group commit: 32 appenders, each submitting one entry and waiting until it is durable. */
  @Benchmark
  @Threads(BATCH)
  public void groupCommit(GroupCommit log) throws Exception {
    CompletableFuture<Void> done = new CompletableFuture<>();
    log.submitted.put(done);
    done.get(30, TimeUnit.SECONDS);
  }
}
