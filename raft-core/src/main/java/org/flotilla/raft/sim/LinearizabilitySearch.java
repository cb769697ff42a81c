package org.flotilla.raft.sim;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

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

  // The linearized set, as bits over operation indexes, and its hash (xor of their zobrist keys).
  private final long[] linearized;
  private long linearizedHash;
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
    linearized = new long[(n + 63) >>> 6];
    stackCall = new int[n];
    stackState = new Object[n];
    for (int i = 0; i < n; i++) {
      unknown[i] = ops[i].outcome() == Operation.Outcome.UNKNOWN;
      zobrist[i] = mix(0x9E3779B97F4A7C15L * (i + 1));
    }
    buildList();
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
        if (after != null && tryLinearize(op, after)) {
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

  @SuppressWarnings("unchecked") // stackState only ever holds states of type S
  private S stateAt(int i) {
    return (S) stackState[i];
  }

  /** Marks op linearized if (set + op, after) is a configuration not yet explored. */
  private boolean tryLinearize(int op, S after) {
    long hash = linearizedHash ^ zobrist[op];
    linearized[op >>> 6] |= 1L << op;
    if (memo.add(linearized, mix(hash + 31L * after.hashCode()), after)) {
      linearizedHash = hash;
      return true;
    }
    linearized[op >>> 6] &= ~(1L << op);
    return false;
  }

  private void unmark(int op) {
    linearized[op >>> 6] &= ~(1L << op);
    linearizedHash ^= zobrist[op];
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
   * A set of explored (linearized set, state) configurations: open addressing with linear probing
   * over parallel arrays, so a lookup allocates nothing; only an insert copies the bit set.
   */
  private static final class MemoTable {
    private long[] hashes = new long[1024];
    private long[][] sets = new long[1024][];
    private Object[] states = new Object[1024];
    private int size;

    /** Adds the configuration unless present; returns whether it was added. */
    boolean add(long[] set, long hash, Object state) {
      int mask = sets.length - 1;
      int i = (int) hash & mask;
      while (sets[i] != null) {
        if (hashes[i] == hash && Arrays.equals(sets[i], set) && states[i].equals(state)) {
          return false;
        }
        i = (i + 1) & mask;
      }
      hashes[i] = hash;
      sets[i] = set.clone();
      states[i] = state;
      if (++size * 2 > sets.length) {
        grow();
      }
      return true;
    }

    private void grow() {
      long[] oldHashes = hashes;
      long[][] oldSets = sets;
      Object[] oldStates = states;
      int capacity = oldSets.length * 2;
      hashes = new long[capacity];
      sets = new long[capacity][];
      states = new Object[capacity];
      int mask = capacity - 1;
      for (int j = 0; j < oldSets.length; j++) {
        if (oldSets[j] != null) {
          int i = (int) oldHashes[j] & mask;
          while (sets[i] != null) {
            i = (i + 1) & mask;
          }
          hashes[i] = oldHashes[j];
          sets[i] = oldSets[j];
          states[i] = oldStates[j];
        }
      }
    }
  }
}
