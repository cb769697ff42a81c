package org.flotilla.raft.sim;

import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.function.Consumer;
import java.util.function.Supplier;
import org.flotilla.raft.CommandRejectedException;
import org.flotilla.raft.NodeStatus;
import org.flotilla.raft.NotLeaderException;
import org.flotilla.raft.OverloadedException;
import org.flotilla.raft.RaftOptions;
import org.flotilla.raft.ReadConsistency;
import org.flotilla.raft.Result;
import org.flotilla.raft.StateMachine;
import org.flotilla.raft.cluster.Configuration;
import org.flotilla.raft.cluster.Member;
import org.flotilla.raft.cluster.Role;

/**
 * Runs real {@link org.flotilla.raft.RaftNode}s (the whole runtime, not only the protocol core) in
 * virtual time on one thread, over a simulated network and simulated disks, with the faults of
 * {@link RuntimeFault} drawn from a seed, and checks what happens.
 *
 * <p><b>A run.</b> Clients submit commands (some in sessions, retried on other members with the
 * same sequence number after a time-out) and read with every {@link ReadConsistency}, on leaders
 * and followers, through the public API, while the faults of the seed are injected: crashes that
 * lose what was not synced, partitions, message loss, duplication and delay, slow disks, drifting
 * clocks, membership changes, leadership transfers, snapshots and overload. On even seeds members
 * forward commands to the leader; on odd seeds a follower refuses them. Then every fault heals, the
 * clients stop, and the group must serve again: a command submitted to the leader 20 s after the
 * heal must be applied by every member of the configuration within 10 s more.
 *
 * <p><b>What is checked</b> ({@link #run()} returns each violation found): at most one leader per
 * term; leader completeness when each leader starts; state machine safety (every member applies the
 * same command at each index); exactly-once of session commands; at most one configuration change
 * in flight; log matching over every pair of members at the end; linearizability of the commands
 * and the linearizable and lease reads, by {@link LinearizabilityChecker} with the given {@link
 * Model}; every stale read against the state at the index it reports; and the liveness above.
 *
 * <p><b>Replay.</b> The same seed gives the same run: faults, clients and the nodes' random numbers
 * all draw from it ({@link VirtualScheduler#random()}), and time is virtual. The run keeps a trace
 * of every event (messages sent, lost and delivered; every call to the stores and every durability
 * report; every command applied and snapshot restored; clients' invocations and results; crashes,
 * restarts, partitions), and a digest of it ({@link #traceDigest()}): two runs of a seed must give
 * the same digest. {@link Builder#trace(Consumer)} prints the lines.
 *
 * <pre>{@code
 * List<String> violations =
 *     RuntimeSimulation.builder()
 *         .stateMachine(Counter::new)
 *         .workload(CounterWorkload::new)
 *         .model(new CounterModel())
 *         .runSeeds(1, 50);
 * assertThat(violations).isEmpty();
 * }</pre>
 *
 * <p>Not thread-safe; a run executes on the caller's thread.
 */
public final class RuntimeSimulation {

  private static final long MS = 1_000_000;

  /** How long after the faults heal a command is submitted to check that the group serves. */
  public static final Duration SERVE_AFTER_HEAL = Duration.ofSeconds(20);

  /** How long every member of the configuration has to apply that command. */
  public static final Duration APPLY_BOUND = Duration.ofSeconds(10);

  private final long seed;
  private final Builder config;
  private final Set<RuntimeFault> faults;
  private final boolean sessions;
  private final int clientCount;
  final SplittableRandom random;
  final VirtualScheduler scheduler;
  final Trace trace;
  final List<SimServer> servers = new ArrayList<>();
  final SimNetwork network;
  final RuntimeChecks checks;
  private final Workload workload;
  private final RaftOptions options;
  private final List<Member> members = new ArrayList<>();
  private final List<Operation> history = new ArrayList<>();
  private final List<String> violations = new ArrayList<>();
  private final java.util.EnumMap<Count, Integer> counts = new java.util.EnumMap<>(Count.class);
  private boolean healing;

  /** What a run counts, for {@link #summary()}. */
  private enum Count {
    CRASHES,
    PARTITIONS,
    MEMBERSHIP_CHANGES,
    TRANSFERS,
    SNAPSHOTS,
    SESSION_RETRIES,
    LEASE_READS,
    STALE_READS,
    REFUSED
  }

  private RuntimeSimulation(Builder b, long seed) {
    this.seed = seed;
    this.config = b;
    this.random = new SplittableRandom(seed);
    this.scheduler = new VirtualScheduler(random.nextLong());
    this.trace = new Trace(scheduler::nanoTime);
    trace.sink(b.traceSink);
    EnumSet<RuntimeFault> chosen = EnumSet.noneOf(RuntimeFault.class);
    for (RuntimeFault f : RuntimeFault.values()) {
      // drawn for every fault, chosen or not, so a seed's mix does not depend on the set's size
      boolean on = random.nextInt(4) != 0 || seed % 4 == 0;
      if (on && b.faults.contains(f)) {
        chosen.add(f);
      }
    }
    this.faults = Collections.unmodifiableSet(chosen);
    this.sessions = random.nextBoolean();
    this.clientCount = b.clients + (faults.contains(RuntimeFault.OVERLOAD) ? 5 : 0);
    this.workload = b.workload.get();
    this.checks = new RuntimeChecks(seed, violations, workload.uniqueCommands());
    this.options = options();
    int spares = faults.contains(RuntimeFault.MEMBERSHIP) ? 2 : 0;
    for (int i = 0; i < b.voters + spares; i++) {
      boolean spare = i >= b.voters;
      SimServer s = new SimServer(this, spare ? "s" + (i - b.voters + 1) : "n" + (i + 1), i, spare);
      if (faults.contains(RuntimeFault.CLOCK_DRIFT)) {
        s.clockRate = 0.97 + random.nextDouble() * 0.06;
      }
      servers.add(s);
      if (!spare) {
        int priority = faults.contains(RuntimeFault.TRANSFER) ? 1 + random.nextInt(3) : 1;
        members.add(new Member(s.id, "", priority));
      }
    }
    this.network =
        new SimNetwork(
            scheduler,
            random,
            trace,
            servers,
            faults.contains(RuntimeFault.LOSS),
            faults.contains(RuntimeFault.DELAY));
  }

  private RaftOptions options() {
    boolean snapshots = faults.contains(RuntimeFault.SNAPSHOT);
    RaftOptions.Builder o =
        RaftOptions.builder()
            .tickInterval(Duration.ofMillis(10))
            .electionTimeout(Duration.ofMillis(300))
            .heartbeatInterval(Duration.ofMillis(30))
            .leaseDriftMargin(Duration.ofMillis(60))
            .snapshotThresholdEntries(snapshots ? 20 : 200)
            .snapshotTrailingEntries(5)
            .snapshotChunkBytes(4096)
            .autoPromoteLagEntries(10)
            .forwardToLeader((seed & 1) == 0);
    if (faults.contains(RuntimeFault.OVERLOAD)) {
      o.maxPendingProposals(4);
    }
    if (sessions) {
      // short sessions, few of them: expiry and a full table happen within a run; a client's
      // retries of a command end within 3.2 s, inside the timeout, as the API asks
      o.sessionTimeout(Duration.ofSeconds(5)).maxSessions(2 * config.clients);
    }
    return o.build();
  }

  /**
   * Returns a builder for runs of the simulator's own workload (a map of registers with put,
   * compare-and-set and get), 3 voters, 8 s of faults, every {@link RuntimeFault}.
   *
   * @return the builder
   */
  public static Builder builder() {
    return new Builder();
  }

  /**
   * Creates a run of the simulator's own workload with every fault.
   *
   * @param seed the seed everything follows from
   * @param voters the number of voters, 1 to 7
   * @param faultPhase how long (virtual time) faults are injected
   * @return the run, not started
   */
  public static RuntimeSimulation of(long seed, int voters, Duration faultPhase) {
    return builder().voters(voters).faultPhase(faultPhase).seed(seed).build();
  }

  /**
   * Makes a member's state machine: the user's, or the registers (with concurrent queries when bit
   * 1 of the seed is clear).
   */
  StateMachine newStateMachine() {
    return config.stateMachine != null
        ? config.stateMachine.get()
        : new RegisterWorkload.Registers(
            (seed & 2) == 0, faults.contains(RuntimeFault.SNAPSHOT) ? 5 * 4096 : 0);
  }

  // ------------------------------------------------------------------ the run

  /**
   * Runs the simulation.
   *
   * @return the violations found, each starting with "seed S: "; empty on success
   */
  public List<String> run() {
    trace.event("faults", faults, "sessions", sessions, "clients", clientCount);
    try {
      for (SimServer s : servers) {
        s.start(members, options);
      }
      for (int c = 0; c < clientCount; c++) {
        int client = c;
        scheduler.schedule(random.nextLong(50) * MS, () -> invoke(new Client(client)));
      }
      long end = config.faultPhase.toNanos();
      scheduler.schedule(0, this::injectFault);
      scheduler.runUntil(end);
      heal();
      scheduler.runUntil(end + SERVE_AFTER_HEAL.toNanos());
      checkServes(end + SERVE_AFTER_HEAL.toNanos() + APPLY_BOUND.toNanos());
      List<SimServer> up = new ArrayList<>();
      for (SimServer s : servers) {
        if (s.up()) {
          up.add(s);
        }
      }
      checks.logMatching(up);
      checks.staleReads(this::newStateMachine);
    } catch (RuntimeException e) {
      violations.add("seed " + seed + ": exception: " + e);
    }
    LinearizabilityChecker.Result lin =
        LinearizabilityChecker.check(history, config.model, Duration.ofSeconds(20));
    if (lin.verdict() != LinearizabilityChecker.Verdict.LINEARIZABLE) {
      violations.add("seed " + seed + ": " + lin.message());
    }
    for (SimServer s : servers) {
      s.close();
    }
    return violations;
  }

  /**
   * Returns the operations recorded for the linearizability check (commands, linearizable and lease
   * reads; stale reads are checked on their own).
   *
   * @return the history
   */
  public List<Operation> history() {
    return history;
  }

  /**
   * Returns the faults this seed switched on.
   *
   * @return the faults
   */
  public Set<RuntimeFault> faults() {
    return faults;
  }

  /**
   * Returns a one-line summary of the run.
   *
   * @return the summary
   */
  public String summary() {
    long ok = history.stream().filter(o -> o.outcome() == Operation.Outcome.OK).count();
    StringBuilder b = new StringBuilder();
    b.append("seed ")
        .append(seed)
        .append(": ")
        .append(history.size())
        .append(" operations (")
        .append(ok)
        .append(" ok)");
    for (Count c : Count.values()) {
      b.append(", ")
          .append(counts.getOrDefault(c, 0))
          .append(' ')
          .append(c.name().toLowerCase(java.util.Locale.ROOT).replace('_', ' '));
    }
    return b.append("; faults ").append(faults).append(sessions ? ", sessions" : "").toString();
  }

  /**
   * Returns the digest of the run's trace so far: SHA-256 over every event in order, in hex. Two
   * runs of the same seed give the same digest; if they do not, something in the runtime or the
   * simulation depends on more than the seed.
   *
   * @return the digest, 64 hex digits
   */
  public String traceDigest() {
    return trace.digest();
  }

  /**
   * Returns how many events the trace holds so far.
   *
   * @return the count
   */
  public long traceEvents() {
    return trace.events();
  }

  private void count(Count c) {
    counts.merge(c, 1, Integer::sum);
  }

  private void record(Operation op) {
    trace.event("result", op);
    history.add(op);
  }

  // ------------------------------------------------------------------ faults

  private void injectFault() {
    if (healing) {
      return;
    }
    SimServer s = servers.get(random.nextInt(servers.size()));
    RuntimeFault[] all = RuntimeFault.values();
    RuntimeFault f = all[random.nextInt(all.length)];
    if (faults.contains(f)) {
      switch (f) {
        case CRASH -> crashOrRestart(s);
        case PARTITION -> {
          count(Count.PARTITIONS);
          network.partition();
        }
        case SLOW_DISK -> {
          s.slowDisk = !s.slowDisk;
          trace.event("slow-disk", s.id, s.slowDisk);
        }
        case MEMBERSHIP -> changeMembership();
        case TRANSFER -> transfer();
        case SNAPSHOT -> snapshot(s);
        default -> {
          // LOSS, DELAY, CLOCK_DRIFT and OVERLOAD act on every message, clock and client
        }
      }
    }
    if (random.nextInt(8) == 0) {
      network.clear();
      trace.event("partition-healed");
    }
    scheduler.schedule((50 + random.nextLong(400)) * MS, this::injectFault);
  }

  private void crashOrRestart(SimServer s) {
    if (s.up()) {
      count(Count.CRASHES);
      s.crash();
    } else {
      s.start(members, options);
    }
  }

  private SimServer leader() {
    SimServer leader = null;
    long term = -1;
    for (SimServer s : servers) {
      NodeStatus st = s.up() ? s.node.status() : null;
      if (st != null && st.role() == Role.LEADER && st.term() > term) {
        leader = s;
        term = st.term();
      }
    }
    return leader;
  }

  private void changeMembership() {
    SimServer leader = leader();
    if (leader == null) {
      return;
    }
    Configuration c = leader.node.status().configuration();
    if (c.isJoint()) {
      return;
    }
    List<String> outside = new ArrayList<>();
    for (SimServer s : servers) {
      if (!c.contains(s.id)) {
        outside.add(s.id);
      }
    }
    // grow the group to four voters or a learner before shrinking it, never below three voters
    int choice = c.voters().size() <= 3 && c.learners().isEmpty() ? 0 : random.nextInt(3);
    CompletableFuture<Result> f;
    String what;
    if (choice == 0 && !outside.isEmpty()) {
      String id = outside.get(random.nextInt(outside.size()));
      SimServer joining = server(id);
      if (!joining.up()) {
        joining.start(members, options);
      }
      boolean promote = random.nextBoolean();
      what = (promote ? "add " : "add learner ") + id;
      f =
          promote
              ? leader.node.addMember(Member.of(id, ""))
              : leader.node.addLearner(Member.of(id, ""));
    } else if (choice == 1 && !c.learners().isEmpty()) {
      String id = c.learners().get(random.nextInt(c.learners().size())).id();
      what = "promote " + id;
      f = leader.node.promote(id);
    } else if (c.voters().size() > 3 || !c.learners().isEmpty()) {
      List<Member> removable = new ArrayList<>(c.learners());
      if (c.voters().size() > 3) {
        removable.addAll(c.voters());
      }
      String id = removable.get(random.nextInt(removable.size())).id();
      what = "remove " + id + (id.equals(leader.id) ? " (the leader)" : "");
      f = leader.node.removeMember(id);
    } else {
      return;
    }
    count(Count.MEMBERSHIP_CHANGES);
    trace.event("membership", leader.id, what);
    CompletableFuture<Result> unused =
        f.whenComplete((r, e) -> trace.event("membership-done", what, e == null ? r : e));
  }

  private void transfer() {
    SimServer leader = leader();
    if (leader == null) {
      return;
    }
    List<Member> voters = leader.node.status().configuration().voters();
    String to = voters.get(random.nextInt(voters.size())).id();
    if (to.equals(leader.id)) {
      return;
    }
    count(Count.TRANSFERS);
    trace.event("transfer", leader.id, to);
    CompletableFuture<Void> unused =
        leader
            .node
            .transferLeadership(to)
            .whenComplete((r, e) -> trace.event("transfer-done", to, e));
  }

  private void snapshot(SimServer s) {
    if (!s.up()) {
      return;
    }
    count(Count.SNAPSHOTS);
    trace.event("take-snapshot", s.id);
    CompletableFuture<Long> unused =
        s.node.takeSnapshot().whenComplete((r, e) -> trace.event("snapshot-done", s.id, r, e));
  }

  private SimServer server(String id) {
    for (SimServer s : servers) {
      if (s.id.equals(id)) {
        return s;
      }
    }
    throw new IllegalArgumentException(id);
  }

  private void heal() {
    trace.event("heal");
    healing = true;
    network.heal();
    for (SimServer s : servers) {
      s.slowDisk = false;
      if (!s.up()) {
        s.start(members, options);
      }
    }
  }

  /**
   * Submits one more command through the leader and checks that every member of the leader's
   * configuration applies it by {@code deadline}.
   */
  private void checkServes(long deadline) {
    SimServer leader = leader();
    if (leader == null) {
      violations.add(
          "seed "
              + seed
              + ": liveness: no leader "
              + SERVE_AFTER_HEAL
              + " after the faults healed");
      return;
    }
    Workload.Request request = workload.next(random, clientCount);
    while (request.query()) {
      request = workload.next(random, clientCount);
    }
    Client marker = new Client(clientCount);
    Workload.Request last = request;
    long invoked = scheduler.nanoTime();
    long[] index = {-1};
    CompletableFuture<Result> unused =
        leader
            .node
            .submit(request.bytes())
            .whenComplete(
                (r, e) -> {
                  if (e == null) {
                    index[0] = r.index();
                    record(marker.ok(last, r.value(), invoked, scheduler.nanoTime()));
                  } else {
                    record(marker.unknown(last, invoked));
                  }
                });
    scheduler.runUntil(deadline);
    if (index[0] < 0) {
      violations.add(
          "seed "
              + seed
              + ": liveness: a command submitted to the leader "
              + leader.id
              + " "
              + SERVE_AFTER_HEAL
              + " after the heal was not applied within "
              + APPLY_BOUND);
      return;
    }
    for (Member m : leader.node.status().configuration().all()) {
      NodeStatus s = server(m.id()).node.status();
      if (s.appliedIndex() < index[0]) {
        violations.add(
            "seed "
                + seed
                + ": liveness: "
                + m.id()
                + " applied "
                + s.appliedIndex()
                + " of "
                + index[0]
                + ", "
                + APPLY_BOUND
                + " after the command was submitted");
      }
    }
  }

  // ------------------------------------------------------------------ clients

  /** One client: at most one operation outstanding; its session, when it uses one. */
  private static final class Client {
    final int id;
    long sessionEpoch;
    long sequence;

    Client(int id) {
      this.id = id;
    }

    Operation ok(Workload.Request r, ByteBuffer value, long invoked, long now) {
      return Operation.ok(id, r.key(), r.kind(), r.input(), r.output().apply(value), invoked, now);
    }

    Operation unknown(Workload.Request r, long invoked) {
      return Operation.unknown(id, r.key(), r.kind(), r.input(), invoked);
    }

    Operation failed(Workload.Request r, long invoked, long now) {
      return Operation.failed(id, r.key(), r.kind(), r.input(), invoked, now);
    }

    String sessionId() {
      return "c" + id + "." + sessionEpoch;
    }

    void newSession() {
      sessionEpoch++;
      sequence = 0;
    }
  }

  private SimServer anyUp() {
    List<SimServer> up = new ArrayList<>();
    for (SimServer s : servers) {
      if (s.up()) {
        up.add(s);
      }
    }
    return up.isEmpty() ? null : up.get(random.nextInt(up.size()));
  }

  private void invoke(Client c) {
    if (healing) {
      return;
    }
    SimServer s = anyUp();
    if (s == null) {
      scheduler.schedule(10 * MS, () -> invoke(c));
      return;
    }
    Workload.Request r = workload.next(random, c.id);
    long invoked = scheduler.nanoTime();
    if (r.query()) {
      int pick = random.nextInt(10);
      ReadConsistency consistency =
          pick < 5
              ? ReadConsistency.LINEARIZABLE
              : pick < 8 ? ReadConsistency.LEASE : ReadConsistency.STALE;
      trace.event("invoke", c.id, s.id, r.kind(), r.key(), consistency);
      read(c, s, r, consistency, invoked);
    } else if (sessions && c.id < config.clients) {
      c.sequence++;
      checks.sessionCommand(r.bytes());
      attempt(c, r, invoked, 1, true);
    } else {
      trace.event("invoke", c.id, s.id, r.kind(), r.key(), "submit");
      outcome(c, r, invoked, s.node.submit(r.bytes()));
    }
  }

  private void read(
      Client c, SimServer s, Workload.Request r, ReadConsistency consistency, long invoked) {
    CompletableFuture<Result> f = s.node.read(r.bytes(), consistency);
    if (consistency == ReadConsistency.STALE) {
      count(Count.STALE_READS);
      CompletableFuture<Result> unused =
          f.whenComplete(
              (res, e) -> {
                if (e == null) {
                  trace.event("stale-read", s.id, res.index(), res.value());
                  checks.staleRead(s.id, res.index(), r.bytes(), res.value());
                } else {
                  trace.event("stale-read-failed", s.id, e.getClass().getName());
                }
                next(c);
              });
      return;
    }
    if (consistency == ReadConsistency.LEASE) {
      count(Count.LEASE_READS);
    }
    outcome(c, r, invoked, f);
  }

  /** Records the outcome of a plain command or a read, then starts the client's next operation. */
  private void outcome(Client c, Workload.Request r, long invoked, CompletableFuture<Result> f) {
    race(
        f,
        2_000 * MS,
        () -> {
          record(c.unknown(r, invoked));
          invoke(c);
        },
        (res, e) -> {
          if (e == null) {
            record(c.ok(r, res.value(), invoked, scheduler.nanoTime()));
          } else if (notApplied(e)) {
            record(c.failed(r, invoked, scheduler.nanoTime()));
          } else {
            record(c.unknown(r, invoked));
          }
          next(c);
        });
  }

  /**
   * Runs {@code timedOut} if {@code f} has not completed {@code timeout} nanoseconds from now, and
   * {@code done} if it completes before: exactly one of the two, once.
   */
  private void race(
      CompletableFuture<Result> f,
      long timeout,
      Runnable timedOut,
      java.util.function.BiConsumer<Result, Throwable> done) {
    boolean[] settled = new boolean[1];
    scheduler.schedule(
        timeout,
        () -> {
          if (!settled[0]) {
            settled[0] = true;
            timedOut.run();
          }
        });
    CompletableFuture<Result> unused =
        f.whenComplete(
            (res, e) -> {
              if (!settled[0]) {
                settled[0] = true;
                done.accept(res, e);
              }
            });
  }

  /**
   * One attempt of a session command: on a time-out or a failure it is retried, with the same
   * sequence number, on another member, up to three attempts in all.
   */
  private void attempt(
      Client c, Workload.Request r, long invoked, int attempt, boolean noneApplied) {
    SimServer s = anyUp();
    if (s == null) {
      scheduler.schedule(10 * MS, () -> attempt(c, r, invoked, attempt, noneApplied));
      return;
    }
    if (attempt > 1) {
      count(Count.SESSION_RETRIES);
    }
    trace.event("invoke", c.id, s.id, r.kind(), r.key(), c.sessionId(), c.sequence, attempt);
    CompletableFuture<Result> f = s.node.submit(c.sessionId(), c.sequence, r.bytes());
    race(
        f,
        1_000 * MS,
        () -> retryOrGiveUp(c, r, invoked, attempt, false),
        (res, e) -> {
          Throwable t = e instanceof CompletionException ? e.getCause() : e;
          if (e == null) {
            record(c.ok(r, res.value(), invoked, scheduler.nanoTime()));
            next(c);
          } else if (t instanceof CommandRejectedException && !(t instanceof OverloadedException)) {
            // the session expired, or the table was full: this command's fate is what the
            // earlier attempts made it; the client opens a new session
            count(Count.REFUSED);
            c.newSession();
            record(
                noneApplied && attempt == 1
                    ? c.failed(r, invoked, scheduler.nanoTime())
                    : c.unknown(r, invoked));
            next(c);
          } else {
            retryOrGiveUp(c, r, invoked, attempt, noneApplied && notApplied(e));
          }
        });
  }

  private void retryOrGiveUp(
      Client c, Workload.Request r, long invoked, int attempt, boolean noneApplied) {
    if (attempt < 3 && !healing) {
      scheduler.schedule(
          random.nextLong(50) * MS, () -> attempt(c, r, invoked, attempt + 1, noneApplied));
      return;
    }
    record(noneApplied ? c.failed(r, invoked, scheduler.nanoTime()) : c.unknown(r, invoked));
    // the session's last command may still be applied: continue in a new session, so that a late
    // apply of it cannot be mistaken for a later command's
    c.newSession();
    next(c);
  }

  private void next(Client c) {
    // a think time between operations keeps histories small enough to check quickly
    scheduler.schedule((20 + random.nextLong(80)) * MS, () -> invoke(c));
  }

  private boolean notApplied(Throwable e) {
    Throwable t = e instanceof CompletionException ? e.getCause() : e;
    if (t instanceof OverloadedException) {
      count(Count.REFUSED);
    }
    return t instanceof NotLeaderException
        || t instanceof OverloadedException
        || t instanceof CommandRejectedException;
  }

  // ------------------------------------------------------------------ the builder

  /** Configures runs of the simulator. Not thread-safe. */
  public static final class Builder {
    private int voters = 3;
    private int clients = 3;
    private Duration faultPhase = Duration.ofSeconds(8);
    private Set<RuntimeFault> faults = EnumSet.allOf(RuntimeFault.class);
    private Supplier<? extends StateMachine> stateMachine;
    private Supplier<? extends Workload> workload = RegisterWorkload::new;
    private Model<?> model = new CasRegisterModel();
    private int customParts;
    private long seed = 1;
    private Consumer<String> traceSink;

    private Builder() {}

    /**
     * Sets the number of voters the group starts with (default 3); with {@link
     * RuntimeFault#MEMBERSHIP} two spare members may join it.
     *
     * @param value 1 to 7
     * @return this builder
     */
    public Builder voters(int value) {
      if (value < 1 || value > 7) {
        throw new IllegalArgumentException("voters must be in [1, 7]: " + value);
      }
      this.voters = value;
      return this;
    }

    /**
     * Sets the number of clients (default 3); with {@link RuntimeFault#OVERLOAD} five more join.
     *
     * @param value 1 to 16
     * @return this builder
     */
    public Builder clients(int value) {
      if (value < 1 || value > 16) {
        throw new IllegalArgumentException("clients must be in [1, 16]: " + value);
      }
      this.clients = value;
      return this;
    }

    /**
     * Sets how long, in virtual time, faults are injected (default 8 s). Longer phases make longer
     * histories, which the linearizability check may not finish within its 20 s budget (the run
     * then reports the check as unknown, a violation): keep a key's operations to a few hundred.
     *
     * @param value at least 1 s
     * @return this builder
     */
    public Builder faultPhase(Duration value) {
      if (value.compareTo(Duration.ofSeconds(1)) < 0) {
        throw new IllegalArgumentException("faultPhase must be at least 1 s: " + value);
      }
      this.faultPhase = value;
      return this;
    }

    /**
     * Sets the faults a run may inject (default all); each seed switches on a random subset of
     * them.
     *
     * @param value the faults; empty for none
     * @return this builder
     */
    public Builder faults(Set<RuntimeFault> value) {
      this.faults = value.isEmpty() ? EnumSet.noneOf(RuntimeFault.class) : EnumSet.copyOf(value);
      return this;
    }

    /**
     * Sets the state machine under test: each member gets a new instance at each start. It must be
     * deterministic (see {@link StateMachine}). Set it together with {@link #workload} and {@link
     * #model}.
     *
     * @param value makes a new, empty state machine
     * @return this builder
     */
    public Builder stateMachine(Supplier<? extends StateMachine> value) {
      this.stateMachine = Objects.requireNonNull(value);
      this.customParts |= 1;
      return this;
    }

    /**
     * Sets what the clients do: a new workload is made for each run.
     *
     * @param value makes the workload of one run
     * @return this builder
     */
    public Builder workload(Supplier<? extends Workload> value) {
      this.workload = Objects.requireNonNull(value);
      this.customParts |= 2;
      return this;
    }

    /**
     * Sets the sequential specification the history is checked against.
     *
     * @param value the model
     * @return this builder
     */
    public Builder model(Model<?> value) {
      this.model = Objects.requireNonNull(value);
      this.customParts |= 4;
      return this;
    }

    /**
     * Sets the seed of the run {@link #build()} makes (default 1).
     *
     * @param value the seed
     * @return this builder
     */
    public Builder seed(long value) {
      this.seed = value;
      return this;
    }

    /**
     * Sends each event of a run's trace, one line with its virtual time in nanoseconds first, to
     * {@code sink} as it happens, to debug a seed; the digest is computed either way.
     *
     * @param sink receives the lines on the simulator's thread; null for none
     * @return this builder
     */
    public Builder trace(Consumer<String> sink) {
      this.traceSink = sink;
      return this;
    }

    /**
     * Makes a run of the seed set with {@link #seed(long)}.
     *
     * @return the run, not started
     * @throws IllegalStateException if a state machine, workload or model was set without the other
     *     two
     */
    public RuntimeSimulation build() {
      return build(seed);
    }

    private RuntimeSimulation build(long s) {
      if (customParts != 0 && customParts != 7) {
        throw new IllegalStateException(
            "set stateMachine, workload and model together, or none of them");
      }
      return new RuntimeSimulation(this, s);
    }

    /**
     * Runs seeds {@code first} to {@code first + count - 1}, or only the seed in the system
     * property {@code flotilla.sim.seed} when it is set (to replay a failure), and returns every
     * violation found, each followed by how to replay its seed. Stops after three failing seeds.
     *
     * @param first the first seed
     * @param count how many seeds, at least 1
     * @return the violations; empty if every seed passed
     */
    public List<String> runSeeds(long first, int count) {
      String one = System.getProperty("flotilla.sim.seed", "").trim();
      long from = one.isEmpty() ? first : Long.parseLong(one);
      int n = one.isEmpty() ? count : 1;
      List<String> found = new ArrayList<>();
      int failing = 0;
      for (long s = from; s < from + n && failing < 3; s++) {
        List<String> v = build(s).run();
        if (!v.isEmpty()) {
          failing++;
          found.addAll(v);
          found.add(
              "replay seed "
                  + s
                  + " with -Dflotilla.sim.seed="
                  + s
                  + ", or builder.seed("
                  + s
                  + ").build().run()");
        }
      }
      return found;
    }
  }
}
