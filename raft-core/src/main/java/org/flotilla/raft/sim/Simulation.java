package org.flotilla.raft.sim;

import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;
import java.util.SplittableRandom;
import org.flotilla.raft.cluster.Configuration;
import org.flotilla.raft.cluster.Member;
import org.flotilla.raft.cluster.Role;
import org.flotilla.raft.internal.core.CoreOptions;
import org.flotilla.raft.internal.core.Quorum;
import org.flotilla.raft.message.AppendEntries;
import org.flotilla.raft.message.AppendEntriesResponse;
import org.flotilla.raft.message.Heartbeat;
import org.flotilla.raft.message.HeartbeatResponse;
import org.flotilla.raft.message.InstallSnapshotResponse;
import org.flotilla.raft.message.LogEntry;
import org.flotilla.raft.message.RaftMessage;
import org.flotilla.raft.message.RequestVoteResponse;
import org.flotilla.raft.spi.DurableMark;

/**
 * A deterministic simulation of a Raft cluster: protocol cores over a simulated network and
 * simulated disks, with faults and clients, all driven by one seed.
 *
 * <p>Each run has a fault phase of a fixed number of events, in which the {@link FaultProfile}'s
 * faults are injected, then a heal phase in which all faults stop and the cluster must recover
 * within a bounded number of ticks. After every event the run checks Raft's safety properties: at
 * most one leader per term, log matching, leader completeness, state-machine safety (no two members
 * apply different entries at one index), and that no member's commit index goes back. At the end
 * the clients' history is checked for linearizability.
 *
 * <pre>{@code
 * SimulationResult r = Simulation.builder().seed(42).voters(3).steps(2000).build().run();
 * assertThat(r.violations()).isEmpty();
 * }</pre>
 *
 * <p>Not thread-safe; a run executes on the caller's thread.
 */
public final class Simulation {

  /** Simulated microseconds per tick. */
  static final long TICK = 1_000;

  /** How long a client waits for an answer before it records the outcome as unknown. */
  static final long CLIENT_TIMEOUT = 40 * TICK;

  /** Ticks the cluster has, after faults heal, to elect a leader and commit everything. */
  public static final int HEAL_TICKS = 200;

  private static final int TRACE_EVENTS = 64;

  private static final java.time.Duration CHECK_TIMEOUT = java.time.Duration.ofSeconds(20);

  private static final CoreOptions DEFAULT_OPTIONS = CoreOptions.DEFAULTS.withTimeouts(10, 1);

  private final long seed;
  private final int voterCount;
  private final int learnerCount;
  private final int spareCount;
  private final int steps;
  private final int clientCount;
  private final int keyCount;
  private final FaultProfile faults;
  private final CoreOptions options;
  final boolean repairLostTails;

  private final SplittableRandom random;
  private final PriorityQueue<Event> events = new PriorityQueue<>();
  private final List<SimNode> nodes = new ArrayList<>();
  private final Map<String, SimNode> byId = new HashMap<>();
  private final boolean[][] blocked;
  // The Figure 8 pattern (FaultProfile.strandRate): until cutUntil[i] member i is cut off from
  // everyone; until holdUntil[i] the network drops its AppendEntries that carry an entry of its
  // term.
  private final long[] cutUntil;
  private final long[] holdUntil;
  // how many of the next new leaders the Figure 8 pattern still strands
  private int strandStreak;
  // lastResponseAt[to][from]: when a response from 'from' was last delivered to 'to'
  private final long[][] lastResponseAt;
  private final List<Client> clients = new ArrayList<>();
  private final List<Operation> history = new ArrayList<>();
  private final List<String> violations = new ArrayList<>();
  private final ArrayDeque<String> trace = new ArrayDeque<>();

  // global knowledge for the safety checks
  private final Map<Long, String> leaderOfTerm = new HashMap<>();
  private final Map<Long, long[]> committedEntries = new HashMap<>();

  private long now;
  private long seq;
  private long nextContext = 1;
  private long nextValue = 1;
  private boolean healing;
  // isolateLeader() runs without the Figure 8 pattern: it times one leader's step-down.
  private boolean timingStepDown;
  private int eventsRun;
  private long healTicks = -1;
  private int faultsInjected;

  private Simulation(Builder b) {
    this.seed = b.seed;
    this.voterCount = b.voters;
    this.learnerCount = b.learners;
    this.spareCount = b.spares;
    this.steps = b.steps;
    this.clientCount = b.clients;
    this.keyCount = b.keys;
    this.faults = b.faults;
    this.repairLostTails = b.repairLostTails;
    this.random = new SplittableRandom(seed);
    // Half the runs send one entry per AppendEntries, as a leader does with a backlog larger than
    // its message limit: a follower then takes older-term entries apart from the leader's no-op.
    this.options =
        b.options != null
            ? b.options
            : DEFAULT_OPTIONS.withFlowControl(8, random.nextBoolean() ? 1 : 4096);
    int n = voterCount + learnerCount + spareCount;
    this.blocked = new boolean[n][n];
    this.cutUntil = new long[n];
    this.holdUntil = new long[n];
    this.lastResponseAt = new long[n][n];
  }

  /**
   * Returns a builder with defaults: 3 voters, 1 spare member for membership changes, 2,000 events,
   * 3 clients on 3 keys, the standard fault profile and the default core options with a 10-tick
   * election timeout, a pipelining window of 8 and, drawn from the seed, AppendEntries of one entry
   * each in half the runs and of up to 4,096 bytes in the others.
   *
   * @return the builder
   */
  public static Builder builder() {
    return new Builder();
  }

  SplittableRandom random() {
    return random;
  }

  // ---------------------------------------------------------------- the run

  /**
   * Runs the simulation.
   *
   * @return what happened: violations (empty on success), counts and the history
   */
  public SimulationResult run() {
    try {
      startCluster();
      while (eventsRun < steps && violations.isEmpty()) {
        runOneEvent();
        injectFaults();
      }
      if (violations.isEmpty()) {
        heal();
      }
    } catch (RuntimeException e) {
      violation(exceptionSummary(e));
    }
    for (Client c : clients) {
      if (c.current != null) {
        completeUnknown(c.current);
      }
    }
    if (violations.isEmpty()) {
      LinearizabilityChecker.Result lin =
          LinearizabilityChecker.check(history, new CasRegisterModel(), CHECK_TIMEOUT);
      if (lin.verdict() == LinearizabilityChecker.Verdict.NOT_LINEARIZABLE) {
        violation("linearizability: " + lin.message());
      } else if (lin.verdict() == LinearizabilityChecker.Verdict.UNKNOWN) {
        violation("linearizability check did not finish within " + CHECK_TIMEOUT);
      }
    }
    return new SimulationResult(
        seed,
        eventsRun,
        List.copyOf(violations),
        history.size(),
        countOk(),
        outcomes(),
        maxCommit(),
        faultsInjected,
        healTicks,
        violations.isEmpty() ? "" : String.join("\n", trace));
  }

  private static String exceptionSummary(RuntimeException e) {
    java.io.StringWriter w = new java.io.StringWriter();
    e.printStackTrace(new java.io.PrintWriter(w));
    return "exception: " + w.toString().lines().limit(8).reduce((a, b) -> a + "\n" + b).orElse("");
  }

  /** Creates and starts the members, their tick loops and the clients. */
  private void startCluster() {
    List<Member> voters = new ArrayList<>();
    List<Member> learners = new ArrayList<>();
    for (int i = 1; i <= voterCount; i++) {
      voters.add(Member.of("n" + i));
    }
    for (int i = 1; i <= learnerCount; i++) {
      learners.add(Member.of("l" + i));
    }
    Configuration bootstrap = Configuration.of(voters, learners);
    List<String> ids = new ArrayList<>();
    voters.forEach(m -> ids.add(m.id()));
    learners.forEach(m -> ids.add(m.id()));
    for (int i = 1; i <= spareCount; i++) {
      ids.add("s" + i);
    }
    for (String id : ids) {
      SimNode node = new SimNode(id, this, options, bootstrap);
      nodes.add(node);
      byId.put(id, node);
    }
    for (SimNode node : nodes) {
      node.start();
      long phase = 1 + random.nextLong(TICK);
      schedule(phase, () -> tickLoop(node));
    }
    for (int c = 0; c < clientCount; c++) {
      Client client = new Client(c);
      clients.add(client);
      schedule(random.nextLong(5 * TICK), () -> invoke(client));
    }
  }

  private void runOneEvent() {
    Event e = events.poll();
    if (e == null) {
      throw new IllegalStateException("no events left");
    }
    now = e.time;
    eventsRun++;
    e.action.run();
    checkInvariantsAll();
  }

  private void heal() {
    healing = true;
    for (boolean[] row : blocked) {
      java.util.Arrays.fill(row, false);
    }
    java.util.Arrays.fill(cutUntil, 0);
    java.util.Arrays.fill(holdUntil, 0);
    for (SimNode n : nodes) {
      n.slowDisk = false;
      if (!n.up) {
        n.start();
      }
    }
    long start = now;
    long deadline = now + HEAL_TICKS * TICK;
    while (violations.isEmpty() && now < deadline) {
      for (int i = 0; i < 50 && violations.isEmpty(); i++) {
        runOneEvent();
      }
      if (settled()) {
        healTicks = (now - start) / TICK;
        return;
      }
    }
    if (violations.isEmpty() && lostTailsBlockAQuorum()) {
      // The rule that keeps a lost tail's committed entries safe rightly stops a group whose
      // undamaged voters are no majority (a two-voter configuration, say): no one can tell which of
      // the lost entries were committed. The runtime reports such a member; an operator decides.
      record("no leader after healing: lost tails leave no member that can win a vote");
      return;
    }
    if (violations.isEmpty()) {
      violation(
          "liveness: no stable leader with everything committed "
              + HEAL_TICKS
              + " ticks after faults healed: "
              + nodes);
    }
  }

  /**
   * How an isolated leader stepped down (thesis §6.2 CheckQuorum), in simulated microseconds.
   *
   * @param leader the leader that was isolated, or null if none was elected
   * @param quorumHeardAt the latest time at which a quorum of voters (the leader included) had
   *     answered it before the isolation: the last response CheckQuorum can count
   * @param isolatedAt when every link of the leader was cut, both ways
   * @param steppedDownAt when it stopped leading, or -1 if it did not within the allowed ticks
   * @param violations safety violations and errors seen during the run
   */
  record LeaderIsolation(
      String leader,
      long quorumHeardAt,
      long isolatedAt,
      long steppedDownAt,
      List<String> violations) {}

  /**
   * Runs the cluster, with the profile's message loss, duplication and delay but no other faults,
   * until a leader has committed an entry of its term, lets it lead for a random time of up to
   * three election timeouts (so the isolation falls anywhere in the tick and in any older check
   * period), then cuts every link of the leader in both directions and runs until it steps down.
   * Use instead of {@link #run()}, once.
   *
   * @param maxTicks how many ticks after the isolation the leader is given to step down
   * @return the timings
   */
  LeaderIsolation isolateLeader(int maxTicks) {
    SimNode leader = null;
    long isolatedAt = -1;
    long quorumHeardAt = -1;
    long steppedDownAt = -1;
    timingStepDown = true;
    try {
      startCluster();
      long deadline = now + HEAL_TICKS * TICK;
      while (violations.isEmpty() && now < deadline) {
        runOneEvent();
        SimNode l = currentLeader();
        if (l != null && l.core.isLeaderReady()) {
          leader = l;
          break;
        }
      }
      if (leader != null) {
        SimNode isolated = leader;
        int index = nodes.indexOf(isolated);
        long[] isolation = {-1};
        schedule(
            random.nextLong(3L * options.electionTimeoutTicks() * TICK),
            () -> {
              isolation[0] = now;
              for (int i = 0; i < nodes.size(); i++) {
                blocked[index][i] = true;
                blocked[i][index] = true;
              }
              record("isolate leader " + isolated.id);
            });
        while (violations.isEmpty() && isolated.core.role() == Role.LEADER) {
          runOneEvent();
          if (isolation[0] >= 0 && now > isolation[0] + (long) maxTicks * TICK) {
            break;
          }
        }
        isolatedAt = isolation[0];
        if (isolated.core.role() != Role.LEADER) {
          steppedDownAt = now;
          if (isolatedAt < 0) {
            violation(isolated.id + " stopped leading before it was isolated");
          }
        }
        quorumHeardAt =
            Quorum.committedValue(
                isolated.core.configuration(),
                m ->
                    m.equals(isolated.id)
                        ? isolation[0]
                        : lastResponseAt[index][nodes.indexOf(byId.get(m))]);
      }
    } catch (RuntimeException e) {
      violation(exceptionSummary(e));
    }
    return new LeaderIsolation(
        leader == null ? null : leader.id,
        quorumHeardAt,
        isolatedAt,
        steppedDownAt,
        List.copyOf(violations));
  }

  /** A leader of the newest term has committed its whole log, and every voter has applied it. */
  private boolean settled() {
    SimNode leader = null;
    for (SimNode n : nodes) {
      if (n.isVoterLeader() && (leader == null || n.core.term() > leader.core.term())) {
        leader = n;
      }
    }
    if (leader == null || leader.core.commitIndex() != leader.core.lastIndex()) {
      return false;
    }
    if (leader.core.termAt(leader.core.commitIndex()) != leader.core.term()) {
      return false;
    }
    for (Member m : leader.core.configuration().all()) {
      SimNode n = byId.get(m.id());
      if (n.applied() != leader.core.commitIndex() || n.core.term() != leader.core.term()) {
        return false;
      }
    }
    for (Client c : clients) {
      if (c.current != null) {
        return false;
      }
    }
    return true;
  }

  private String outcomes() {
    Map<String, Integer> counts = new java.util.TreeMap<>();
    for (Operation op : history) {
      counts.merge(op.kind() + "/" + op.outcome(), 1, Integer::sum);
    }
    return counts.toString();
  }

  private int countOk() {
    int ok = 0;
    for (Operation op : history) {
      if (op.outcome() == Operation.Outcome.OK) {
        ok++;
      }
    }
    return ok;
  }

  private long maxCommit() {
    long max = 0;
    for (SimNode n : nodes) {
      if (n.core != null) {
        max = Math.max(max, n.core.commitIndex());
      }
    }
    return max;
  }

  // ---------------------------------------------------------------- scheduling

  private void schedule(long delay, Runnable action) {
    events.add(new Event(now + delay, seq++, action));
  }

  private void tickLoop(SimNode node) {
    if (node.up) {
      record("tick " + node.id);
      node.tick();
    }
    schedule(TICK, () -> tickLoop(node));
  }

  void scheduleSync(SimNode node) {
    long latency = node.slowDisk ? 5_000 + random.nextLong(20_000) : 50 + random.nextLong(300);
    int incarnation = node.incarnation;
    schedule(
        latency,
        () -> {
          if (node.up && node.incarnation == incarnation) {
            record("sync " + node.id + " to " + node.log.lastIndex());
            node.syncDone(faults.lossyFsync() && random.nextInt(2) == 0);
          }
        });
  }

  void send(SimNode from, RaftMessage m) {
    SimNode to = byId.get(m.to());
    if (to == null) {
      return;
    }
    RaftMessage out = m;
    if (!healing && random.nextDouble() < faults.dropRate()) {
      return;
    }
    int fromIndex = nodes.indexOf(from);
    int toIndex = nodes.indexOf(to);
    if (now < holdUntil[fromIndex]
        && out instanceof AppendEntries ae
        && ae.entries().stream().anyMatch(e -> e.term() == ae.term())) {
      // The leader's entries of its own term (its no-op first) are held back: the follower gets
      // the older-term prefix alone, as if the leader had split the message and lost the rest.
      List<LogEntry> older = new ArrayList<>();
      for (LogEntry e : ae.entries()) {
        if (e.term() == ae.term()) {
          break;
        }
        older.add(e);
      }
      out =
          new AppendEntries(
              ae.from(),
              ae.to(),
              ae.term(),
              ae.prevLogIndex(),
              ae.prevLogTerm(),
              ae.leaderCommit(),
              older);
      record("hold back the own-term entries of " + ae);
    }
    int copies = !healing && random.nextDouble() < faults.duplicateRate() ? 2 : 1;
    for (int i = 0; i < copies; i++) {
      RaftMessage msg = out;
      long delay = 1 + random.nextLong(healing ? 200 : faults.maxDelay());
      schedule(
          delay,
          () -> {
            if (to.up
                && !blocked[fromIndex][toIndex]
                && now >= cutUntil[fromIndex]
                && now >= cutUntil[toIndex]) {
              RaftMessage delivered = rewrite(msg, to.core.term());
              record("deliver " + delivered);
              if ((delivered instanceof AppendEntriesResponse
                      || delivered instanceof HeartbeatResponse
                      || delivered instanceof InstallSnapshotResponse)
                  && delivered.term() == to.core.term()) {
                lastResponseAt[toIndex][fromIndex] = now;
              }
              to.deliver(delivered);
            }
          });
    }
  }

  /**
   * Out of the fault model: a network that rewrites the term of some messages to the receiver's
   * current term, so that stale votes and stale leaders' messages look current.
   */
  private RaftMessage rewrite(RaftMessage m, long term) {
    if (!faults.termRewrite() || healing || m.term() == term || random.nextInt(4) != 0) {
      return m;
    }
    if (m instanceof RequestVoteResponse v && v.granted() && !v.preVote()) {
      return new RequestVoteResponse(v.from(), v.to(), term, true, false);
    }
    if (m instanceof Heartbeat hb) {
      return new Heartbeat(hb.from(), hb.to(), term, hb.commitIndex(), hb.round());
    }
    if (m instanceof AppendEntries ae && ae.entries().stream().allMatch(e -> e.term() <= term)) {
      return new AppendEntries(
          ae.from(),
          ae.to(),
          term,
          ae.prevLogIndex(),
          ae.prevLogTerm(),
          ae.leaderCommit(),
          ae.entries());
    }
    return m;
  }

  // ---------------------------------------------------------------- faults

  private void injectFaults() {
    if (random.nextDouble() < faults.partitionRate()) {
      faultsInjected++;
      partitionOrHeal();
    }
    if (random.nextDouble() < faults.crashRate()) {
      faultsInjected++;
      SimNode n = nodes.get(random.nextInt(nodes.size()));
      if (n.up) {
        record("crash " + n.id);
        n.crash();
        // At most one member at a time holds a log shorter than what it may have acknowledged: with
        // a majority damaged, no rule can tell which committed entries survive (FAST 2018 assumes
        // the same), and the group rightly stops.
        if (random.nextDouble() < faults.lostTailRate()
            && nodes.stream().noneMatch(Simulation::lostTail)) {
          int lost = n.log.loseDurableTail(1 + random.nextInt(3));
          record("lost durable tail of " + n.id + ": " + lost + " entries");
        }
      } else {
        record("restart " + n.id);
        n.start();
      }
    }
    if (random.nextDouble() < faults.slowDiskRate()) {
      faultsInjected++;
      SimNode n = nodes.get(random.nextInt(nodes.size()));
      n.slowDisk = !n.slowDisk;
      record("slow disk " + n.id + " " + n.slowDisk);
    }
    if (random.nextDouble() < faults.transferRate()) {
      SimNode leader = currentLeader();
      if (leader != null) {
        faultsInjected++;
        List<Member> voters = leader.core.configuration().voters();
        String target = voters.get(random.nextInt(voters.size())).id();
        record("transfer " + leader.id + " -> " + target);
        leader.core.transferLeadership(target);
        leader.drain();
      }
    }
    if (random.nextDouble() < faults.membershipRate()) {
      changeMembership();
    }
  }

  private void partitionOrHeal() {
    int n = nodes.size();
    for (boolean[] row : blocked) {
      java.util.Arrays.fill(row, false);
    }
    switch (random.nextInt(4)) {
      case 0 -> record("heal partitions");
      case 1 -> {
        int isolated = random.nextInt(n);
        for (int i = 0; i < n; i++) {
          blocked[isolated][i] = true;
          blocked[i][isolated] = true;
        }
        record("isolate " + nodes.get(isolated).id);
      }
      case 2 -> {
        int a = random.nextInt(n);
        int b = random.nextInt(n);
        blocked[a][b] = true;
        record("one-way " + nodes.get(a).id + " -x-> " + nodes.get(b).id);
      }
      default -> {
        // A bridge: two groups that cannot talk, except through one member that reaches both.
        int bridge = random.nextInt(n);
        boolean[] side = new boolean[n];
        for (int i = 0; i < n; i++) {
          side[i] = random.nextBoolean();
        }
        for (int i = 0; i < n; i++) {
          for (int j = 0; j < n; j++) {
            if (i != bridge && j != bridge && side[i] != side[j]) {
              blocked[i][j] = true;
            }
          }
        }
        record("bridge partition through " + nodes.get(bridge).id);
      }
    }
  }

  /**
   * The Figure 8 pattern (§5.4.2), applied to three leaders in a row. The first two are cut off as
   * soon as they are elected, so that each one's no-op (and any commands) stay on it alone: entries
   * of two terms at the same index, each on a minority (Figure 8 (a) and (b)). The third, often the
   * first one back with the longer log, has its AppendEntries stripped of entries of its own term
   * for a while, so that followers take the older-term entries without its no-op (Figure 8 (c)),
   * and is then cut off, so that the second leader can win again with the votes of members that
   * lack the third's no-op (Figure 8 (d)). A leader that counts replicas of an older-term entry
   * commits it in (c) and loses it in (d).
   */
  private void strand(SimNode leader, boolean cutAtOnce) {
    faultsInjected++;
    int i = nodes.indexOf(leader);
    long timeout = (long) options.electionTimeoutTicks() * TICK;
    long span = timeout + random.nextLong(2 * timeout);
    if (cutAtOnce) {
      cutUntil[i] = now + span;
      record("strand: cut off new leader " + leader.id + " for " + span / TICK + " ticks");
    } else {
      holdUntil[i] = now + span;
      long cut = timeout + random.nextLong(2 * timeout);
      record("strand: hold back the own-term entries of " + leader.id + " for " + span / TICK);
      schedule(
          span,
          () -> {
            if (!healing) {
              cutUntil[i] = now + cut;
              record("strand: cut off " + leader.id + " for " + cut / TICK + " ticks");
            }
          });
    }
  }

  private SimNode currentLeader() {
    SimNode leader = null;
    for (SimNode n : nodes) {
      if (n.isVoterLeader() && (leader == null || n.core.term() > leader.core.term())) {
        leader = n;
      }
    }
    return leader;
  }

  /** Adds a member as learner, promotes a learner, or removes a voter, through the leader. */
  private void changeMembership() {
    SimNode leader = currentLeader();
    if (leader == null) {
      return;
    }
    Configuration c = leader.core.configuration();
    if (c.isJoint() && random.nextInt(4) != 0) {
      // Now and then a change is asked for while one is in flight: the core must refuse it.
      return;
    }
    List<Member> voters = new ArrayList<>(c.voters());
    List<Member> learners = new ArrayList<>(c.learners());
    String change;
    SimNode outside = null;
    for (SimNode n : nodes) {
      if (!c.contains(n.id)) {
        outside = n;
        break;
      }
    }
    if (!learners.isEmpty() && random.nextBoolean()) {
      Member promoted = learners.remove(random.nextInt(learners.size()));
      voters.add(promoted);
      change = "promote " + promoted.id();
    } else if (outside != null && random.nextBoolean()) {
      learners.add(Member.of(outside.id));
      change = "add learner " + outside.id;
    } else if (voters.size() > voterCount) {
      Member removed = voters.remove(random.nextInt(voters.size()));
      change = "remove " + removed.id();
    } else if (voters.size() > 1 && random.nextInt(4) == 0) {
      Member demoted = voters.remove(random.nextInt(voters.size()));
      learners.add(demoted);
      change = "demote " + demoted.id();
    } else {
      return;
    }
    faultsInjected++;
    boolean inFlight = c.isJoint() || leader.core.configurationIndex() > leader.core.commitIndex();
    long index = leader.core.proposeConfiguration(Configuration.of(voters, learners));
    record("membership " + change + " via " + leader.id + " -> " + index);
    if (inFlight && index >= 0) {
      // thesis §4.1 / §6: at most one configuration change in flight.
      violation(
          "two configuration changes in flight: "
              + leader.id
              + " accepted "
              + change
              + " at "
              + index
              + " while "
              + c
              + " is uncommitted");
    }
    leader.drain();
  }

  // ---------------------------------------------------------------- clients

  /** One outstanding operation of a client. */
  static final class PendingOp {
    final Client client;
    final String kind;
    final Object input;
    final String key;
    final long context;
    final long invokedAt;
    long term;
    long readIndex;
    SimNode node;
    boolean done;

    PendingOp(Client client, String kind, Object input, String key, long context, long now) {
      this.client = client;
      this.kind = kind;
      this.input = input;
      this.key = key;
      this.context = context;
      this.invokedAt = now;
    }
  }

  /** A client with at most one operation outstanding; it remembers where the leader is. */
  static final class Client {
    final int id;
    String leaderHint;
    PendingOp current;

    Client(int id) {
      this.id = id;
    }
  }

  private void invoke(Client client) {
    if (healing) {
      return;
    }
    String key = "k" + random.nextInt(keyCount);
    SimNode node =
        client.leaderHint != null && random.nextInt(4) != 0
            ? byId.get(client.leaderHint)
            : nodes.get(random.nextInt(nodes.size()));
    int choice = random.nextInt(10);
    String kind;
    Object input;
    ByteBuffer command = null;
    if (choice < 4) {
      long v = nextValue++;
      kind = CasRegisterModel.PUT;
      input = v;
      command = RegisterMap.put(key, v);
    } else if (choice < 6) {
      long expect = random.nextInt(3) == 0 ? RegisterMap.ABSENT : random.nextLong(nextValue);
      long v = nextValue++;
      kind = CasRegisterModel.CAS;
      input = new CasRegisterModel.Cas(expect == RegisterMap.ABSENT ? null : expect, v);
      command = RegisterMap.cas(key, expect, v);
    } else {
      kind = CasRegisterModel.GET;
      input = null;
    }
    PendingOp p = new PendingOp(client, kind, input, key, nextContext++, now);
    client.current = p;
    p.node = node;
    record("client " + client.id + " " + kind + " " + key + " at " + node.id);
    schedule(CLIENT_TIMEOUT, () -> completeUnknown(p));
    if (!node.up) {
      completeFailed(p);
      return;
    }
    if (command != null) {
      long index = node.core.propose(List.of(command));
      if (index < 0) {
        client.leaderHint = node.core.leader();
        completeFailed(p);
        return;
      }
      p.term = node.core.term();
      node.writes.put(index, p);
    } else {
      node.reads.put(p.context, p);
      node.core.readIndex(p.context, random.nextInt(3) == 0);
    }
    node.drain();
  }

  void completeOk(PendingOp p, long result) {
    if (finish(p)) {
      Object output =
          switch (p.kind) {
            case CasRegisterModel.CAS -> result == 1;
            case CasRegisterModel.GET -> result == RegisterMap.ABSENT ? null : result;
            default -> null;
          };
      history.add(Operation.ok(p.client.id, p.key, p.kind, p.input, output, p.invokedAt, now));
      p.client.leaderHint = p.node.id;
    }
  }

  void completeFailed(PendingOp p) {
    if (finish(p)) {
      history.add(Operation.failed(p.client.id, p.key, p.kind, p.input, p.invokedAt, now));
    }
  }

  void completeUnknown(PendingOp p) {
    if (finish(p)) {
      history.add(Operation.unknown(p.client.id, p.key, p.kind, p.input, p.invokedAt));
      p.client.leaderHint = null;
    }
  }

  private boolean finish(PendingOp p) {
    if (p.done) {
      return false;
    }
    p.done = true;
    if (p.node != null) {
      p.node.writes.values().remove(p);
      p.node.removeRead(p.context);
    }
    p.client.current = null;
    schedule(1 + random.nextLong(2 * TICK), () -> invoke(p.client));
    return true;
  }

  /**
   * Tells whether no member can win an election under the rules that protect lost tails: every
   * member that could campaign (up, its log intact, a voter of the configuration it holds or of the
   * committed one an uncommitted change demotes it from) would miss a majority of that
   * configuration (of each half of a joint one) among the members that would grant it a vote. A
   * member grants a vote only to a candidate whose log is at least as up-to-date as its own and,
   * while it awaits repair of a lost tail, covers its durable mark. Such a group rightly stays
   * without a leader: no one can tell whether the lost entries were committed.
   *
   * <p>Judging by one configuration's voters alone gave false alarms: seeds 4229 and 31215 of the
   * 100,000-seed soak (only a learner held the newest, joint configuration) and seed 6534 (the
   * healthy majority of the old configuration held a member whose log was too short to win).
   */
  private boolean lostTailsBlockAQuorum() {
    if (nodes.stream().noneMatch(n -> n.up && n.core.awaitingRepair())) {
      return false; // without a lost tail the most up-to-date voter can always win
    }
    for (SimNode c : nodes) {
      if (c.up && c.core.mayCampaign() && mayWinWith(c.core.configuration(), c)) {
        return false;
      }
    }
    return true;
  }

  private boolean mayWinWith(Configuration config, SimNode candidate) {
    return grantsMajority(candidate, config.voters())
        && (config.outgoing().isEmpty() || grantsMajority(candidate, config.outgoing()));
  }

  private boolean grantsMajority(SimNode candidate, List<Member> voters) {
    long last = candidate.core.lastIndex();
    long lastTerm = candidate.log.term(last);
    long granted =
        voters.stream()
            .map(m -> byId.get(m.id()))
            .filter(
                m ->
                    m == candidate
                        || (m.up
                            && upToDate(m).coveredBy(last, lastTerm)
                            && m.core.durableMark().coveredBy(last, lastTerm)))
            .count();
    return granted * 2 > voters.size();
  }

  /** A member's last log position, as the up-to-date check of §5.4.1 compares it. */
  private static DurableMark upToDate(SimNode m) {
    long last = m.core.lastIndex();
    return new DurableMark(last, m.log.term(last));
  }

  /**
   * Tells whether a member's durable log ends before its durable mark: it lost a tail that no
   * leader has repaired durably yet.
   */
  private static boolean lostTail(SimNode n) {
    long durable = n.log.durableIndex();
    return !n.log.durableMark().coveredBy(durable, n.log.term(durable));
  }

  // ---------------------------------------------------------------- safety checks

  void violation(String what) {
    if (violations.isEmpty()) {
      record("VIOLATION " + what);
    }
    violations.add("seed " + seed + " event " + eventsRun + ": " + what);
  }

  private void record(String event) {
    if (trace.size() == TRACE_EVENTS) {
      trace.pollFirst();
    }
    trace.addLast("[" + now + "] " + event);
  }

  /** State-machine safety: no two members apply different entries at one index. */
  void checkApplied(SimNode node, LogEntry e) {
    long[] known =
        committedEntries.putIfAbsent(
            e.index(), new long[] {e.term(), e.payload().hashCode(), e.type().code()});
    if (known != null
        && (known[0] != e.term()
            || known[1] != e.payload().hashCode()
            || known[2] != e.type().code())) {
      violation(
          "state machine safety: "
              + node.id
              + " applied "
              + e
              + " where another member applied term "
              + known[0]);
    }
  }

  /** Called after a member handled an input: per-member checks. */
  void observe(SimNode node) {
    if (!node.up) {
      return;
    }
    long commit = node.core.commitIndex();
    if (commit < node.lastCommit) {
      violation(node.id + " commit index went back from " + node.lastCommit + " to " + commit);
    }
    node.lastCommit = commit;
    Role role = node.core.role();
    if (role == Role.LEADER && node.lastRole != Role.LEADER) {
      checkLeaderCompleteness(node);
      if (!healing && !timingStepDown) {
        if (strandStreak == 0 && random.nextDouble() < faults.strandRate()) {
          strandStreak = 3;
        }
        if (strandStreak > 0) {
          strand(node, --strandStreak > 0);
        }
      }
    }
    node.lastRole = role;
  }

  /** §5.4: a new leader's log holds every entry committed before its term. */
  private void checkLeaderCompleteness(SimNode leader) {
    long base = leader.log.baseIndex();
    long snapshotIndex =
        leader.core.latestSnapshot() == null ? 0 : leader.core.latestSnapshot().index();
    for (Map.Entry<Long, long[]> e : committedEntries.entrySet()) {
      long index = e.getKey();
      if (index <= base || index <= snapshotIndex) {
        continue;
      }
      if (leader.core.termAt(index) != e.getValue()[0]) {
        violation(
            "leader completeness: "
                + leader.id
                + " leads term "
                + leader.core.term()
                + " without committed entry "
                + index
                + "@"
                + e.getValue()[0]);
        return;
      }
    }
  }

  private void checkInvariantsAll() {
    for (SimNode n : nodes) {
      if (!n.up) {
        continue;
      }
      n.core.checkInvariants();
      if (n.core.role() == Role.LEADER) {
        String other = leaderOfTerm.putIfAbsent(n.core.term(), n.id);
        if (other != null && !other.equals(n.id)) {
          violation(
              "election safety: " + other + " and " + n.id + " both lead term " + n.core.term());
        }
      }
    }
    if (eventsRun % 32 == 0) {
      checkLogMatching();
    }
  }

  /** §5.3 log matching: two logs with an entry of the same index and term agree up to there. */
  private void checkLogMatching() {
    for (int a = 0; a < nodes.size(); a++) {
      for (int b = a + 1; b < nodes.size(); b++) {
        SimNode x = nodes.get(a);
        SimNode y = nodes.get(b);
        if (!x.up || !y.up) {
          continue;
        }
        long lo = Math.max(x.log.baseIndex(), y.log.baseIndex()) + 1;
        long hi = Math.min(x.core.lastIndex(), y.core.lastIndex());
        long match = -1;
        for (long i = hi; i >= lo; i--) {
          long t = x.core.termAt(i);
          if (t >= 0 && t == y.core.termAt(i)) {
            match = i;
            break;
          }
        }
        for (long i = lo; i <= match; i++) {
          if (x.core.termAt(i) != y.core.termAt(i)) {
            violation(
                "log matching: "
                    + x.id
                    + " and "
                    + y.id
                    + " agree at "
                    + match
                    + " but differ at "
                    + i);
            return;
          }
        }
      }
    }
  }

  // ---------------------------------------------------------------- types

  private record Event(long time, long seq, Runnable action) implements Comparable<Event> {
    @Override
    public int compareTo(Event o) {
      int c = Long.compare(time, o.time);
      return c != 0 ? c : Long.compare(seq, o.seq);
    }
  }

  /** Builds a {@link Simulation}. Not thread-safe. */
  public static final class Builder {
    private long seed;
    private int voters = 3;
    private int learners;
    private int spares = 1;
    private int steps = 2_000;
    private int clients = 3;
    private int keys = 3;
    private FaultProfile faults = FaultProfile.standard();
    private boolean repairLostTails = true;
    private CoreOptions options;

    private Builder() {}

    /**
     * Sets the seed from which everything in the run follows.
     *
     * @param value the seed
     * @return this builder
     */
    public Builder seed(long value) {
      this.seed = value;
      return this;
    }

    /**
     * Sets the number of initial voters, 1 to 9.
     *
     * @param value the count
     * @return this builder
     */
    public Builder voters(int value) {
      if (value < 1 || value > 9) {
        throw new IllegalArgumentException("voters must be in [1, 9]: " + value);
      }
      this.voters = value;
      return this;
    }

    /**
     * Sets the number of initial learners, 0 to 4.
     *
     * @param value the count
     * @return this builder
     */
    public Builder learners(int value) {
      if (value < 0 || value > 4) {
        throw new IllegalArgumentException("learners must be in [0, 4]: " + value);
      }
      this.learners = value;
      return this;
    }

    /**
     * Sets the number of members outside the initial configuration that membership changes may add,
     * 0 to 4.
     *
     * @param value the count
     * @return this builder
     */
    public Builder spares(int value) {
      if (value < 0 || value > 4) {
        throw new IllegalArgumentException("spares must be in [0, 4]: " + value);
      }
      this.spares = value;
      return this;
    }

    /**
     * Sets the number of events in the fault phase.
     *
     * @param value the count, at least 1
     * @return this builder
     */
    public Builder steps(int value) {
      if (value < 1) {
        throw new IllegalArgumentException("steps must be >= 1: " + value);
      }
      this.steps = value;
      return this;
    }

    /**
     * Sets the number of clients, each with one operation outstanding at a time.
     *
     * @param value the count, 0 to 64
     * @return this builder
     */
    public Builder clients(int value) {
      if (value < 0 || value > 64) {
        throw new IllegalArgumentException("clients must be in [0, 64]: " + value);
      }
      this.clients = value;
      return this;
    }

    /**
     * Sets the number of distinct keys the clients use.
     *
     * @param value the count, at least 1
     * @return this builder
     */
    public Builder keys(int value) {
      if (value < 1) {
        throw new IllegalArgumentException("keys must be >= 1: " + value);
      }
      this.keys = value;
      return this;
    }

    /**
     * Sets the faults to inject.
     *
     * @param value the profile
     * @return this builder
     */
    public Builder faults(FaultProfile value) {
      this.faults = value;
      return this;
    }

    /**
     * Sets the protocol options of every member (by default, those {@link #builder()} describes);
     * package-private, as the options type is the internal core's.
     *
     * @param value the options
     * @return this builder
     */
    Builder options(CoreOptions value) {
      this.options = value;
      return this;
    }

    /**
     * Sets whether members use their log store's durable mark to notice a lost durable tail (true,
     * the default, as the runtime does). False hands the cores a log without its mark, so a member
     * that lost acknowledged entries votes and campaigns on its shorter log: for tests that show
     * the rule is needed.
     *
     * @param value whether members see their durable marks
     * @return this builder
     */
    public Builder repairLostTails(boolean value) {
      repairLostTails = value;
      return this;
    }

    /**
     * Builds the simulation.
     *
     * @return the simulation, ready to run once
     */
    public Simulation build() {
      return new Simulation(this);
    }
  }
}
