package org.flotilla.raft.sim;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.flotilla.raft.sim.CasRegisterModel.Cas;
import org.flotilla.raft.sim.LinearizabilityChecker.Verdict;
import org.junit.jupiter.api.Test;

/** The recorder: outcomes, times from its clock, bounds, and recording from many threads. */
class HistoryTest {

  private static final String[] VALUES = {"a", "b", "c", "d", "e"};

  private final AtomicLong ticks = new AtomicLong();
  private final History history = new History(4, ticks::incrementAndGet);

  @Test
  void recordsEachOutcomeWithTimesFromTheClock() {
    History.Handle read = history.invoke(1, "k", CasRegisterModel.GET, null); // t=1
    History.Handle write = history.invoke(2, "k", CasRegisterModel.PUT, "v"); // t=2
    History.Handle lost = history.invoke(3, "k", CasRegisterModel.PUT, "w"); // t=3
    history.ok(read, "x"); // t=4
    history.fail(write); // t=5
    history.unknown(lost); // t=6

    assertThat(history.operations())
        .containsExactly(
            new Operation(1, "k", "get", null, "x", 1, 4, Operation.Outcome.OK),
            new Operation(2, "k", "put", "v", null, 2, 5, Operation.Outcome.FAILED),
            new Operation(3, "k", "put", "w", null, 3, 6, Operation.Outcome.UNKNOWN));
  }

  @Test
  void operationNotYetCompletedIsUnknownAndNeverCompletes() {
    History.Handle h = history.invoke(1, "k", CasRegisterModel.PUT, "v");
    assertThat(history.operations())
        .containsExactly(Operation.unknown(1, "k", CasRegisterModel.PUT, "v", 1));
    assertThat(h.operation().completeTime()).isEqualTo(Long.MAX_VALUE);
  }

  @Test
  void completingTwiceIsABug() {
    History.Handle h = history.invoke(1, "k", CasRegisterModel.PUT, "v");
    history.ok(h, null);
    assertThatThrownBy(() -> history.fail(h))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("already completed");
    assertThat(history.operations())
        .extracting(Operation::outcome)
        .containsExactly(Operation.Outcome.OK);
  }

  @Test
  void fullHistoryRefusesMoreOperations() {
    for (int i = 0; i < 4; i++) {
      history.invoke(i, "k", CasRegisterModel.GET, null);
    }
    assertThatThrownBy(() -> history.invoke(9, "k", CasRegisterModel.GET, null))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("history is full: 4");
    assertThat(history.size()).isEqualTo(4);
    assertThat(history.operations()).hasSize(4);
  }

  @Test
  void nonPositiveCapacityIsRejected() {
    assertThatThrownBy(() -> new History(0, ticks::get))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("capacity");
  }

  /**
   * Four threads run gets, puts and compare-and-sets on two atomic registers, a linearizable store
   * by construction, recording with the real clock: the recorded history must check linearizable.
   */
  @Test
  void historyRecordedFromManyThreadsOfALinearizableStoreIsLinearizable() throws Exception {
    int threads = 4;
    int perThread = 400;
    History shared = new History(threads * perThread, System::nanoTime);
    List<AtomicReference<String>> registers =
        List.of(new AtomicReference<>(), new AtomicReference<>());
    ExecutorService pool = Executors.newFixedThreadPool(threads);
    try {
      List<Future<?>> done = new ArrayList<>();
      for (int t = 0; t < threads; t++) {
        int client = t;
        done.add(pool.submit(() -> runClient(client, perThread, shared, registers)));
      }
      for (Future<?> f : done) {
        f.get(30, TimeUnit.SECONDS);
      }
    } finally {
      pool.shutdownNow();
      assertThat(pool.awaitTermination(10, TimeUnit.SECONDS)).isTrue();
    }

    assertThat(shared.size()).isEqualTo(threads * perThread);
    LinearizabilityChecker.Result result =
        LinearizabilityChecker.check(shared, new CasRegisterModel(), Duration.ofSeconds(30));
    assertThat(result.verdict()).as(result.message()).isEqualTo(Verdict.LINEARIZABLE);
  }

  private static void runClient(
      int client, int count, History h, List<AtomicReference<String>> registers) {
    SplittableRandom r = new SplittableRandom(client);
    for (int i = 0; i < count; i++) {
      int k = r.nextInt(registers.size());
      AtomicReference<String> register = registers.get(k);
      String key = "k" + k;
      String value = VALUES[r.nextInt(VALUES.length)]; // shared constants: == is equals
      switch (r.nextInt(3)) {
        case 0 -> {
          History.Handle op = h.invoke(client, key, CasRegisterModel.GET, null);
          h.ok(op, register.get());
        }
        case 1 -> {
          History.Handle op = h.invoke(client, key, CasRegisterModel.PUT, value);
          register.set(value);
          h.ok(op, null);
        }
        default -> {
          String expect = r.nextInt(4) == 0 ? null : VALUES[r.nextInt(VALUES.length)];
          History.Handle op = h.invoke(client, key, CasRegisterModel.CAS, new Cas(expect, value));
          h.ok(op, register.compareAndSet(expect, value));
        }
      }
    }
  }
}
