package org.flotilla.raft.internal.runtime;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Supplier;
import org.flotilla.raft.NodeStatus;
import org.flotilla.raft.cluster.Configuration;
import org.flotilla.raft.cluster.Role;
import org.flotilla.raft.internal.core.Progress;
import org.flotilla.raft.internal.core.RaftCore;
import org.flotilla.raft.spi.PeerStats;
import org.flotilla.raft.spi.RaftMetrics;
import org.flotilla.raft.spi.SnapshotMeta;

/**
 * What a node publishes about itself to other threads: the {@link NodeStatus} that {@code
 * RaftNode.status()} returns and the gauges the metrics read.
 *
 * <p>Threading: the event loop writes both (the status on every role or membership change and every
 * ten ticks, the gauges at the end of every turn); a fatal error may publish the failed view from
 * any thread ({@link #publishFailure}), and the loop publishes it again as it finishes. Every field
 * is volatile; readers on any thread see a whole {@code NodeStatus} or an older one.
 */
final class StatusBoard implements RaftMetrics.Gauges {

  private final String groupId;
  private final String id;
  private final Applier applier;
  private final Supplier<List<PeerStats>> transportPeers;
  private final long tickNanos;

  private volatile NodeStatus status;
  private volatile long term;
  private volatile long commitIndex;
  private volatile long lastIndex;
  private volatile Role role;
  private volatile String leader;

  StatusBoard(
      String groupId,
      String id,
      Applier applier,
      Supplier<List<PeerStats>> transportPeers,
      long tickNanos) {
    this.groupId = groupId;
    this.id = id;
    this.applier = applier;
    this.transportPeers = transportPeers;
    this.tickNanos = tickNanos;
  }

  /** Publishes the gauges from the core (event loop). */
  void publishGauges(RaftCore core, NodeStatus.Failure failure) {
    term = core.term();
    commitIndex = core.commitIndex();
    lastIndex = core.lastIndex();
    role = failure != null ? Role.FAILED : core.role();
    leader = failure != null ? null : core.leader();
  }

  /** Publishes the commit index gauge alone, before committed entries are handed to apply. */
  void publishCommitIndex(long index) {
    commitIndex = index;
  }

  /** Publishes a fresh status from the core (event loop). */
  void refresh(
      RaftCore core, List<NodeStatus.SnapshotTransfer> transfers, NodeStatus.Failure failure) {
    List<NodeStatus.PeerStatus> peers = new ArrayList<>();
    Configuration c = core.configuration();
    for (Map.Entry<String, Progress> e : core.progress().entrySet()) {
      Progress p = e.getValue();
      long sinceHeard = p.ticksSinceHeard(core.now());
      peers.add(
          new NodeStatus.PeerStatus(
              e.getKey(),
              c.isVoter(e.getKey()),
              p.match(),
              p.next(),
              p.state().name(),
              p.recentActive(),
              sinceHeard < 0 ? -1 : sinceHeard * tickNanos / 1_000_000));
    }
    SnapshotMeta s = core.latestSnapshot();
    NodeStatus fresh =
        new NodeStatus(
            id,
            core.role(),
            core.term(),
            Optional.ofNullable(core.leader()),
            core.commitIndex(),
            applier.appliedIndex(),
            core.lastIndex(),
            s == null ? 0 : s.index(),
            c,
            peers,
            transfers,
            Optional.empty());
    status = failure == null ? fresh : failed(fresh, failure);
  }

  /**
   * Publishes the failed view: the status (role FAILED, the indexes reached, no leader, no peers)
   * and the role gauge. From any thread.
   */
  void publishFailure(NodeStatus.Failure f) {
    role = Role.FAILED;
    leader = null;
    NodeStatus s = status;
    if (s != null) {
      status = failed(s, f);
    }
  }

  private NodeStatus failed(NodeStatus s, NodeStatus.Failure f) {
    return new NodeStatus(
        s.id(),
        Role.FAILED,
        s.term(),
        Optional.empty(),
        s.commitIndex(),
        applier.appliedIndex(),
        s.lastIndex(),
        s.snapshotIndex(),
        s.configuration(),
        List.of(),
        List.of(),
        Optional.of(f));
  }

  @Override
  public String groupId() {
    return groupId;
  }

  @Override
  public String nodeId() {
    return id;
  }

  @Override
  public long term() {
    return term;
  }

  @Override
  public Role role() {
    return role;
  }

  @Override
  public String leader() {
    return leader;
  }

  @Override
  public long commitIndex() {
    return commitIndex;
  }

  @Override
  public long appliedIndex() {
    return applier.appliedIndex();
  }

  @Override
  public long lastIndex() {
    return lastIndex;
  }

  @Override
  public NodeStatus status() {
    return status;
  }

  @Override
  public List<PeerStats> transportPeers() {
    return transportPeers.get();
  }
}
