package org.flotilla.raft.internal.runtime;

import java.util.Objects;
import org.flotilla.raft.RaftListener;
import org.flotilla.raft.RaftNode;
import org.flotilla.raft.cluster.Configuration;
import org.flotilla.raft.cluster.Member;
import org.flotilla.raft.cluster.Role;
import org.flotilla.raft.internal.core.RaftCore;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reports what changed in the core after each batch of its work: role, term, leader, configuration,
 * and the repair of a lost log tail. Each change is logged once (one line naming only what
 * changed), reaches the listeners on the callback executor and the metrics, refreshes the published
 * status, settles the membership work that waited for it, and updates the transport's members.
 *
 * <p>Threading: the event loop's (and {@code start}'s, before the loop runs); no field is read
 * elsewhere.
 */
final class ChangeReporter {

  private static final Logger LOG = LoggerFactory.getLogger(RaftNode.class);

  private final NodeRuntime node;
  private Role lastRole;
  private long lastTerm = -1;
  private String lastLeader;
  private Configuration lastConfig;
  // the core's configurationsVersion() when the transport's members were last updated
  private long reachableVersion;
  // the core's awaitingRepair() as last logged
  private boolean awaitingRepair;

  ChangeReporter(NodeRuntime node) {
    this.node = node;
  }

  /** A core was created at start: notes (and warns of) a log that lost a tail it acknowledged. */
  void started(RaftCore core) {
    awaitingRepair = core.awaitingRepair();
    if (awaitingRepair) {
      LOG.warn(
          "{}: the log ends at {} but this member may have acknowledged up to {}@{} (its disk lost"
              + " a write it had reported durable): it will not campaign, and votes only for"
              + " members that hold that entry, until a leader has repaired its log",
          node.who,
          core.lastIndex(),
          core.durableMark().index(),
          core.durableMark().term());
    }
    lastConfig = core.configuration();
  }

  /** Hands the transport the members to connect to, at start. */
  void publishMembers(RaftCore core) {
    node.transport.updateMembers(core.reachableMembers());
    reachableVersion = core.configurationsVersion();
    lastConfig = core.configuration();
  }

  /** The configuration last reported. */
  Configuration lastConfig() {
    return lastConfig;
  }

  /** Reports what changed since the last call (event loop, after a batch of the core's work). */
  void observe() {
    RaftCore core = node.core;
    if (awaitingRepair && !core.awaitingRepair()) {
      awaitingRepair = false;
      LOG.info(
          "{}: the leader repaired the log past {}; this member votes and campaigns again",
          node.who,
          core.durableMark().index());
    }
    Role role = core.role();
    long term = core.term();
    String leader = core.leader();
    boolean leaderChanged = !Objects.equals(leader, lastLeader);
    if (role != lastRole || term != lastTerm || leaderChanged) {
      logChange(role, term, leader);
    }
    if (role != lastRole || term != lastTerm) {
      if (role != lastRole && role == Role.CANDIDATE) {
        node.metrics.electionStarted(term);
      } else if (role != lastRole && role == Role.LEADER) {
        node.metrics.electionWon(term);
      }
      Role r = role;
      for (RaftListener l : node.listeners) {
        node.callback(() -> l.onRoleChange(r, term));
      }
      if (lastRole == Role.LEADER && role != Role.LEADER) {
        node.transfers.stopSending();
        node.membership.leadershipLost();
      }
      lastRole = role;
      lastTerm = term;
      node.refreshStatus();
    }
    if (leaderChanged) {
      if (leader != null) {
        node.metrics.leaderChanged(leader, term);
      }
      lastLeader = leader;
      for (RaftListener l : node.listeners) {
        node.callback(() -> l.onLeaderChange(leader, term));
      }
      node.membership.leaderChanged(leader);
      // status().leader() answers "who leads?" for clients and tools: never ten ticks stale.
      node.refreshStatus();
    }
    Configuration config = core.configuration();
    if (!config.equals(lastConfig)) {
      LOG.info("{}: configuration is now {}", node.who, describe(config));
      lastConfig = config;
      for (RaftListener l : node.listeners) {
        node.callback(() -> l.onMembershipChange(config));
      }
      node.refreshStatus();
      node.callback(() -> node.metrics.membershipChanged(config));
    }
    if (core.configurationsVersion() != reachableVersion) {
      // Members leave the transport only once the configuration that removes them commits.
      reachableVersion = core.configurationsVersion();
      node.transport.updateMembers(core.reachableMembers());
    }
    node.membership.configurationObserved();
  }

  /** Logs a role, term or leader change as one line, naming only what changed. */
  private void logChange(Role role, long term, String leader) {
    StringBuilder sb = new StringBuilder();
    if (role != lastRole) {
      sb.append(lastRole == null ? "" : lastRole + " -> ").append(role);
    } else {
      sb.append(role);
    }
    if (term != lastTerm && lastTerm >= 0) {
      sb.append(", term ").append(lastTerm).append(" -> ").append(term);
    } else {
      sb.append(" in term ").append(term);
    }
    if (!Objects.equals(leader, lastLeader)) {
      sb.append(", leader ").append(leader == null ? "unknown" : leader);
    }
    LOG.info("{}: {}", node.who, sb);
  }

  /** Describes a configuration for the log. */
  static String describe(Configuration c) {
    if (c.isEmpty()) {
      return "none yet: waiting for a leader to add this member";
    }
    StringBuilder sb = new StringBuilder("voters ");
    sb.append(c.voters().stream().map(Member::id).toList());
    if (c.isJoint()) {
      sb.append(" joint with ").append(c.outgoing().stream().map(Member::id).toList());
    }
    if (!c.learners().isEmpty()) {
      sb.append(" learners ").append(c.learners().stream().map(Member::id).toList());
    }
    return sb.toString();
  }
}
