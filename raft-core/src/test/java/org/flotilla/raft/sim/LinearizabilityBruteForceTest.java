package org.flotilla.raft.sim;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.stream.Collectors;
import org.flotilla.raft.sim.CasRegisterModel.Cas;
import org.flotilla.raft.sim.LinearizabilityChecker.Verdict;
import org.junit.jupiter.api.Test;

/**
 * The checker agrees with the definition of linearizability, tried by brute force (every order that
 * respects real time) on thousands of small random histories. Each history comes from its own seed,
 * printed on failure; replay one with {@code -Dflotilla.lincheck.seed=N}.
 */
class LinearizabilityBruteForceTest {

  private static final int HISTORIES = 3000;
  private static final Object[] VALUES = {1, 2};

  @Test
  void checkerAgreesWithBruteForceOnRandomSmallHistories() {
    agreeWithBruteForce(1);
  }

  /**
   * Many outcomes unknown (four in ten), so that the checker's rules for them (subsumption, twins
   * in invocation order, a write that overwrites an unknown write) are tried often.
   */
  @Test
  void checkerAgreesWithBruteForceWhenManyOutcomesAreUnknown() {
    agreeWithBruteForce(4);
  }

  private static void agreeWithBruteForce(int unknownInTen) {
    String only = System.getProperty("flotilla.lincheck.seed", "");
    long first = only.isBlank() ? 1 : Long.parseLong(only);
    long last = only.isBlank() ? HISTORIES : first;
    int linearizable = 0;
    int violations = 0;
    CasRegisterModel model = new CasRegisterModel();
    for (long seed = first; seed <= last; seed++) {
      List<Operation> ops = randomHistory(new SplittableRandom(seed), unknownInTen);
      boolean expected = bruteForce(ops, model);
      Verdict verdict = LinearizabilityChecker.check(ops, model, Duration.ofSeconds(10)).verdict();
      assertThat(verdict)
          .as("seed %d (replay: -Dflotilla.lincheck.seed=%d), history:%n%s", seed, seed, ops)
          .isEqualTo(expected ? Verdict.LINEARIZABLE : Verdict.NOT_LINEARIZABLE);
      if (expected) {
        linearizable++;
      } else {
        violations++;
      }
    }
    if (only.isBlank()) { // the random histories must exercise both answers
      assertThat(linearizable).isGreaterThan(HISTORIES / 10);
      assertThat(violations).isGreaterThan(HISTORIES / 10);
    }
  }

  /** Three clients, each running up to three operations one after another on keys a and b. */
  private static List<Operation> randomHistory(SplittableRandom r, int unknownInTen) {
    List<Operation> ops = new ArrayList<>();
    for (int client = 0; client < 3; client++) {
      long t = r.nextInt(4);
      int count = 1 + r.nextInt(3);
      for (int i = 0; i < count; i++) {
        long invoke = t;
        long complete = invoke + r.nextInt(5);
        t = complete + r.nextInt(3);
        String key = r.nextInt(4) == 0 ? "b" : "a";
        Object v = VALUES[r.nextInt(VALUES.length)];
        int kind = r.nextInt(3);
        String name =
            kind == 0
                ? CasRegisterModel.GET
                : kind == 1 ? CasRegisterModel.PUT : CasRegisterModel.CAS;
        Object input =
            kind == 0 ? null : kind == 1 ? v : new Cas(r.nextInt(3) == 0 ? null : pick(r), v);
        Object output =
            kind == 0 ? (r.nextInt(3) == 0 ? null : pick(r)) : kind == 2 ? r.nextBoolean() : null;
        int outcome = r.nextInt(10);
        if (outcome < unknownInTen) {
          ops.add(Operation.unknown(client, key, name, input, invoke));
        } else if (outcome == unknownInTen) {
          ops.add(Operation.failed(client, key, name, input, invoke, complete));
        } else {
          ops.add(Operation.ok(client, key, name, input, output, invoke, complete));
        }
      }
    }
    return ops;
  }

  private static Object pick(SplittableRandom r) {
    return VALUES[r.nextInt(VALUES.length)];
  }

  /** Linearizable iff every key's operations have a legal order: the definition, tried in full. */
  private static <S> boolean bruteForce(List<Operation> ops, Model<S> model) {
    Map<String, List<Operation>> byKey =
        ops.stream()
            .filter(op -> op.outcome() != Operation.Outcome.FAILED) // did not take effect
            .collect(Collectors.groupingBy(Operation::key));
    for (List<Operation> keyOps : byKey.values()) {
      if (!order(keyOps, new boolean[keyOps.size()], model.init(), model)) {
        return false;
      }
    }
    return true;
  }

  private static <S> boolean order(List<Operation> ops, boolean[] done, S state, Model<S> model) {
    boolean knownLeft = false;
    for (int i = 0; i < ops.size(); i++) {
      knownLeft |= !done[i] && ops.get(i).outcome() == Operation.Outcome.OK;
    }
    if (!knownLeft) {
      return true; // unknown operations left over never took effect
    }
    for (int i = 0; i < ops.size(); i++) {
      if (done[i] || !canGoNext(ops, done, i)) {
        continue;
      }
      S after = model.step(state, ops.get(i));
      if (after != null) {
        done[i] = true;
        if (order(ops, done, after, model)) {
          return true;
        }
        done[i] = false;
      }
    }
    return false;
  }

  /** No operation left to place completed before op i was invoked. */
  private static boolean canGoNext(List<Operation> ops, boolean[] done, int i) {
    for (int j = 0; j < ops.size(); j++) {
      Operation other = ops.get(j);
      if (!done[j]
          && other.outcome() == Operation.Outcome.OK
          && other.completeTime() < ops.get(i).invokeTime()) {
        return false;
      }
    }
    return true;
  }
}
