package org.flotilla.raft.sim;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.flotilla.raft.sim.CasRegisterModel.Cas;
import org.flotilla.raft.sim.LinearizabilityChecker.Result;
import org.flotilla.raft.sim.LinearizabilityChecker.Verdict;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;

/** The checker on histories small enough to decide by hand. */
class LinearizabilityCheckerTest {

  private static final Duration TIMEOUT = Duration.ofSeconds(10);
  private static final String K = "k";

  private static Operation get(int client, Object read, long invoke, long complete) {
    return Operation.ok(client, K, CasRegisterModel.GET, null, read, invoke, complete);
  }

  private static Operation put(int client, Object value, long invoke, long complete) {
    return Operation.ok(client, K, CasRegisterModel.PUT, value, null, invoke, complete);
  }

  private static Operation cas(
      int client, Object expect, Object value, boolean swapped, long invoke, long complete) {
    return Operation.ok(
        client, K, CasRegisterModel.CAS, new Cas(expect, value), swapped, invoke, complete);
  }

  private static Result check(Operation... ops) {
    return LinearizabilityChecker.check(List.of(ops), new CasRegisterModel(), TIMEOUT);
  }

  private static Verdict verdict(Operation... ops) {
    return check(ops).verdict();
  }

  @Nested
  @DisplayName("Real-time order")
  class RealTimeOrder {

    @Test
    void emptyHistoryIsLinearizable() {
      assertThat(verdict()).isEqualTo(Verdict.LINEARIZABLE);
    }

    @Test
    void readOfWrittenValueAfterWriteIsLinearizable() {
      assertThat(verdict(put(0, 1, 0, 1), get(1, 1, 2, 3))).isEqualTo(Verdict.LINEARIZABLE);
    }

    @Test
    void staleReadAfterCompletedWriteIsNotLinearizable() {
      assertThat(verdict(put(0, 1, 0, 1), get(1, null, 2, 3))).isEqualTo(Verdict.NOT_LINEARIZABLE);
    }

    @Test
    void readConcurrentWithWriteMaySeeTheOldValue() {
      assertThat(verdict(put(0, 1, 0, 10), get(1, null, 2, 3))).isEqualTo(Verdict.LINEARIZABLE);
    }

    @Test
    void readConcurrentWithWriteMaySeeTheNewValue() {
      assertThat(verdict(put(0, 1, 0, 10), get(1, 1, 2, 3))).isEqualTo(Verdict.LINEARIZABLE);
    }

    @Test
    void readsDuringAWriteMustNotGoBackInTime() {
      assertThat(verdict(put(0, 1, 0, 10), get(1, 1, 2, 3), get(1, null, 4, 5)))
          .isEqualTo(Verdict.NOT_LINEARIZABLE);
    }

    @Test
    void readOfAValueNeverWrittenIsNotLinearizable() {
      assertThat(verdict(put(0, 1, 0, 10), get(1, 2, 2, 3))).isEqualTo(Verdict.NOT_LINEARIZABLE);
    }

    @Test
    void operationsWithTouchingIntervalsAreConcurrent() {
      assertThat(verdict(put(0, 1, 0, 5), get(1, null, 5, 6))).isEqualTo(Verdict.LINEARIZABLE);
    }

    @Test
    void inputOrderDoesNotMatter() {
      assertThat(verdict(get(1, null, 2, 3), put(0, 1, 0, 1))).isEqualTo(Verdict.NOT_LINEARIZABLE);
      assertThat(verdict(get(1, 1, 2, 3), put(0, 1, 0, 1))).isEqualTo(Verdict.LINEARIZABLE);
    }

    @Test
    void twoConcurrentWritesCanBeOrderedEitherWay() {
      Operation w1 = put(0, 1, 0, 10);
      Operation w2 = put(1, 2, 0, 10);
      assertThat(verdict(w1, w2, get(2, 1, 11, 12))).isEqualTo(Verdict.LINEARIZABLE);
      assertThat(verdict(w1, w2, get(2, 2, 11, 12))).isEqualTo(Verdict.LINEARIZABLE);
      assertThat(verdict(w1, w2, get(2, 1, 11, 12), get(3, 2, 13, 14)))
          .isEqualTo(Verdict.NOT_LINEARIZABLE);
    }
  }

  @Nested
  @DisplayName("Unknown and failed outcomes")
  class Outcomes {

    @Test
    void unknownWriteThatLaterShowsUpInAReadIsLinearizable() {
      Operation w = Operation.unknown(0, K, CasRegisterModel.PUT, 1, 0);
      assertThat(verdict(w, get(1, 1, 100, 101))).isEqualTo(Verdict.LINEARIZABLE);
    }

    @Test
    void unknownWriteMayNeverTakeEffect() {
      Operation w = Operation.unknown(0, K, CasRegisterModel.PUT, 1, 0);
      assertThat(verdict(w, get(1, null, 100, 101))).isEqualTo(Verdict.LINEARIZABLE);
    }

    @Test
    void unknownWriteMayTakeEffectLongAfterTheClientGaveUp() {
      Operation w =
          new Operation(0, K, CasRegisterModel.PUT, 1, null, 0, 5, Operation.Outcome.UNKNOWN);
      assertThat(verdict(w, get(1, null, 10, 11), get(1, 1, 20, 21)))
          .isEqualTo(Verdict.LINEARIZABLE);
    }

    @Test
    void unknownWriteCannotTakeEffectBeforeItsInvocation() {
      Operation w = Operation.unknown(0, K, CasRegisterModel.PUT, 1, 5);
      assertThat(verdict(get(1, 1, 0, 1), w)).isEqualTo(Verdict.NOT_LINEARIZABLE);
    }

    @Test
    void unknownWriteTakesEffectAtMostOnce() {
      Operation w = Operation.unknown(0, K, CasRegisterModel.PUT, 1, 0);
      assertThat(verdict(w, get(1, 1, 10, 11), put(1, 2, 12, 13), get(1, 1, 14, 15)))
          .isEqualTo(Verdict.NOT_LINEARIZABLE);
    }

    @Test
    void unknownReadConstrainsNothing() {
      Operation r = Operation.unknown(0, K, CasRegisterModel.GET, null, 0);
      assertThat(verdict(put(1, 1, 0, 1), r)).isEqualTo(Verdict.LINEARIZABLE);
    }

    @Test
    void unknownCasMayTakeEffect() {
      Operation c = Operation.unknown(0, K, CasRegisterModel.CAS, new Cas(1, 2), 2);
      assertThat(verdict(put(1, 1, 0, 1), c, get(1, 2, 10, 11))).isEqualTo(Verdict.LINEARIZABLE);
    }

    @Test
    void unknownCasTakesEffectOnlyIfItsCompareHolds() {
      Operation c = Operation.unknown(0, K, CasRegisterModel.CAS, new Cas(3, 2), 2);
      assertThat(verdict(put(1, 1, 0, 1), c, get(1, 2, 10, 11)))
          .isEqualTo(Verdict.NOT_LINEARIZABLE);
    }

    @Test
    void failedCasHasNoEffect() {
      Operation c = Operation.failed(0, K, CasRegisterModel.CAS, new Cas(1, 2), 2, 3);
      assertThat(verdict(put(1, 1, 0, 1), c, get(1, 1, 4, 5))).isEqualTo(Verdict.LINEARIZABLE);
      assertThat(verdict(put(1, 1, 0, 1), c, get(1, 2, 4, 5))).isEqualTo(Verdict.NOT_LINEARIZABLE);
    }

    @Test
    void failedWriteHasNoEffect() {
      Operation w = Operation.failed(0, K, CasRegisterModel.PUT, 2, 0, 1);
      assertThat(verdict(w, get(1, 2, 4, 5))).isEqualTo(Verdict.NOT_LINEARIZABLE);
    }
  }

  @Nested
  @DisplayName("Compare-and-set")
  class CompareAndSet {

    @Test
    void casFromAbsentSwapsOnAnAbsentKey() {
      assertThat(verdict(cas(0, null, 1, true, 0, 1), get(1, 1, 2, 3)))
          .isEqualTo(Verdict.LINEARIZABLE);
    }

    @Test
    void casThatSwappedMustHaveSeenItsExpectedValue() {
      assertThat(verdict(put(0, 1, 0, 1), cas(1, 2, 3, true, 2, 3)))
          .isEqualTo(Verdict.NOT_LINEARIZABLE);
    }

    @Test
    void casThatReturnedFalseMustHaveSeenAnotherValue() {
      assertThat(verdict(put(0, 1, 0, 1), cas(1, 1, 2, false, 2, 3)))
          .isEqualTo(Verdict.NOT_LINEARIZABLE);
      assertThat(verdict(put(0, 1, 0, 1), cas(1, 7, 2, false, 2, 3), get(1, 1, 4, 5)))
          .isEqualTo(Verdict.LINEARIZABLE);
    }

    @Test
    void onlyOneOfTwoConcurrentCasesFromTheSameValueSucceeds() {
      Operation a = cas(0, 1, 2, true, 2, 10);
      Operation b = cas(1, 1, 3, true, 2, 10);
      assertThat(verdict(put(2, 1, 0, 1), a, b)).isEqualTo(Verdict.NOT_LINEARIZABLE);
      assertThat(verdict(put(2, 1, 0, 1), a, cas(1, 1, 3, false, 2, 10)))
          .isEqualTo(Verdict.LINEARIZABLE);
    }
  }

  @Nested
  @DisplayName("Keys, results and budget")
  class KeysAndResults {

    @Test
    void keysAreCheckedIndependentlyAndTheViolationNamesItsKey() {
      List<Operation> ops =
          List.of(
              Operation.ok(0, "a", CasRegisterModel.PUT, 1, null, 0, 1),
              Operation.ok(1, "b", CasRegisterModel.PUT, 1, null, 0, 1),
              Operation.ok(0, "a", CasRegisterModel.GET, null, 1, 2, 3),
              Operation.ok(1, "b", CasRegisterModel.GET, null, null, 2, 3));
      Result result = LinearizabilityChecker.check(ops, new CasRegisterModel(), TIMEOUT);
      assertThat(result.verdict()).isEqualTo(Verdict.NOT_LINEARIZABLE);
      assertThat(result.key()).isEqualTo("b");
    }

    @Test
    void writeOnAnotherKeyDoesNotSatisfyARead() {
      List<Operation> ops =
          List.of(
              Operation.ok(0, "a", CasRegisterModel.PUT, 1, null, 0, 1),
              Operation.ok(1, "b", CasRegisterModel.GET, null, 1, 2, 3));
      assertThat(LinearizabilityChecker.check(ops, new CasRegisterModel(), TIMEOUT).verdict())
          .isEqualTo(Verdict.NOT_LINEARIZABLE);
    }

    @Test
    void violationNamesTheKeyThePrefixAndTheOperationsItCouldNotPlace() {
      Operation w = put(0, 1, 0, 1);
      Operation stale = get(1, null, 2, 3);
      Result result = check(w, stale);

      assertThat(result.isLinearizable()).isFalse();
      assertThat(result.key()).isEqualTo(K);
      assertThat(result.longestPrefix()).containsExactly(w);
      assertThat(result.pending()).containsExactly(stale);
      assertThat(result.message())
          .contains("key \"k\"")
          .contains("leaves the state 1")
          .contains("client 1: get(\"k\") -> null, OK [2, 3]")
          .contains("client 0: put(\"k\", 1) -> null, OK [0, 1]");
    }

    @Test
    void linearizableResultSaysSoAndNamesNoKey() {
      Result result = check(put(0, 1, 0, 1), get(1, 1, 2, 3));
      assertThat(result.isLinearizable()).isTrue();
      assertThat(result.key()).isNull();
      assertThat(result.message()).startsWith("linearizable");
    }

    /**
     * Twelve concurrent writes of distinct values followed by a read of a value nobody wrote: the
     * search must rule out every (subset, last write) pair, tens of thousands of steps.
     */
    private List<Operation> hardHistory() {
      List<Operation> ops = new ArrayList<>();
      for (int c = 0; c < 12; c++) {
        ops.add(put(c, c, 0, 100));
      }
      ops.add(get(99, -1, 101, 102));
      return ops;
    }

    @Test
    void searchOutOfTimeAnswersUnknownNeverLinearizable() {
      Result result =
          LinearizabilityChecker.check(hardHistory(), new CasRegisterModel(), Duration.ZERO);
      assertThat(result.verdict()).isEqualTo(Verdict.UNKNOWN);
      assertThat(result.key()).isEqualTo(K);
      assertThat(result.message()).contains("ran out of its time budget");
    }

    @Test
    void hardHistoryIsDecidedWithEnoughTime() {
      assertThat(LinearizabilityChecker.check(hardHistory(), new CasRegisterModel(), TIMEOUT))
          .extracting(Result::verdict)
          .isEqualTo(Verdict.NOT_LINEARIZABLE);
    }

    @Test
    void negativeTimeoutIsRejected() {
      assertThatThrownBy(
              () ->
                  LinearizabilityChecker.check(
                      List.of(), new CasRegisterModel(), Duration.ofSeconds(-1)))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("negative timeout");
    }

    @Test
    void operationTheModelDoesNotKnowIsRejected() {
      Operation odd = Operation.ok(0, K, "increment", 1, null, 0, 1);
      assertThatThrownBy(() -> check(odd))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("increment");
    }
  }

  @Nested
  @DisplayName("Append model")
  class AppendModel {

    private Operation append(int client, String s, long invoke, long complete) {
      return Operation.ok(client, K, AppendStringModel.APPEND, s, null, invoke, complete);
    }

    private Operation read(int client, String s, long invoke, long complete) {
      return Operation.ok(client, K, AppendStringModel.GET, null, s, invoke, complete);
    }

    private Verdict appendVerdict(Operation... ops) {
      return LinearizabilityChecker.check(List.of(ops), new AppendStringModel(), TIMEOUT).verdict();
    }

    @Test
    void keysStartEmpty() {
      assertThat(appendVerdict(read(0, "", 0, 1))).isEqualTo(Verdict.LINEARIZABLE);
    }

    @Test
    void concurrentAppendsMayLandInEitherOrder() {
      Operation a = append(0, "a", 0, 10);
      Operation b = append(1, "b", 0, 10);
      assertThat(appendVerdict(a, b, read(2, "ab", 11, 12))).isEqualTo(Verdict.LINEARIZABLE);
      assertThat(appendVerdict(a, b, read(2, "ba", 11, 12))).isEqualTo(Verdict.LINEARIZABLE);
    }

    @Test
    void readAfterBothAppendsMustSeeBoth() {
      Operation a = append(0, "a", 0, 10);
      Operation b = append(1, "b", 0, 10);
      assertThat(appendVerdict(a, b, read(2, "a", 11, 12))).isEqualTo(Verdict.NOT_LINEARIZABLE);
    }

    @Test
    void putReplacesTheString() {
      Operation p = Operation.ok(0, K, AppendStringModel.PUT, "x", null, 2, 3);
      assertThat(appendVerdict(append(0, "a", 0, 1), p, read(1, "x", 4, 5)))
          .isEqualTo(Verdict.LINEARIZABLE);
    }
  }

  /**
   * Histories with many operations of unknown outcome (time-outs during a partition): without
   * pruning, k of them give 2<sup>k</sup> linearized sets, and these could not be decided in the
   * budget.
   */
  @Nested
  class ManyUnknownOutcomes {

    /** A counter: "add" adds its input, "read" returns the sum. */
    private final Model<Long> counter =
        new Model<>() {
          @Override
          public Long init() {
            return 0L;
          }

          @Override
          public Long step(Long sum, Operation op) {
            if (op.kind().equals("add")) {
              return sum + (Long) op.input();
            }
            return op.output().equals(sum) ? sum : null;
          }

          @Override
          public boolean isReadOnly(Operation op) {
            return op.kind().equals("read");
          }
        };

    private List<Operation> unknownAdds(int count) {
      List<Operation> ops = new ArrayList<>();
      for (int i = 0; i < count; i++) {
        ops.add(Operation.unknown(i, K, "add", 1L, i));
      }
      return ops;
    }

    private Verdict counterVerdict(List<Operation> ops) {
      return LinearizabilityChecker.check(ops, counter, TIMEOUT).verdict();
    }

    @Test
    void anyNumberOfUnknownAddsMayHaveTakenEffect() {
      List<Operation> ops = unknownAdds(60);
      ops.add(Operation.ok(99, K, "read", null, 17L, 100, 101));
      ops.add(Operation.ok(99, K, "read", null, 60L, 102, 103));
      assertThat(counterVerdict(ops)).isEqualTo(Verdict.LINEARIZABLE);
    }

    @Test
    void noMoreUnknownAddsThanWereInvokedTookEffect() {
      List<Operation> ops = unknownAdds(60);
      ops.add(Operation.ok(99, K, "read", null, 61L, 100, 101));
      assertThat(counterVerdict(ops)).isEqualTo(Verdict.NOT_LINEARIZABLE);
    }

    @Test
    void aCounterNeverGoesBackwards() {
      List<Operation> ops = unknownAdds(60);
      ops.add(Operation.ok(99, K, "read", null, 30L, 100, 101));
      ops.add(Operation.ok(99, K, "read", null, 29L, 102, 103));
      assertThat(counterVerdict(ops)).isEqualTo(Verdict.NOT_LINEARIZABLE);
    }

    @Test
    void unknownWritesOfARegisterTakeEffectInAnyOrderOnce() {
      List<Operation> ops = new ArrayList<>();
      for (int i = 0; i < 60; i++) {
        ops.add(Operation.unknown(i, K, CasRegisterModel.PUT, i, i));
      }
      ops.add(get(99, 5, 100, 101));
      ops.add(get(99, 42, 102, 103));
      ops.add(get(99, 7, 104, 105));
      assertThat(LinearizabilityChecker.check(ops, new CasRegisterModel(), TIMEOUT).verdict())
          .isEqualTo(Verdict.LINEARIZABLE);
      ops.add(get(99, 42, 106, 107)); // 42 took effect once, before 7
      assertThat(LinearizabilityChecker.check(ops, new CasRegisterModel(), TIMEOUT).verdict())
          .isEqualTo(Verdict.NOT_LINEARIZABLE);
    }
  }
}
