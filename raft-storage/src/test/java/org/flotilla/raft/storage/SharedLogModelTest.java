package org.flotilla.raft.storage;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.flotilla.raft.memory.MemoryLogStore;
import org.flotilla.raft.message.EntryType;
import org.flotilla.raft.message.LogEntry;
import org.flotilla.raft.spi.HardState;
import org.flotilla.raft.spi.LogStore;
import org.flotilla.raft.spi.MetaStore;
import org.flotilla.raft.testkit.RecordingListener;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Random sequences of appends (with truncations), compactions, resets, metadata saves, group
 * removals, garbage collections and reopens over many groups of one {@link SharedLog}, applied to
 * an in-memory log per group as the model; after every step the touched group, and after every
 * reopen every group, must show the model's entries and metadata. Tiny segments and a tiny segment
 * bound, so that rolls, rewrites and deletions happen all the time. Seeded: the seed is printed,
 * {@code -Dflotilla.storage.seed=N} replays one, and {@code -Dflotilla.storage.seeds=N} runs N
 * seeds (5 by default).
 */
@Timeout(180)
class SharedLogModelTest {

  private static final SharedLog.Options OPTIONS =
      SharedLog.Options.defaults().withSegmentSize(4096).withMaxSegments(3).withPreallocate(false);

  @TempDir Path tmp;

  /** One group as the model sees it, and its open views. */
  private static final class Group {
    MemoryLogStore model = new MemoryLogStore();
    HardState state = HardState.INITIAL;
    long term = 1;
    LogStore log;
    MetaStore meta;
    RecordingListener listener;
  }

  @Test
  void sharedLogBehavesLikeOneMemoryLogPerGroup() throws Exception {
    String fixed = System.getProperty("flotilla.storage.seed", "");
    long first = fixed.isEmpty() ? System.nanoTime() : Long.parseLong(fixed);
    int seeds = fixed.isEmpty() ? Integer.getInteger("flotilla.storage.seeds", 5) : 1;
    for (int s = 0; s < seeds; s++) {
      long seed = first + s;
      System.out.println("SharedLogModelTest seed " + seed);
      try {
        run(seed, tmp.resolve("seed-" + seed));
      } catch (AssertionError | RuntimeException e) {
        throw new AssertionError("failed with -Dflotilla.storage.seed=" + seed, e);
      }
    }
  }

  private static void run(long seed, Path dir) throws Exception {
    SplittableRandom random = new SplittableRandom(seed);
    Map<String, Group> groups = new HashMap<>();
    SharedLog wal = SharedLog.open(dir, OPTIONS);
    try {
      for (int step = 0; step < 400; step++) {
        String id = "g" + random.nextInt(6);
        Group g = groups.computeIfAbsent(id, k -> new Group());
        if (g.log == null) {
          openViews(wal, id, g);
        }
        MemoryLogStore model = g.model;
        int op = random.nextInt(100);
        if (op < 55) {
          long from =
              model.lastIndex() == model.baseIndex() || random.nextInt(4) > 0
                  ? model.lastIndex() + 1
                  : model.firstIndex() + random.nextLong(model.lastIndex() - model.baseIndex());
          if (from <= model.lastIndex() || random.nextInt(10) == 0) {
            g.term++;
          }
          g.term = Math.max(g.term, model.term(from - 1));
          List<LogEntry> batch = new ArrayList<>();
          int n = 1 + random.nextInt(20);
          for (int i = 0; i < n; i++) {
            byte[] p = new byte[random.nextInt(random.nextInt(10) == 0 ? 3000 : 100)];
            random.nextBytes(p);
            batch.add(new LogEntry(from + i, g.term, EntryType.COMMAND, ByteBuffer.wrap(p)));
          }
          model.append(batch);
          g.log.append(batch);
        } else if (op < 63 && model.lastIndex() > model.baseIndex()) {
          long to = model.baseIndex() + random.nextLong(model.lastIndex() - model.baseIndex() + 1);
          g.log.compact(to);
          model.compact(to);
        } else if (op < 66) {
          long index = Math.max(1, model.lastIndex() + random.nextInt(100));
          g.term++;
          model.reset(index, g.term);
          g.log.reset(index, g.term);
        } else if (op < 76) {
          g.state = new HardState(g.state.term() + random.nextInt(2), "n" + random.nextInt(3));
          g.meta.save(g.state);
        } else if (op < 79) {
          closeViews(g);
          wal.removeGroup(id);
          groups.remove(id);
          continue;
        } else if (op < 82) {
          wal.collectGarbage();
        } else if (op < 92) {
          for (Group each : groups.values()) {
            closeViews(each);
          }
          wal.close();
          wal = SharedLog.open(dir, OPTIONS);
          assertThat(wal.groups()).containsAll(nonEmpty(groups));
          for (Map.Entry<String, Group> e : groups.entrySet()) {
            openViews(wal, e.getKey(), e.getValue());
            assertSame(e.getKey(), e.getValue());
          }
          continue;
        } else if (g.log.durableIndex() < model.lastIndex()) {
          g.listener.awaitDurable(
              model.lastIndex(), model.term(model.lastIndex()), Duration.ofSeconds(20));
          assertThat(g.log.durableIndex()).isEqualTo(model.lastIndex());
        }
        assertSame(id, g);
      }
    } finally {
      for (Group each : groups.values()) {
        closeViews(each);
      }
      wal.close();
    }
  }

  private static List<String> nonEmpty(Map<String, Group> groups) {
    List<String> ids = new ArrayList<>();
    groups.forEach(
        (id, g) -> {
          if (g.model.lastIndex() > 0 || !g.state.equals(HardState.INITIAL)) {
            ids.add(id);
          }
        });
    return ids;
  }

  private static void openViews(SharedLog wal, String id, Group g) {
    g.log = wal.logStore(id);
    g.meta = wal.metaStore(id);
    g.listener = new RecordingListener();
    g.log.setListener(g.listener);
  }

  private static void closeViews(Group g) {
    if (g.log != null) {
      g.log.close();
      g.meta.close();
      g.log = null;
      g.meta = null;
    }
  }

  private static void assertSame(String id, Group g) {
    MemoryLogStore model = g.model;
    LogStore store = g.log;
    assertThat(store.baseIndex()).as("base of %s", id).isEqualTo(model.baseIndex());
    assertThat(store.baseTerm()).as("base term of %s", id).isEqualTo(model.baseTerm());
    assertThat(store.lastIndex()).as("last of %s", id).isEqualTo(model.lastIndex());
    for (long i = model.baseIndex(); i <= model.lastIndex(); i++) {
      assertThat(store.term(i)).as("term(%d) of %s", i, id).isEqualTo(model.term(i));
    }
    if (model.lastIndex() > model.baseIndex()) {
      long from = model.firstIndex();
      long to = model.lastIndex() + 1;
      assertThat(store.entries(from, to, Long.MAX_VALUE))
          .as("entries of %s", id)
          .isEqualTo(model.entries(from, to, Long.MAX_VALUE));
    }
    assertThat(g.meta.load()).as("hard state of %s", id).isEqualTo(g.state);
  }
}
