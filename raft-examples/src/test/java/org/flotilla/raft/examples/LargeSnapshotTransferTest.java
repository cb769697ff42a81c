package org.flotilla.raft.examples;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.flotilla.raft.RaftNode;
import org.flotilla.raft.RaftOptions;
import org.flotilla.raft.StateMachine;
import org.flotilla.raft.cluster.Member;
import org.flotilla.raft.cluster.Role;
import org.flotilla.raft.storage.FileLogStore;
import org.flotilla.raft.storage.FileMetaStore;
import org.flotilla.raft.storage.FileSnapshotStore;
import org.flotilla.raft.transport.netty.NettyTransport;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A 256 MiB snapshot reaches a new member over {@link NettyTransport}, from {@link
 * FileSnapshotStore} to {@link FileSnapshotStore}, while the leader keeps committing writes; the
 * heap of the JVM holding both members grows by at most 64 MiB. The snapshot's bulk is generated
 * while it is written and checked while it is restored, so no side ever holds it.
 */
@Timeout(300)
class LargeSnapshotTransferTest {

  static final long BULK = 256L << 20;
  static final long HEAP_GROWTH_LIMIT = 64L << 20;

  @TempDir Path dir;

  /** Counts applied commands; a snapshot carries the count, the sum and {@link #BULK} bytes. */
  static final class BulkMachine implements StateMachine {
    // written by the apply thread only; volatile so that the test thread sees them
    volatile long applied;
    volatile long sum;
    volatile long restoredBulk = -1;

    @Override
    public ByteBuffer apply(long index, ByteBuffer command) {
      long s = sum + command.getLong(command.position());
      long a = applied + 1;
      sum = s;
      applied = a;
      return null;
    }

    @Override
    public ByteBuffer query(ByteBuffer query) {
      return ByteBuffer.allocate(8).putLong(0, applied);
    }

    @Override
    public Snapshot snapshot() {
      long count = applied;
      long total = sum;
      return out -> {
        DataOutputStream d = new DataOutputStream(out);
        d.writeLong(count);
        d.writeLong(total);
        byte[] chunk = new byte[64 * 1024];
        SplittableRandom bulk = new SplittableRandom(count);
        for (long written = 0; written < BULK; written += chunk.length) {
          fill(bulk, chunk);
          d.write(chunk);
        }
        d.flush();
      };
    }

    @Override
    public void restore(long index, long term, InputStream in) throws IOException {
      DataInputStream d = new DataInputStream(in);
      long count = d.readLong();
      long total = d.readLong();
      byte[] expected = new byte[64 * 1024];
      byte[] got = new byte[expected.length];
      SplittableRandom bulk = new SplittableRandom(count);
      long read = 0;
      for (; read < BULK; read += got.length) {
        fill(bulk, expected);
        d.readFully(got);
        if (!java.util.Arrays.equals(expected, got)) {
          throw new IOException("snapshot bulk differs at offset " + read);
        }
      }
      applied = count;
      sum = total;
      restoredBulk = read;
    }

    private static void fill(SplittableRandom random, byte[] chunk) {
      ByteBuffer b = ByteBuffer.wrap(chunk);
      while (b.hasRemaining()) {
        b.putLong(random.nextLong());
      }
    }
  }

  private RaftNode node(String id, int port, List<Member> voters, BulkMachine machine)
      throws IOException {
    Path home = dir.resolve(id);
    return RaftNode.builder()
        .id(id)
        .members(voters)
        .stateMachine(machine)
        .transport(
            NettyTransport.builder().clusterId("bulk").bindAddress("127.0.0.1", port).build())
        .logStore(
            FileLogStore.open(
                home.resolve("log"),
                new FileLogStore.Options(64 * 1024, 1 << 20, 1024, 4096, false, false)))
        .metaStore(FileMetaStore.open(home.resolve("meta")))
        .snapshotStore(FileSnapshotStore.open(home.resolve("snapshots"), 1))
        .options(
            RaftOptions.builder()
                .snapshotThresholdEntries(0)
                .snapshotThresholdBytes(0)
                .snapshotTrailingEntries(0)
                .build())
        .build();
  }

  @Test
  void a256MiBSnapshotReachesANewMemberWhileTheLeaderCommits() throws Exception {
    List<Integer> ports = HttpTestClient.freePorts(2);
    Member m1 = Member.of("n1", "127.0.0.1:" + ports.get(0));
    Member m2 = Member.of("n2", "127.0.0.1:" + ports.get(1));
    BulkMachine sm1 = new BulkMachine();
    BulkMachine sm2 = new BulkMachine();
    try (RaftNode n1 = node("n1", ports.get(0), List.of(m1), sm1)) {
      n1.start();
      await("n1 leads", () -> n1.status().role() == Role.LEADER);
      // Enough entries to fill several 64 KiB segments, so that the snapshot compacts them away
      // and the new member cannot catch up from the log.
      submitAll(n1, 20_000);
      long snapshotIndex = n1.takeSnapshot().get(120, TimeUnit.SECONDS);
      assertThat(snapshotIndex).isGreaterThanOrEqualTo(20_000);

      HeapPeak heap = HeapPeak.start();
      AtomicBoolean writing = new AtomicBoolean(true);
      AtomicLong acknowledged = new AtomicLong();
      Thread writer = new Thread(() -> keepWriting(n1, writing, acknowledged), "bulk-writer");
      writer.start();
      long transferStart = System.nanoTime();
      try (RaftNode n2 = node("n2", ports.get(1), List.of(m1), sm2)) {
        n2.start();
        n1.addMember(m2).get(30, TimeUnit.SECONDS);
        long before = acknowledged.get();
        await("n2 restores the snapshot", () -> sm2.restoredBulk == BULK);
        long during = acknowledged.get() - before;
        long seconds = TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - transferStart);
        writing.set(false);
        writer.join(30_000);
        await("n2 catches up", () -> sm2.applied == sm1.applied && sm1.applied > 20_000);
        assertThat(sm2.sum).isEqualTo(sm1.sum);
        heap.stop();
        System.out.printf(
            "[large snapshot] %d MiB installed in about %d s; %d writes committed meanwhile;"
                + " live heap: %d MiB before, peak %d MiB (growth %d MiB, limit %d MiB)%n",
            BULK >> 20,
            seconds,
            during,
            heap.baseline >> 20,
            heap.peak.get() >> 20,
            (heap.peak.get() - heap.baseline) >> 20,
            HEAP_GROWTH_LIMIT >> 20);
        assertThat(during).as("writes committed during the transfer").isPositive();
        assertThat(heap.peak.get() - heap.baseline)
            .as("live heap growth during the transfer")
            .isLessThanOrEqualTo(HEAP_GROWTH_LIMIT);
      } finally {
        writing.set(false);
        writer.join(30_000);
      }
    }
  }

  private static void submitAll(RaftNode leader, int count) throws Exception {
    Semaphore window = new Semaphore(256);
    List<CompletableFuture<?>> all = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      window.acquire();
      CompletableFuture<?> f =
          leader
              .submit(ByteBuffer.allocate(8).putLong(0, i))
              .whenComplete((r, e) -> window.release());
      all.add(f);
    }
    CompletableFuture.allOf(all.toArray(CompletableFuture[]::new)).get(120, TimeUnit.SECONDS);
  }

  private static void keepWriting(RaftNode leader, AtomicBoolean writing, AtomicLong acked) {
    Semaphore window = new Semaphore(16);
    try {
      while (writing.get()) {
        if (!window.tryAcquire(100, TimeUnit.MILLISECONDS)) {
          continue;
        }
        CompletableFuture<?> unused =
            leader
                .submit(ByteBuffer.allocate(8).putLong(0, 1))
                .whenComplete(
                    (r, e) -> {
                      if (e == null) {
                        acked.incrementAndGet();
                      }
                      window.release();
                    });
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private static void await(String what, java.util.function.BooleanSupplier condition)
      throws InterruptedException {
    long deadline = System.nanoTime() + Duration.ofMinutes(4).toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("timed out waiting for: " + what);
      }
      Thread.sleep(20);
    }
  }

  /**
   * The peak of the live heap: a sampler runs a full collection every 250 ms and reads the heap in
   * use right after it, so garbage waiting for a later collection is not counted as growth.
   */
  static final class HeapPeak {
    final long baseline;
    final AtomicLong peak = new AtomicLong();
    private final AtomicBoolean running = new AtomicBoolean(true);
    private final Thread sampler;

    private HeapPeak(long baseline) {
      this.baseline = baseline;
      peak.set(baseline);
      sampler =
          new Thread(
              () -> {
                while (running.get()) {
                  peak.accumulateAndGet(liveHeap(), Math::max);
                  try {
                    Thread.sleep(250);
                  } catch (InterruptedException e) {
                    return;
                  }
                }
              },
              "heap-sampler");
    }

    static long liveHeap() {
      System.gc();
      return ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
    }

    static HeapPeak start() {
      HeapPeak h = new HeapPeak(liveHeap());
      h.sampler.setDaemon(true);
      h.sampler.start();
      return h;
    }

    void stop() throws InterruptedException {
      running.set(false);
      sampler.join(10_000);
    }
  }
}
