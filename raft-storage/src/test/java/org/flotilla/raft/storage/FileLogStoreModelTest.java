package org.flotilla.raft.storage;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.flotilla.raft.memory.MemoryLogStore;
import org.flotilla.raft.message.EntryType;
import org.flotilla.raft.message.LogEntry;
import org.flotilla.raft.testkit.RecordingListener;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Random sequences of appends (with truncations), compactions, resets and reopens, applied to the
 * file log and to the in-memory log as a model; after every step the file log must show the same
 * entries. Seeded: the seed is printed, {@code -Dflotilla.storage.seed=N} replays one, and {@code
 * -Dflotilla.storage.seeds=N} runs N seeds (5 by default).
 */
@Timeout(120)
class FileLogStoreModelTest {

  @TempDir Path tmp;

  @Test
  void fileLogBehavesLikeTheMemoryLog() throws Exception {
    String fixed = System.getProperty("flotilla.storage.seed", "");
    long first = fixed.isEmpty() ? System.nanoTime() : Long.parseLong(fixed);
    int seeds = fixed.isEmpty() ? Integer.getInteger("flotilla.storage.seeds", 5) : 1;
    for (int s = 0; s < seeds; s++) {
      long seed = first + s;
      System.out.println("FileLogStoreModelTest seed " + seed);
      try {
        run(seed, tmp.resolve("seed-" + seed));
      } catch (AssertionError | RuntimeException e) {
        throw new AssertionError("failed with -Dflotilla.storage.seed=" + seed, e);
      }
    }
  }

  private static void run(long seed, Path dir) throws Exception {
    SplittableRandom random = new SplittableRandom(seed);
    FileLogStore.Options options =
        FileLogStore.Options.defaults().withSegmentSize(4096).withCacheEntries(4);
    MemoryLogStore model = new MemoryLogStore();
    FileLogStore store = FileLogStore.open(dir, options);
    RecordingListener listener = new RecordingListener();
    store.setListener(listener);
    long term = 1;
    try {
      for (int step = 0; step < 300; step++) {
        int op = random.nextInt(100);
        if (op < 70) {
          long from =
              model.lastIndex() == model.baseIndex() || random.nextInt(4) > 0
                  ? model.lastIndex() + 1
                  : model.firstIndex() + random.nextLong(model.lastIndex() - model.baseIndex());
          if (from <= model.lastIndex() || random.nextInt(10) == 0) {
            term++;
          }
          List<LogEntry> batch = new ArrayList<>();
          int n = 1 + random.nextInt(30);
          for (int i = 0; i < n; i++) {
            byte[] p = new byte[random.nextInt(random.nextInt(10) == 0 ? 5000 : 100)];
            random.nextBytes(p);
            batch.add(new LogEntry(from + i, term, EntryType.COMMAND, ByteBuffer.wrap(p)));
          }
          model.append(batch);
          store.append(batch);
        } else if (op < 80 && model.lastIndex() > model.baseIndex()) {
          long to = model.baseIndex() + random.nextLong(model.lastIndex() - model.baseIndex() + 1);
          store.compact(to);
          // the file log keeps whole segments: compact the model to the same base
          model.compact(store.baseIndex());
        } else if (op < 83) {
          // index 0 only goes with term 0: a reset point past the start needs index >= 1
          long index = Math.max(1, model.lastIndex() + random.nextInt(100));
          term++;
          model.reset(index, term);
          store.reset(index, term);
        } else if (op < 95) {
          store.close();
          store = FileLogStore.open(dir, options);
          listener = new RecordingListener();
          store.setListener(listener);
        } else if (store.durableIndex() < model.lastIndex()) {
          // appended since the last open or reset: wait for the report covering it
          listener.awaitDurable(
              model.lastIndex(), model.term(model.lastIndex()), Duration.ofSeconds(20));
          assertThat(store.durableIndex()).isEqualTo(model.lastIndex());
        }
        assertSame(model, store);
      }
    } finally {
      store.close();
    }
  }

  private static void assertSame(MemoryLogStore model, FileLogStore store) {
    assertThat(store.baseIndex()).isEqualTo(model.baseIndex());
    assertThat(store.baseTerm()).isEqualTo(model.baseTerm());
    assertThat(store.lastIndex()).isEqualTo(model.lastIndex());
    for (long i = model.baseIndex(); i <= model.lastIndex(); i++) {
      assertThat(store.term(i)).as("term(%d)", i).isEqualTo(model.term(i));
    }
    if (model.lastIndex() > model.baseIndex()) {
      long from = model.firstIndex();
      long to = model.lastIndex() + 1;
      assertThat(store.entries(from, to, Long.MAX_VALUE))
          .isEqualTo(model.entries(from, to, Long.MAX_VALUE));
    }
  }
}
