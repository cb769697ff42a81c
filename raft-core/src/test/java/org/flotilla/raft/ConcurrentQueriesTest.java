package org.flotilla.raft;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.flotilla.raft.cluster.Member;
import org.flotilla.raft.memory.MemoryNetwork;
import org.flotilla.raft.testkit.TestCluster;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * {@link StateMachine#concurrentQueries()}: a read whose index is applied is answered on the event
 * loop when the state machine allows it and on the apply thread otherwise, and reads answered on
 * the event loop, beside a writer, stay linearizable.
 *
 * <p>Real threads are the point here, so this test does not run in virtual time (where every worker
 * runs on the test's thread): what it checks is which of the node's threads runs a query (named
 * {@code -loop} or {@code -apply}), and that queries on the event loop, racing the apply thread's
 * writes to the state machine, never see a stale value. It never sleeps for a fixed time: it blocks
 * on futures with a deadline, and waits for a leader by checking for one every few milliseconds
 * until a deadline ({@link TestCluster#awaitLeader}).
 */
@Timeout(120)
class ConcurrentQueriesTest {

  private static final Duration WAIT = Duration.ofSeconds(20);

  private static <T> T join(CompletableFuture<T> f) throws Exception {
    return f.get(20, TimeUnit.SECONDS);
  }

  private static TestCluster cluster(MemoryNetwork net, boolean concurrent) {
    return new TestCluster(
            Member::of,
            id -> net.transport(),
            id -> new TestCluster.MemoryStores(),
            TestCluster.fastOptions().build())
        .withConcurrentQueries(concurrent)
        .start("n1", "n2", "n3");
  }

  /** The leader's read after its own applied write: its index is applied when it is confirmed. */
  private static List<String> leaderQueryThreads(boolean concurrent) throws Exception {
    try (MemoryNetwork net = MemoryNetwork.create();
        TestCluster c = cluster(net, concurrent)) {
      RaftNode leader = c.awaitLeader(WAIT);
      join(leader.submit(TestCluster.put("x", "1")));
      for (ReadConsistency consistency :
          List.of(ReadConsistency.LINEARIZABLE, ReadConsistency.LEASE)) {
        Result r = join(leader.read(TestCluster.get("x"), consistency));
        assertThat(TestCluster.string(r.value())).isEqualTo("1");
        assertThat(r.index()).isGreaterThanOrEqualTo(2);
      }
      return new ArrayList<>(c.machine(leader.id()).queryThreads());
    }
  }

  @Test
  void aReadWhoseIndexIsAppliedIsAnsweredOnTheEventLoopWhenTheMachineAllowsIt() throws Exception {
    assertThat(leaderQueryThreads(true)).singleElement().asString().endsWith("-loop");
  }

  @Test
  void byDefaultEveryQueryRunsOnTheApplyThread() throws Exception {
    assertThat(leaderQueryThreads(false)).singleElement().asString().endsWith("-apply");
  }

  /**
   * One writer sets a counter to 1, 2, 3, ... one acknowledged write at a time; readers on the
   * leader and on a follower read it without pause. Each read must return at least the value whose
   * write was acknowledged before the read began (no stale read), and what one reader sees never
   * goes back (reads are ordered).
   */
  @Test
  void readsOnTheEventLoopBesideAWriterAreNeverStale() throws Exception {
    try (MemoryNetwork net = MemoryNetwork.create();
        TestCluster c = cluster(net, true)) {
      RaftNode leader = c.awaitLeader(WAIT);
      RaftNode follower =
          c.nodes().values().stream().filter(n -> n != leader).findFirst().orElseThrow();
      join(leader.submit(TestCluster.put("c", "0")));
      AtomicLong acknowledged = new AtomicLong();
      AtomicBoolean done = new AtomicBoolean();
      ExecutorService readers = Executors.newFixedThreadPool(4);
      try {
        List<Future<Long>> results = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
          RaftNode target = i % 2 == 0 ? leader : follower;
          results.add(
              readers.submit(
                  () -> {
                    long last = 0;
                    long reads = 0;
                    while (!done.get()) {
                      long floor = acknowledged.get();
                      Result r = join(target.read(TestCluster.get("c")));
                      long seen = Long.parseLong(TestCluster.string(r.value()));
                      assertThat(seen)
                          .as("read after %d was acknowledged", floor)
                          .isGreaterThanOrEqualTo(floor);
                      assertThat(seen)
                          .as("what one reader saw went back")
                          .isGreaterThanOrEqualTo(last);
                      last = seen;
                      reads++;
                    }
                    return reads;
                  }));
        }
        for (long v = 1; v <= 300; v++) {
          join(leader.submit(TestCluster.put("c", Long.toString(v))));
          acknowledged.set(v);
        }
        done.set(true);
        long total = 0;
        for (Future<Long> f : results) {
          total += f.get(30, TimeUnit.SECONDS);
        }
        assertThat(total).isPositive();
      } finally {
        done.set(true);
        readers.shutdownNow();
      }
      // The leader answered at least some reads on its event loop: the path under test ran.
      assertThat(c.machine(leader.id()).queryThreads()).anyMatch(t -> t.endsWith("-loop"));
    }
  }
}
