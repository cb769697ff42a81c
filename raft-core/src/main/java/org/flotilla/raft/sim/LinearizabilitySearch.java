package org.flotilla.raft.sim;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * The search for a linearization of the operations on one key: Wing &amp; Gong's backtracking
 * search (1993) with Lowe's memoization of (linearized set, state) pairs (2017), as Porcupine's
 * {@code checkSingle} does it.
 *
 * <p>The calls and returns of all operations sit in one doubly-linked list ordered by time, kept in
 * arrays. The search walks the list from its head: at a call it tries to linearize that operation
 * next (the model accepts it, and the resulting (set, state) pair is new), and if so lifts the call
 * and its return out of the list and starts again from the head; at a return it has failed to
 * linearize the operation before it completed, so it backtracks: it pops the last linearized
 * operation, puts its entries back, and tries the call after it. All operations placed:
 * linearizable. Nothing left to pop: not linearizable.
 *
 * <p>Operations of unknown outcome return at +infinity, after every other return. Reaching such a
 * return means every operation with a known outcome is placed; the rest are taken never to have
 * taken effect, which an unknown outcome allows, so the search succeeds there.
 *
 * <p>Not thread-safe; confined to the thread that runs {@link #run}, once.
 */
final class LinearizabilitySearch<S> {

  /** What {@link #run} found. */
  enum Found {
    LINEARIZABLE,
    NOT_LINEARIZABLE,
    TIMED_OUT
  }

  private static final int HEAD = 0;
  private static final int NIL = -1;
  private static final int DEADLINE_CHECK_MASK = 1023;

  private final Model<S> model;
  private final Operation[] ops;
  private final long deadlineNanos;

  // The entry list: node 0 is the head; nodes 1..2n are calls and returns in time order.
  private final int[] next;
  private final int[] prev;
  private final int[] opOf; // the operation of each node
  private final int[] match; // for a call: its return node; for a return: NIL
  private final boolean[] unknown; // per operation: outcome UNKNOWN, so it returns at +infinity
  private final long[] zobrist; // per operation: a random-looking 64-bit key for the set's hash
  // per operation of unknown outcome: the latest one invoked before it with the same kind and
  // input (its twin), or NIL; a twin must be linearized first (see tryLinearize)
  private final int[] earlierTwin;

  // The linearized set, as bits over operation indexes: the operations of known outcome and those
  // of unknown outcome apart, and the hash of the known part (xor of their zobrist keys).
  private final long[] linearizedKnown;
  private final long[] linearizedUnknown;
  private long knownHash;
  private final MemoTable memo = new MemoTable();

  // The stack of linearized calls and the state before each. invariant: depth <= n
  private final int[] stackCall;
  private final Object[] stackState;
  private int depth;

  // The deepest failure seen, for the report.
  private int bestDepth = -1;
  private List<Operation> bestPrefix = List.of();
  private List<Operation> bestPending = List.of();
  private Operation bestBlocked;
  private Object bestState;

  LinearizabilitySearch(Model<S> model, List<Operation> keyOps, long deadlineNanos) {
    this.model = model;
    this.ops = keyOps.toArray(new Operation[0]);
    this.deadlineNanos = deadlineNanos;
    int n = ops.length;
    next = new int[2 * n + 1];
    prev = new int[2 * n + 1];
    opOf = new int[2 * n + 1];
    match = new int[2 * n + 1];
    unknown = new boolean[n];
    zobrist = new long[n];
    earlierTwin = new int[n];
    linearizedKnown = new long[(n + 63) >>> 6];
    linearizedUnknown = new long[(n + 63) >>> 6];
    stackCall = new int[n];
    stackState = new Object[n];
    for (int i = 0; i < n; i++) {
      unknown[i] = ops[i].outcome() == Operation.Outcome.UNKNOWN;
      zobrist[i] = mix(0x9E3779B97F4A7C15L * (i + 1));
    }
    buildList();
    findTwins();
  }

  /** Links each operation of unknown outcome to its latest earlier-invoked twin. */
  private void findTwins() {
    Integer[] byInvoke = new Integer[ops.length];
    for (int i = 0; i < ops.length; i++) {
      byInvoke[i] = i;
      earlierTwin[i] = NIL;
    }
    Arrays.sort(
        byInvoke,
        (a, b) ->
            ops[a].invokeTime() != ops[b].invokeTime()
                ? Long.compare(ops[a].invokeTime(), ops[b].invokeTime())
                : Integer.compare(a, b));
    Map<List<Object>, Integer> latest = new HashMap<>();
    for (int op : byInvoke) {
      if (unknown[op]) {
        Integer twin = latest.put(Arrays.asList(ops[op].kind(), ops[op].input()), op);
        earlierTwin[op] = twin == null ? NIL : twin;
      }
    }
  }

  private long returnTime(int op) {
    return unknown[op] ? Long.MAX_VALUE : ops[op].completeTime();
  }

  /**
   * Sorts the 2n events by time, calls before returns at equal times (so that touching intervals
   * count as concurrent, which can only allow more orders) and known returns before unknown ones,
   * and links them into the list.
   */
  private void buildList() {
    int n = ops.length;
    Integer[] events = new Integer[2 * n]; // e < n: call of op e; e >= n: return of op e - n
    for (int e = 0; e < 2 * n; e++) {
      events[e] = e;
    }
    Arrays.sort(
        events,
        (a, b) -> {
          long ta = a < n ? ops[a].invokeTime() : returnTime(a - n);
          long tb = b < n ? ops[b].invokeTime() : returnTime(b - n);
          if (ta != tb) {
            return Long.compare(ta, tb);
          }
          int ka = a < n ? 0 : unknown[a - n] ? 2 : 1;
          int kb = b < n ? 0 : unknown[b - n] ? 2 : 1;
          return ka != kb ? Integer.compare(ka, kb) : Integer.compare(a, b);
        });
    int[] callNode = new int[n];
    int[] returnNode = new int[n];
    for (int i = 0; i < 2 * n; i++) {
      int node = i + 1;
      int e = events[i];
      if (e < n) {
        callNode[e] = node;
        opOf[node] = e;
      } else {
        returnNode[e - n] = node;
        opOf[node] = e - n;
        match[node] = NIL;
      }
      prev[node] = node - 1;
      next[node] = node == 2 * n ? NIL : node + 1;
    }
    next[HEAD] = n == 0 ? NIL : 1;
    prev[HEAD] = NIL;
    opOf[HEAD] = NIL;
    match[HEAD] = NIL;
    for (int op = 0; op < n; op++) {
      match[callNode[op]] = returnNode[op];
    }
  }

  /** Searches for a linearization; call once. */
  Found run() {
    S state = model.init();
    int entry = next[HEAD];
    long steps = 0;
    while (entry != NIL) {
      if ((++steps & DEADLINE_CHECK_MASK) == 0 && System.nanoTime() - deadlineNanos >= 0) {
        return Found.TIMED_OUT;
      }
      int op = opOf[entry];
      if (match[entry] != NIL) { // a call: try to linearize op next
        S after = model.step(state, ops[op]);
        if (after != null && !overwritesLast(op, after) && tryLinearize(op, after)) {
          stackCall[depth] = entry;
          stackState[depth] = state;
          depth++;
          state = after;
          lift(entry);
          entry = next[HEAD];
        } else {
          entry = next[entry];
        }
      } else if (unknown[op]) { // a return at +infinity: every known operation is placed
        return Found.LINEARIZABLE;
      } else { // op must have been linearized before it returned: backtrack
        if (depth > bestDepth) {
          remember(entry, state);
        }
        if (depth == 0) {
          return Found.NOT_LINEARIZABLE;
        }
        depth--;
        entry = stackCall[depth];
        state = stateAt(depth);
        stackState[depth] = null;
        unmark(opOf[entry]);
        unlift(entry);
        entry = next[entry];
      }
    }
    return Found.LINEARIZABLE;
  }

  /**
   * Tells whether op, of unknown outcome, would make the operation linearized just before it, also
   * of unknown outcome and not its twin, wasted: placing op alone in that one's stead leaves the
   * same state (a write overwriting a write). That configuration has a smaller set of the same
   * known operations and state, and the search reaches it from the one below on the stack, so this
   * one adds nothing. Without this rule a run of k unknown writes is explored as chains of every
   * subset before the subsumption of {@link #tryLinearize} can cut them.
   */
  private boolean overwritesLast(int op, S after) {
    if (!unknown[op] || depth == 0) {
      return false;
    }
    int last = opOf[stackCall[depth - 1]];
    if (!unknown[last] || isTwin(last, op)) {
      return false;
    }
    S alone = model.step(stateAt(depth - 1), ops[op]);
    return after.equals(alone);
  }

  private boolean isTwin(int a, int b) {
    return ops[a].kind().equals(ops[b].kind()) && Objects.equals(ops[a].input(), ops[b].input());
  }

  @SuppressWarnings("unchecked") // stackState only ever holds states of type S
  private S stateAt(int i) {
    return (S) stackState[i];
  }

  /**
   * Marks op linearized unless the configuration it leads to is subsumed by one already explored:
   * one with the same operations of known outcome linearized, the same state, and a subset of the
   * operations of unknown outcome. Such a configuration can do all this one can (an operation of
   * unknown outcome may be left out forever and constrains no other operation's order), so if it
   * failed this one fails too, and if it is on the current path its own search covers this one.
   * This keeps a run of k unknown writes from multiplying the configurations by 2<sup>k</sup>.
   */
  private boolean tryLinearize(int op, S after) {
    int twin = earlierTwin[op];
    if (twin != NIL && (linearizedUnknown[twin >>> 6] & (1L << twin)) == 0) {
      // Twins of unknown outcome (same kind and input) step alike and constrain nothing, and the
      // earlier one can be placed wherever the later one can: linearizing them only in invocation
      // order loses no linearization, and keeps k twins from giving 2^k sets.
      return false;
    }
    long[] part = unknown[op] ? linearizedUnknown : linearizedKnown;
    part[op >>> 6] |= 1L << op;
    long hash = unknown[op] ? knownHash : knownHash ^ zobrist[op];
    if (memo.add(linearizedKnown, linearizedUnknown, mix(hash + 31L * after.hashCode()), after)) {
      knownHash = hash;
      return true;
    }
    part[op >>> 6] &= ~(1L << op);
    return false;
  }

  private void unmark(int op) {
    if (unknown[op]) {
      linearizedUnknown[op >>> 6] &= ~(1L << op);
    } else {
      linearizedKnown[op >>> 6] &= ~(1L << op);
      knownHash ^= zobrist[op];
    }
  }

  /** Takes a call and its return out of the list. */
  private void lift(int call) {
    next[prev[call]] = next[call];
    prev[next[call]] = prev[call]; // a call's next is never NIL: its return follows
    int ret = match[call];
    next[prev[ret]] = next[ret];
    if (next[ret] != NIL) {
      prev[next[ret]] = prev[ret];
    }
  }

  /** Puts a lifted call and its return back, in the reverse order of {@link #lift}. */
  private void unlift(int call) {
    int ret = match[call];
    next[prev[ret]] = ret;
    if (next[ret] != NIL) {
      prev[next[ret]] = ret;
    }
    next[prev[call]] = call;
    prev[next[call]] = call;
  }

  /** Records the current failure as the deepest so far: prefix, pending calls, blocked return. */
  private void remember(int blockedReturn, S state) {
    bestDepth = depth;
    List<Operation> prefix = new ArrayList<>(depth);
    for (int i = 0; i < depth; i++) {
      prefix.add(ops[opOf[stackCall[i]]]);
    }
    List<Operation> pending = new ArrayList<>();
    for (int e = next[HEAD]; e != blockedReturn; e = next[e]) {
      pending.add(ops[opOf[e]]); // only calls precede the first remaining return
    }
    bestPrefix = prefix;
    bestPending = pending;
    bestBlocked = ops[opOf[blockedReturn]];
    bestState = state;
  }

  /** The longest linearizable prefix found before the search failed. */
  List<Operation> longestPrefix() {
    return bestPrefix;
  }

  /** The operations invoked but not placed at the deepest failure (the blocked one included). */
  List<Operation> pending() {
    return bestPending;
  }

  /** The operation that completed before any order could place it, at the deepest failure. */
  Operation blocked() {
    return bestBlocked;
  }

  /** Describes the state after the longest prefix. */
  @SuppressWarnings("unchecked") // bestState is a state of type S
  String describeState() {
    return bestState == null ? "" : model.describe((S) bestState);
  }

  /** Stafford's mix13 finalizer (as in SplittableRandom): spreads hash bits. */
  static long mix(long z) {
    z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
    z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
    return z ^ (z >>> 31);
  }

  /**
   * The explored configurations, grouped by (linearized operations of known outcome, state): open
   * addressing with linear probing over parallel arrays, so a lookup allocates nothing. Each group
   * keeps the sets of operations of unknown outcome it was reached with, minus any that contain
   * another (they are subsumed).
   */
  private static final class MemoTable {
    private long[] hashes = new long[1024];
    private long[][] knownSets = new long[1024][];
    private Object[] states = new Object[1024];
    private List<?>[] unknownSets = new List<?>[1024];
    private int size;

    /**
     * Adds the configuration unless a configuration that subsumes it is present; returns whether it
     * was added.
     */
    boolean add(long[] known, long[] unknown, long hash, Object state) {
      int mask = knownSets.length - 1;
      int i = (int) hash & mask;
      while (knownSets[i] != null) {
        if (hashes[i] == hash && Arrays.equals(knownSets[i], known) && states[i].equals(state)) {
          return addUnknownSet(unknownSetsAt(i), unknown);
        }
        i = (i + 1) & mask;
      }
      hashes[i] = hash;
      knownSets[i] = known.clone();
      states[i] = state;
      List<long[]> sets = new ArrayList<>(1);
      sets.add(unknown.clone());
      unknownSets[i] = sets;
      if (++size * 2 > knownSets.length) {
        grow();
      }
      return true;
    }

    @SuppressWarnings("unchecked") // unknownSets only ever holds lists of long[]
    private List<long[]> unknownSetsAt(int i) {
      return (List<long[]>) unknownSets[i];
    }

    private static boolean addUnknownSet(List<long[]> sets, long[] unknown) {
      for (long[] explored : sets) {
        if (subset(explored, unknown)) {
          return false;
        }
      }
      sets.removeIf(explored -> subset(unknown, explored));
      sets.add(unknown.clone());
      return true;
    }

    private static boolean subset(long[] a, long[] b) {
      for (int w = 0; w < a.length; w++) {
        if ((a[w] & ~b[w]) != 0) {
          return false;
        }
      }
      return true;
    }

    private void grow() {
      long[] oldHashes = hashes;
      long[][] oldKnown = knownSets;
      Object[] oldStates = states;
      List<?>[] oldUnknown = unknownSets;
      int capacity = oldKnown.length * 2;
      hashes = new long[capacity];
      knownSets = new long[capacity][];
      states = new Object[capacity];
      unknownSets = new List<?>[capacity];
      int mask = capacity - 1;
      for (int j = 0; j < oldKnown.length; j++) {
        if (oldKnown[j] != null) {
          int i = (int) oldHashes[j] & mask;
          while (knownSets[i] != null) {
            i = (i + 1) & mask;
          }
          hashes[i] = oldHashes[j];
          knownSets[i] = oldKnown[j];
          states[i] = oldStates[j];
          unknownSets[i] = oldUnknown[j];
        }
      }
    }
  }
}
