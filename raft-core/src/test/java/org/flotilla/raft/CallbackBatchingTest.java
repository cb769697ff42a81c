package org.flotilla.raft;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.flotilla.raft.memory.MemoryNetwork;
import org.junit.jupiter.api.Test;

/**
 * The apply thread hands the completions of one applied batch to the callback executor as one task,
 * in log order. The per-command executor hand-off (and thread wake-up) was the leader's largest
 * fixed cost per write in the cluster benchmark (docs/performance.md).
 */
class CallbackBatchingTest {

  @Test
  void completionsOfABatchShareOneCallbackTaskInLogOrder() throws Exception {
    int n = 4000;
    AtomicInteger tasks = new AtomicInteger();
    ExecutorService single = Executors.newSingleThreadExecutor();
    try (MemoryNetwork network = MemoryNetwork.create()) {
      TestCluster.MemoryStores stores = new TestCluster.MemoryStores();
      RaftNode node =
          RaftNode.builder()
              .id("n1")
              .members(List.of(Member.of("n1")))
              .stateMachine(new TestCluster.KvStateMachine())
              .transport(network.transport())
              .logStore(stores.log())
              .metaStore(stores.meta())
              .snapshotStore(stores.snapshots())
              .options(TestCluster.fastOptions().build())
              .callbackExecutor(
                  r -> {
                    tasks.incrementAndGet();
                    single.execute(r);
                  })
              .build();
      node.start();
      try {
        TestCluster.await(
            "n1 leads",
            Duration.ofSeconds(10),
            () -> node.status() != null && node.status().role() == Role.LEADER);
        int before = tasks.get();
        List<CompletableFuture<Result>> futures = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
          CompletableFuture<Result> f = node.submit(TestCluster.put("k" + (i % 100), "v" + i));
          futures.add(f);
        }
        CompletableFuture.allOf(futures.toArray(new CompletableFuture<?>[0]))
            .get(30, TimeUnit.SECONDS);
        int used = tasks.get() - before;
        // Unbatched, every command cost one executor task; batched, one per applied batch.
        assertThat(used).isLessThan(n / 4);
        List<Long> indexes = new ArrayList<>(n);
        for (CompletableFuture<Result> f : futures) {
          indexes.add(f.join().index());
        }
        // One submitter: log order is submission order, and every command has its own entry.
        assertThat(indexes).isSorted().doesNotHaveDuplicates();
      } finally {
        node.close();
      }
    } finally {
      single.shutdownNow();
    }
  }
}
