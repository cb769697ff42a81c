package org.flotilla.raft.storage;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.flotilla.raft.message.EntryType;
import org.flotilla.raft.message.LogEntry;
import org.flotilla.raft.spi.HardState;
import org.flotilla.raft.spi.LogStore;
import org.flotilla.raft.spi.MetaStore;

/**
 * Other groups writing into a {@link SharedLog} while a test runs against one group: a few threads,
 * each the event loop of some groups, append, compact and save metadata as fast as they can. After
 * {@link #close()} every group's state is durable; {@link #verify(SharedLog)} checks that a
 * reopened log holds it.
 */
final class BusyNeighbours {
  private final SharedLog wal;
  private final List<Thread> threads = new ArrayList<>();
  private final AtomicReference<Throwable> error = new AtomicReference<>();
  private final Map<String, long[]> finalState = new HashMap<>();
  private volatile boolean stop;

  BusyNeighbours(SharedLog wal, int threadCount, int groupsPerThread) {
    this.wal = wal;
    for (int t = 0; t < threadCount; t++) {
      List<String> ids = new ArrayList<>();
      for (int k = 0; k < groupsPerThread; k++) {
        ids.add("neighbour-" + t + "-" + k);
      }
      Thread thread = new Thread(() -> run(ids), "neighbour-" + t);
      thread.setDaemon(true);
      threads.add(thread);
    }
    threads.forEach(Thread::start);
  }

  private void run(List<String> ids) {
    List<LogStore> logs = new ArrayList<>();
    List<MetaStore> metas = new ArrayList<>();
    try {
      for (String id : ids) {
        logs.add(wal.logStore(id));
        metas.add(wal.metaStore(id));
      }
      long round = 0;
      while (!stop) {
        round++;
        for (int k = 0; k < ids.size(); k++) {
          LogStore log = logs.get(k);
          long term = Math.max(1, log.term(log.lastIndex()));
          List<LogEntry> batch = new ArrayList<>();
          for (int i = 1; i <= 1 + round % 3; i++) {
            long index = log.lastIndex() + i;
            byte[] p = new byte[(int) (index % 50)];
            batch.add(new LogEntry(index, term, EntryType.COMMAND, ByteBuffer.wrap(p)));
          }
          log.append(batch);
          if (round % 10 == 0) {
            metas.get(k).save(new HardState(term, "n" + round % 3));
          }
          if (round % 7 == 0 && log.lastIndex() > 20) {
            log.compact(log.lastIndex() - 20);
          }
        }
        if (round % 5 == 0) {
          Thread.onSpinWait();
        }
      }
      for (int k = 0; k < ids.size(); k++) {
        LogStore log = logs.get(k);
        synchronized (finalState) {
          finalState.put(
              ids.get(k),
              new long[] {log.lastIndex(), log.term(log.lastIndex()), metas.get(k).load().term()});
        }
      }
    } catch (Throwable t) {
      error.compareAndSet(null, t);
    } finally {
      logs.forEach(LogStore::close);
      metas.forEach(MetaStore::close);
    }
  }

  /** Stops the writers; their appends are durable on return. */
  void close() throws InterruptedException {
    stop = true;
    for (Thread t : threads) {
      t.join(TimeUnit.SECONDS.toMillis(30));
      assertThat(t.isAlive()).as("neighbour thread stopped").isFalse();
    }
    if (error.get() != null) {
      throw new AssertionError("a neighbour failed", error.get());
    }
  }

  /** Checks that {@code reopened} holds every neighbour's last state. */
  void verify(SharedLog reopened) {
    synchronized (finalState) {
      for (Map.Entry<String, long[]> e : finalState.entrySet()) {
        LogStore log = reopened.logStore(e.getKey());
        MetaStore meta = reopened.metaStore(e.getKey());
        try {
          assertThat(log.lastIndex()).as("last index of %s", e.getKey()).isEqualTo(e.getValue()[0]);
          assertThat(log.term(log.lastIndex())).isEqualTo(e.getValue()[1]);
          assertThat(meta.load().term()).isEqualTo(e.getValue()[2]);
          if (log.lastIndex() > log.baseIndex()) {
            assertThat(log.entries(log.firstIndex(), log.lastIndex() + 1, Long.MAX_VALUE))
                .hasSize((int) (log.lastIndex() - log.baseIndex()));
          }
        } finally {
          log.close();
          meta.close();
        }
      }
    }
  }
}
