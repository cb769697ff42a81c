package org.flotilla.raft.internal.core;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.function.Predicate;
import org.flotilla.raft.cluster.Configuration;
import org.flotilla.raft.cluster.Member;
import org.flotilla.raft.cluster.Role;
import org.flotilla.raft.memory.MemoryLogStore;
import org.flotilla.raft.message.EntryType;
import org.flotilla.raft.message.InstallSnapshot;
import org.flotilla.raft.message.LogEntry;
import org.flotilla.raft.message.RaftMessage;
import org.flotilla.raft.spi.HardState;
import org.flotilla.raft.spi.LogStore;
import org.flotilla.raft.spi.SnapshotMeta;

/**
 * A hand-driven network of {@link RaftCore}s for the core's unit tests: nothing moves unless the
 * test says so. Messages wait in one in-flight list until delivered or dropped; links can be cut;
 * each node's log is a {@link MemoryLogStore} in {@link MemoryLogStore.Durability#MANUAL} mode that
 * is synced after every ready batch unless the test turns that off for the node.
 *
 * <p>Not thread-safe; confined to the test thread.
 */
final class CoreNetwork {

  /**
   * How many delivery rounds {@link #stabilize()} allows before it calls the network livelocked.
   */
  private static final int MAX_ROUNDS = 10_000;

  /** One member: its core, its disk and what its driver has seen. */
  static final class Node {
    final String id;
    final MemoryLogStore store = new MemoryLogStore(MemoryLogStore.Durability.MANUAL);
    RaftCore core;

    /** What the metadata store holds. */
    HardState hardState = HardState.INITIAL;

    /** Whether the log is synced after each ready batch. */
    boolean autoSync = true;

    final List<LogEntry> applied = new ArrayList<>();
    final List<ReadState> reads = new ArrayList<>();
    final List<SnapshotMeta> installed = new ArrayList<>();

    Node(String id) {
      this.id = id;
    }
  }

  private final CoreOptions options;
  private final Configuration bootstrap;
  private final Map<String, Node> nodes = new LinkedHashMap<>();
  // Members started with no configuration of their own (RaftNode.Builder.join()).
  private final Set<String> joining = new HashSet<>();
  private final List<RaftMessage> inflight = new ArrayList<>();
  private final Set<String> cut = new HashSet<>();
  private final List<Predicate<RaftMessage>> filters = new ArrayList<>();
  private final List<RaftMessage> delivered = new ArrayList<>();

  /**
   * Creates a node for every member of {@code bootstrap} and for every extra id (members-to-be that
   * start outside the configuration).
   */
  CoreNetwork(CoreOptions options, Configuration bootstrap, String... extra) {
    this.options = options;
    this.bootstrap = bootstrap;
    for (Member m : bootstrap.all()) {
      add(m.id());
    }
    for (String id : extra) {
      add(id);
    }
  }

  /** A network of {@code n} voters n1..nn with the given options. */
  static CoreNetwork voters(int n, CoreOptions options) {
    return new CoreNetwork(options, config(n));
  }

  /** A simple configuration of voters n1..nn. */
  static Configuration config(int n) {
    List<Member> voters = new ArrayList<>();
    for (int i = 1; i <= n; i++) {
      voters.add(Member.of("n" + i));
    }
    return Configuration.ofVoters(voters);
  }

  /** Default options without pre-vote, so that a single tick sequence elects a candidate. */
  static CoreOptions plain() {
    return CoreOptions.DEFAULTS.withPreVoteAndCheckQuorum(false, false);
  }

  static ByteBuffer bytes(String s) {
    return ByteBuffer.wrap(s.getBytes(StandardCharsets.UTF_8));
  }

  /**
   * Adds a member that starts with no configuration of its own ({@link Configuration#EMPTY}), as
   * {@code RaftNode.Builder.join()} starts it: it waits for a leader to add it.
   */
  void join(String id) {
    joining.add(id);
    add(id);
  }

  private void add(String id) {
    Node n = new Node(id);
    nodes.put(id, n);
    start(n, HardState.INITIAL, null);
  }

  private void start(Node n, HardState hs, SnapshotMeta snapshot) {
    n.hardState = hs;
    n.core =
        new RaftCore(
            n.id,
            options,
            joining.contains(n.id) ? Configuration.EMPTY : bootstrap,
            n.store,
            hs,
            snapshot,
            new SplittableRandom(n.id.hashCode()));
    RaftCore core = n.core;
    n.store.setListener(
        new LogStore.DurabilityListener() {
          @Override
          public void durable(long index, long term) {
            core.persisted(index, term);
          }

          @Override
          public void failed(Throwable cause) {
            throw new AssertionError("log store failed", cause);
          }
        });
  }

  /**
   * Replaces a node by one restarted from a disk that holds entries of the given terms at indexes
   * 1, 2, ... (commands) and the given current term (no vote).
   */
  void load(String id, long currentTerm, long... entryTerms) {
    List<LogEntry> entries = new ArrayList<>();
    for (int i = 0; i < entryTerms.length; i++) {
      entries.add(new LogEntry(i + 1, entryTerms[i], EntryType.COMMAND, bytes("e" + (i + 1))));
    }
    load(id, new HardState(currentTerm, ""), entries);
  }

  /** Replaces a node by one restarted from a disk holding these entries and this hard state. */
  void load(String id, HardState hs, List<LogEntry> entries) {
    Node old = node(id);
    Node n = new Node(id);
    nodes.put(id, n);
    n.autoSync = old.autoSync;
    if (!entries.isEmpty()) {
      n.store.append(entries);
      n.store.syncAll();
    }
    start(n, hs, null);
  }

  /** Restarts a node from what its disk holds (volatile log entries are lost). */
  void restart(String id) {
    Node old = node(id);
    old.store.crash();
    Node n = new Node(id);
    n.autoSync = old.autoSync;
    nodes.put(id, n);
    List<LogEntry> entries =
        old.store.lastIndex() > old.store.baseIndex()
            ? old.store.entries(old.store.firstIndex(), old.store.lastIndex() + 1, Long.MAX_VALUE)
            : List.of();
    if (!entries.isEmpty()) {
      n.store.append(entries);
      n.store.syncAll();
    }
    start(n, old.hardState, null);
  }

  Node node(String id) {
    Node n = nodes.get(id);
    if (n == null) {
      throw new IllegalArgumentException("no node " + id);
    }
    return n;
  }

  RaftCore core(String id) {
    return node(id).core;
  }

  // ------------------------------------------------------------------ driving

  /** Runs one ready batch of a node as the driver would, and returns it for inspection. */
  Ready ready(String id) {
    Node n = node(id);
    Ready r = n.core.ready();
    if (r.snapshot() != null) {
      n.store.reset(r.snapshot().index(), r.snapshot().term());
      n.installed.add(r.snapshot());
    }
    if (!r.entries().isEmpty()) {
      n.store.append(r.entries());
    }
    if (r.hardState() != null) {
      n.hardState = r.hardState();
    }
    inflight.addAll(r.messages());
    inflight.addAll(r.snapshotsToSend()); // delivered whole: see deliver
    n.applied.addAll(r.committedEntries());
    n.reads.addAll(r.readStates());
    if (n.autoSync) {
      n.store.syncAll();
    }
    n.core.checkInvariants();
    return r;
  }

  /** Makes a node's log durable (reported to its core). */
  void sync(String id) {
    node(id).store.syncAll();
  }

  /** Ticks one node {@code times} times, running its ready batch after each tick. */
  void tick(String id, int times) {
    for (int i = 0; i < times; i++) {
      core(id).tick();
      ready(id);
    }
  }

  /** Ticks every node once and then stabilizes, {@code times} times. */
  void tickAll(int times) {
    for (int i = 0; i < times; i++) {
      for (Node n : nodes.values()) {
        n.core.tick();
      }
      stabilize();
    }
  }

  /**
   * Ticks one node until it starts an election (pre-vote or real), with nobody else ticking, and
   * then lets the network settle. Returns the node's role afterwards.
   */
  Role campaign(String id) {
    RaftCore c = core(id);
    for (int i = 0; i < 4 * options.electionTimeoutTicks() && c.role() != Role.LEADER; i++) {
      c.tick();
      ready(id);
      if (c.role() == Role.PRE_CANDIDATE || c.role() == Role.CANDIDATE) {
        break;
      }
    }
    stabilize();
    return c.role();
  }

  /** Elects {@code id} leader and settles the network; fails if it did not win. */
  void elect(String id) {
    Role r = campaign(id);
    if (r != Role.LEADER) {
      throw new AssertionError(id + " did not win the election: " + core(id));
    }
  }

  /**
   * Runs ready batches and delivers messages until nothing moves: no node has work and no message
   * is in flight (messages over cut links are dropped).
   */
  void stabilize() {
    for (int round = 0; round < MAX_ROUNDS; round++) {
      for (Node n : List.copyOf(nodes.values())) {
        if (n.core.hasReady()) {
          ready(n.id);
        }
      }
      if (inflight.isEmpty()) {
        boolean idle = true;
        for (Node n : nodes.values()) {
          idle &= !n.core.hasReady();
        }
        if (idle) {
          return;
        }
      }
      deliverAll();
    }
    throw new AssertionError("network did not settle in " + MAX_ROUNDS + " rounds:\n" + this);
  }

  /** Delivers every message in flight (dropping those over cut links); returns how many arrived. */
  int deliverAll() {
    List<RaftMessage> batch = new ArrayList<>(inflight);
    inflight.clear();
    int n = 0;
    for (RaftMessage m : batch) {
      if (deliver(m)) {
        n++;
      }
    }
    return n;
  }

  /** Delivers one message unless its link is cut; returns whether it arrived. */
  boolean deliver(RaftMessage m) {
    if (cut.contains(m.from() + ">" + m.to()) || !nodes.containsKey(m.to())) {
      return false;
    }
    for (Predicate<RaftMessage> f : filters) {
      if (f.test(m)) {
        return false;
      }
    }
    if (m instanceof InstallSnapshot is && !is.done()) {
      // The driver streams the snapshot's chunks; here the whole of it arrives at once.
      m =
          new InstallSnapshot(
              is.from(),
              is.to(),
              is.term(),
              is.snapshotIndex(),
              is.snapshotTerm(),
              is.configuration(),
              0,
              0,
              0,
              null,
              true);
    }
    delivered.add(m);
    node(m.to()).core.step(m);
    return true;
  }

  /** Removes and returns the in-flight messages that match. */
  List<RaftMessage> take(Predicate<RaftMessage> which) {
    List<RaftMessage> out = new ArrayList<>();
    for (Iterator<RaftMessage> it = inflight.iterator(); it.hasNext(); ) {
      RaftMessage m = it.next();
      if (which.test(m)) {
        out.add(m);
        it.remove();
      }
    }
    return out;
  }

  /** Removes and returns the in-flight messages of a type. */
  <T extends RaftMessage> List<T> take(Class<T> type) {
    List<T> out = new ArrayList<>();
    for (RaftMessage m : take(type::isInstance)) {
      out.add(type.cast(m));
    }
    return out;
  }

  /** Returns the in-flight messages without removing them. */
  List<RaftMessage> inflight() {
    return List.copyOf(inflight);
  }

  /** Returns and forgets every message delivered so far. */
  List<RaftMessage> drainDelivered() {
    List<RaftMessage> out = List.copyOf(delivered);
    delivered.clear();
    return out;
  }

  /** Drops every message in flight. */
  void dropAll() {
    inflight.clear();
  }

  // ------------------------------------------------------------------ faults

  /** Cuts the links between a and b in both directions. */
  void cut(String a, String b) {
    cut.add(a + ">" + b);
    cut.add(b + ">" + a);
  }

  /** Cuts every link of a node. */
  void isolate(String id) {
    for (String other : nodes.keySet()) {
      if (!other.equals(id)) {
        cut(id, other);
      }
    }
  }

  /** Drops, from now until {@link #heal()}, every message that matches. */
  void dropIf(Predicate<RaftMessage> which) {
    filters.add(which);
  }

  /** Restores every link and removes every drop filter. */
  void heal() {
    cut.clear();
    filters.clear();
  }

  /** Returns the ids of the nodes that are leaders. */
  List<String> leaders() {
    List<String> out = new ArrayList<>();
    for (Node n : nodes.values()) {
      if (n.core.role() == Role.LEADER) {
        out.add(n.id);
      }
    }
    return out;
  }

  /** Returns every node's log as read from its core, for equality checks. */
  List<Long> termsOf(String id) {
    RaftCore c = core(id);
    List<Long> terms = new ArrayList<>();
    for (long i = 1; i <= c.lastIndex(); i++) {
      terms.add(c.termAt(i));
    }
    return terms;
  }

  @Override
  public String toString() {
    StringBuilder b = new StringBuilder();
    for (Node n : nodes.values()) {
      b.append(n.core).append('\n');
    }
    return b.toString();
  }
}
