package org.flotilla.raft.internal.core;

import java.util.List;
import org.flotilla.raft.cluster.Role;
import org.flotilla.raft.message.AppendEntries;
import org.flotilla.raft.message.AppendEntriesResponse;
import org.flotilla.raft.message.Heartbeat;
import org.flotilla.raft.message.HeartbeatResponse;
import org.flotilla.raft.message.InstallSnapshot;
import org.flotilla.raft.message.LogEntry;
import org.flotilla.raft.message.RaftMessage;
import org.flotilla.raft.message.ReadIndexRequest;
import org.flotilla.raft.message.TimeoutNow;
import org.flotilla.raft.spi.SnapshotMeta;

/**
 * The follower and learner roles: taking entries, commit indexes and snapshots from the leader
 * (§5.3, §7), and acknowledging only what is both durable and known to match the leader's log.
 *
 * <p>Owned by a {@link RaftCore} and confined to its driver's thread. Its state ({@code verified},
 * {@code acked}) concerns the current leader's term: {@link #reset()} clears it on every role or
 * term change.
 */
final class Following {

  private final RaftCore core;
  private final RaftLog log;
  // Highest index known to match the current leader's log in this term, and the highest match
  // index acknowledged to it.
  private long verified;
  private long acked;

  Following(RaftCore core) {
    this.core = core;
    this.log = core.log;
  }

  void reset() {
    verified = 0;
    acked = 0;
  }

  /**
   * The follower's and learner's step function, for a message of the current term; a candidate
   * hands it the leader's messages too, which make it a follower (votes and read answers are
   * handled by the core for every role).
   */
  void step(RaftMessage m) {
    if (m instanceof AppendEntries ae) {
      handleAppendEntries(ae);
    } else if (m instanceof Heartbeat hb) {
      handleHeartbeat(hb);
    } else if (m instanceof InstallSnapshot is) {
      handleInstallSnapshot(is);
    } else if (m instanceof TimeoutNow) {
      core.election.timeoutNow();
    } else if (m instanceof ReadIndexRequest rir) {
      core.reads.refuse(rir);
    }
    // Responses to a leader's or a candidate's messages mean nothing here.
  }

  private void acceptLeader(String from) {
    if (core.role != Role.FOLLOWER && core.role != Role.LEARNER) {
      core.becomeFollower(core.term, from);
    }
    core.leader = from;
    core.electionElapsed = 0;
  }

  private void handleAppendEntries(AppendEntries ae) {
    acceptLeader(ae.from());
    long prev = ae.prevLogIndex();
    List<LogEntry> entries = ae.entries();
    long committed = log.committed();
    if (prev < committed) {
      // Entries up to our commit index are committed and so match the leader's (§5.4): skip
      // them, which also covers a prevLogIndex that we compacted away.
      int skip = (int) Math.min(entries.size(), committed - prev);
      entries = entries.subList(skip, entries.size());
      prev = committed;
      if (entries.isEmpty() && ae.lastIndex() < committed) {
        verified = Math.max(verified, ae.lastIndex());
        sendAck(ae.from(), true);
        return;
      }
    } else if (!log.matchTerm(prev, ae.prevLogTerm())) {
      // §5.3: reply false if the log doesn't contain an entry at prevLogIndex whose term matches
      // prevLogTerm.
      long hint = log.lastIndexAtOrBelowTerm(Math.min(prev, log.lastIndex()), ae.prevLogTerm());
      long hintTerm = Math.max(0, log.term(hint));
      core.send(
          new AppendEntriesResponse(core.id, ae.from(), core.term, false, 0, prev, hint, hintTerm));
      return;
    }
    // §5.3: if an existing entry conflicts with a new one (same index, different term), delete
    // the existing entry and all that follow it; append any new entries not already in the log.
    int firstNew = entries.size();
    for (int i = 0; i < entries.size(); i++) {
      LogEntry e = entries.get(i);
      if (Mutations.KEEP_CONFLICTING_ENTRIES || Mutations.TRUNCATE_MATCHING_ENTRIES) {
        // Mutants: append only past our last index / truncate even where entries match.
        if (Mutations.TRUNCATE_MATCHING_ENTRIES || e.index() > log.lastIndex()) {
          firstNew = i;
          break;
        }
      } else if (!log.matchTerm(e.index(), e.term())) {
        firstNew = i;
        break;
      }
    }
    if (firstNew < entries.size()) {
      core.append(entries.subList(firstNew, entries.size()));
    }
    long lastNew = prev + entries.size();
    verified = Math.max(verified, lastNew);
    // §5.3: if leaderCommit > commitIndex, set commitIndex = min(leaderCommit, last new entry).
    // Mutant COMMIT_BEYOND_MATCH bounds by our last index instead of the last verified entry.
    log.commitTo(
        Math.min(ae.leaderCommit(), Mutations.COMMIT_BEYOND_MATCH ? log.lastIndex() : lastNew));
    core.pruneConfigs();
    sendAck(ae.from(), true);
  }

  /**
   * Acknowledges to the leader what is both persisted and known to match its log. A follower
   * acknowledges only persisted entries, so the leader's commit decisions count durable copies.
   */
  void sendAck(String to, boolean force) {
    // Mutant ACK_BEFORE_DURABLE acknowledges appended, not durable, entries.
    long ack = Mutations.ACK_BEFORE_DURABLE ? verified : Math.min(log.persisted(), verified);
    if (ack > acked || (force && ack >= verified)) {
      acked = Math.max(acked, ack);
      core.send(new AppendEntriesResponse(core.id, to, core.term, true, ack, 0, 0, 0));
    }
  }

  private void handleHeartbeat(Heartbeat hb) {
    acceptLeader(hb.from());
    if (hb.commitIndex() > log.lastIndex()) {
      // The leader sends min(its commit, our match): it believes we hold entries that our log lost
      // (a lost disk write, found at restart). Say where our log ends, so that it repairs us now
      // rather than at its next append.
      core.send(
          new AppendEntriesResponse(
              core.id, hb.from(), core.term, false, 0, hb.commitIndex(), log.lastIndex(), 0));
    }
    // The leader sends min(its commit, our match), so this never passes our matching prefix.
    log.commitTo(Math.min(hb.commitIndex(), log.lastIndex()));
    core.pruneConfigs();
    // The leader quiesces the group: follow it if this log is exactly the committed one (then
    // nothing is owed either way) and the driver has nothing that needs ticks. The answer says
    // which: a follower that stays awake wakes the leader with it, so that the leader goes on
    // heartbeating it (an awake follower left without heartbeats would time out and, with the
    // other followers as silent, win an election) and quiesces the group at a later heartbeat.
    if (hb.quiesce()
        && log.lastIndex() == hb.commitIndex()
        && log.committed() == hb.commitIndex()
        && !core.awaitingRepair()
        && core.quiesceAllowed.getAsBoolean()) {
      core.quiesced = true;
    }
    core.send(new HeartbeatResponse(core.id, hb.from(), core.term, hb.round(), core.quiesced));
  }

  private void handleInstallSnapshot(InstallSnapshot is) {
    acceptLeader(is.from());
    if (!is.done()) {
      // Chunks are streamed and stored by the driver; only the last one reaches the decision.
      return;
    }
    SnapshotMeta meta = new SnapshotMeta(is.snapshotIndex(), is.snapshotTerm(), is.configuration());
    if (meta.index() > log.committed() || Mutations.STALE_SNAPSHOT_INSTALLED) {
      // Mutant STALE_SNAPSHOT_INSTALLED resets the log to a snapshot it already covers.
      if (!Mutations.STALE_SNAPSHOT_INSTALLED && log.matchTerm(meta.index(), meta.term())) {
        // We already hold the snapshot's last entry: it and all before it are committed.
        log.commitTo(meta.index());
      } else {
        // §7: discard the entire log and reset from the snapshot.
        log.restore(meta);
        core.configs.restore(meta.index(), meta.configuration());
        if (core.latestSnapshot == null || core.latestSnapshot.index() < meta.index()) {
          core.latestSnapshot = meta;
        }
        core.role = core.promotable() ? Role.FOLLOWER : Role.LEARNER;
      }
    }
    verified = Math.max(verified, meta.index());
    long ack = Math.min(log.persisted(), verified);
    acked = Math.max(acked, ack);
    core.send(new AppendEntriesResponse(core.id, is.from(), core.term, true, ack, 0, 0, 0));
  }
}
