package org.flotilla.raft.sim;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.Supplier;
import org.flotilla.raft.StateMachine;
import org.flotilla.raft.message.AppendEntries;
import org.flotilla.raft.message.EntryType;
import org.flotilla.raft.message.Heartbeat;
import org.flotilla.raft.message.InstallSnapshot;
import org.flotilla.raft.message.LogEntry;
import org.flotilla.raft.message.RaftMessage;

/**
 * The safety checks of a {@link RuntimeSimulation}, fed as the run goes by what the servers send
 * and apply, and completed at the end over their logs:
 *
 * <ul>
 *   <li><b>election safety</b>: at most one member sends as leader in each term (leaders are seen
 *       by what only a leader sends: AppendEntries, heartbeats, snapshots);
 *   <li><b>leader completeness</b>: when a member first sends as leader of a term, its log holds,
 *       with the same term, every entry any member has applied (above its snapshot), and no fewer;
 *   <li><b>state machine safety</b>: no two members apply different commands at one index;
 *   <li><b>exactly-once</b>: for a workload whose commands are unique, no command submitted in a
 *       session is applied at two indexes;
 *   <li><b>one configuration change at a time</b>: a leader never sends a configuration entry of
 *       its own term while the configuration entry before it in its log is not committed;
 *   <li><b>log matching</b> (at the end, and whenever asked): if two members' logs hold an entry
 *       with the same index and term, the logs are identical up to it;
 *   <li><b>stale reads</b> (at the end): each stale read returned what the state machine, applying
 *       the agreed log from the start, answers at the index the read reports.
 * </ul>
 *
 * <p>Not thread-safe: confined to the simulation's thread.
 */
final class RuntimeChecks {

  private static final int MAX_VIOLATIONS = 20;

  private final long seed;
  private final List<String> violations;
  private final Map<Long, String> leaderOfTerm = new HashMap<>();
  // what was applied at each index, by whoever applied it first, and the entry's term there
  private final TreeMap<Long, byte[]> applied = new TreeMap<>();
  private final Map<Long, Long> appliedTerm = new HashMap<>();
  private final Set<ByteBuffer> sessionCommands = new HashSet<>();
  private final Map<ByteBuffer, Long> sessionApplied = new HashMap<>();
  private final List<StaleRead> staleReads = new ArrayList<>();
  private final boolean uniqueCommands;

  /** A stale read's answer, checked at the end. */
  private static final class StaleRead {
    final String member;
    final long index;
    final byte[] query;
    final byte[] answer;

    StaleRead(String member, long index, byte[] query, byte[] answer) {
      this.member = member;
      this.index = index;
      this.query = query;
      this.answer = answer;
    }
  }

  RuntimeChecks(long seed, List<String> violations, boolean uniqueCommands) {
    this.seed = seed;
    this.violations = violations;
    this.uniqueCommands = uniqueCommands;
  }

  private void violation(String what) {
    if (violations.size() < MAX_VIOLATIONS) {
      violations.add("seed " + seed + ": " + what);
    }
  }

  /** A message a server sends. */
  void sent(SimServer from, RaftMessage m) {
    boolean asLeader =
        m instanceof AppendEntries || m instanceof Heartbeat || m instanceof InstallSnapshot;
    if (!asLeader) {
      return;
    }
    String known = leaderOfTerm.putIfAbsent(m.term(), m.from());
    if (known == null) {
      leaderComplete(from, m.term());
    } else if (!known.equals(m.from())) {
      violation(
          "election safety: "
              + known
              + " and "
              + m.from()
              + " both sent as leader of term "
              + m.term());
    }
    if (m instanceof AppendEntries ae) {
      for (LogEntry e : ae.entries()) {
        // only entries this leader proposed: it may replicate an earlier leader's older ones
        // before it knows them committed
        if (e.type() == EntryType.CONFIGURATION && e.term() == ae.term()) {
          Long before = from.configIndexes.lower(e.index());
          if (before != null && ae.leaderCommit() < before) {
            violation(
                "two configuration changes in flight: "
                    + from.id
                    + " (term "
                    + ae.term()
                    + ") sent the configuration entry at "
                    + e.index()
                    + " while the one at "
                    + before
                    + " was not committed (its commit index "
                    + ae.leaderCommit()
                    + ")");
          }
        }
      }
    }
  }

  private void leaderComplete(SimServer leader, long term) {
    if (applied.isEmpty()) {
      return;
    }
    long last = leader.log.lastIndex();
    long highest = applied.lastKey();
    if (last < highest) {
      violation(
          "leader completeness: "
              + leader.id
              + " leads term "
              + term
              + " with a log ending at "
              + last
              + ", but "
              + highest
              + " was applied");
      return;
    }
    long base = leader.log.baseIndex();
    for (Map.Entry<Long, Long> e : appliedTerm.entrySet()) {
      long index = e.getKey();
      if (index > base && leader.log.term(index) != e.getValue()) {
        violation(
            "leader completeness: "
                + leader.id
                + " leads term "
                + term
                + " with term "
                + leader.log.term(index)
                + " at "
                + index
                + ", where an entry of term "
                + e.getValue()
                + " was applied");
        return;
      }
    }
  }

  /** A command a server's state machine applies. */
  void applied(SimServer at, long index, ByteBuffer command) {
    byte[] bytes = new byte[command.remaining()];
    command.duplicate().get(bytes);
    byte[] known = applied.putIfAbsent(index, bytes);
    if (known != null && !java.util.Arrays.equals(known, bytes)) {
      violation("state machine safety: " + at.id + " applied another command at " + index);
    }
    if (known == null && index > at.log.baseIndex() && index <= at.log.lastIndex()) {
      appliedTerm.put(index, at.log.term(index));
    }
    if (uniqueCommands) {
      ByteBuffer key = ByteBuffer.wrap(bytes);
      if (sessionCommands.contains(key)) {
        Long first = sessionApplied.putIfAbsent(key, index);
        if (first != null && first != index) {
          violation(
              "exactly-once: a session command was applied at "
                  + first
                  + " and again at "
                  + index
                  + " (on "
                  + at.id
                  + ")");
        }
      }
    }
  }

  /** Notes a command that a client submits in a session. */
  void sessionCommand(ByteBuffer command) {
    if (uniqueCommands) {
      byte[] bytes = new byte[command.remaining()];
      command.duplicate().get(bytes);
      sessionCommands.add(ByteBuffer.wrap(bytes));
    }
  }

  /** Notes a stale read's answer, to be checked at the end. */
  void staleRead(String member, long index, ByteBuffer query, ByteBuffer answer) {
    staleReads.add(new StaleRead(member, index, copy(query), answer == null ? null : copy(answer)));
  }

  private static byte[] copy(ByteBuffer b) {
    byte[] bytes = new byte[b.remaining()];
    b.duplicate().get(bytes);
    return bytes;
  }

  /** Log matching over every pair of the servers' logs. */
  void logMatching(List<SimServer> servers) {
    for (int i = 0; i < servers.size(); i++) {
      for (int j = i + 1; j < servers.size(); j++) {
        logMatching(servers.get(i), servers.get(j));
      }
    }
  }

  private void logMatching(SimServer a, SimServer b) {
    long from = Math.max(a.log.baseIndex(), b.log.baseIndex()) + 1;
    long to = Math.min(a.log.lastIndex(), b.log.lastIndex());
    if (from > to) {
      return;
    }
    List<LogEntry> as = a.log.entries(from, to + 1, Long.MAX_VALUE);
    List<LogEntry> bs = b.log.entries(from, to + 1, Long.MAX_VALUE);
    int match = -1;
    for (int k = as.size() - 1; k >= 0; k--) {
      if (as.get(k).term() == bs.get(k).term()) {
        match = k;
        break;
      }
    }
    for (int k = 0; k <= match; k++) {
      LogEntry x = as.get(k);
      LogEntry y = bs.get(k);
      if (x.term() != y.term() || x.type() != y.type() || !x.payload().equals(y.payload())) {
        violation(
            "log matching: "
                + a.id
                + " and "
                + b.id
                + " agree on the term at "
                + as.get(match).index()
                + " but differ at "
                + x.index());
        return;
      }
    }
  }

  /**
   * Replays the agreed log through a fresh state machine and checks each stale read against the
   * state at its index.
   *
   * @return how many stale reads were checked
   */
  int staleReads(Supplier<StateMachine> factory) {
    if (staleReads.isEmpty()) {
      return 0;
    }
    staleReads.sort((x, y) -> Long.compare(x.index, y.index));
    StateMachine reference = factory.get();
    int next = 0;
    long at = 0;
    for (StaleRead r : staleReads) {
      while (at < r.index) {
        at++;
        byte[] command = applied.get(at);
        if (command != null) {
          reference.apply(at, ByteBuffer.wrap(command).asReadOnlyBuffer());
        }
      }
      ByteBuffer expected = reference.query(ByteBuffer.wrap(r.query).asReadOnlyBuffer());
      ByteBuffer got = r.answer == null ? null : ByteBuffer.wrap(r.answer);
      if (expected == null ? got != null : !expected.equals(got)) {
        violation(
            "stale read: "
                + r.member
                + " answered at index "
                + r.index
                + " what the state machine does not answer there");
        break;
      }
      next++;
    }
    return next;
  }
}
