package org.flotilla.raft.metrics;

import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.ReentrantLock;
import javax.management.InstanceNotFoundException;
import javax.management.JMException;
import javax.management.MBeanServer;
import javax.management.MalformedObjectNameException;
import javax.management.ObjectName;
import javax.management.StandardMBean;
import org.flotilla.raft.NodeStatus;
import org.flotilla.raft.cluster.Configuration;
import org.flotilla.raft.cluster.Member;
import org.flotilla.raft.cluster.Role;
import org.flotilla.raft.spi.PeerStats;
import org.flotilla.raft.spi.RaftMetrics;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@link RaftMetrics} that keep counters and distributions in memory and publish them, with the
 * node's gauges, as MBeans: {@code org.flotilla:type=RaftNode,group=<group>,node=<id>} (a {@link
 * RaftNodeMXBean}) and, for every other member of the configuration, {@code
 * org.flotilla:type=RaftPeer,group=<group>,node=<id>,peer=<peer>} (a {@link RaftPeerMXBean}). They
 * appear in {@code jconsole} and any JMX client; docs/metrics.md lists them.
 *
 * <pre>{@code
 * JmxRaftMetrics metrics = new JmxRaftMetrics();
 * RaftNode node = RaftNode.builder()....metrics(metrics).build();
 * node.start();                            // registers the MBeans
 * long commits = metrics.getEntriesCommitted();
 * node.close();                            // unregisters them
 * }</pre>
 *
 * <p>One instance serves one node. Memory is bounded (a fixed number of counters and buckets per
 * node and per peer); recording allocates nothing and takes no lock.
 *
 * <p>Thread-safe. Counters are {@link LongAdder}s and distributions lock-free {@link Histogram}s,
 * written by the node's threads as documented in {@link RaftMetrics} and read by any thread. The
 * MBean registrations (the node bean and the set of peer beans) are changed only under {@link
 * #registrationLock}, on the thread that starts or closes the node and on the callback executor,
 * never on the event loop.
 */
public final class JmxRaftMetrics implements RaftMetrics, RaftNodeMXBean {

  private static final Logger LOG = LoggerFactory.getLogger(JmxRaftMetrics.class);

  /** The JMX domain of every Flotilla MBean. */
  public static final String DOMAIN = "org.flotilla";

  private final MBeanServer server;

  private final LongAdder proposals = new LongAdder();
  private final LongAdder proposalsRejected = new LongAdder();
  private final LongAdder entriesCommitted = new LongAdder();
  private final LongAdder entriesApplied = new LongAdder();
  private final LongAdder electionsStarted = new LongAdder();
  private final LongAdder electionsWon = new LongAdder();
  private final LongAdder leaderChanges = new LongAdder();
  private final LongAdder snapshotsTaken = new LongAdder();
  private final LongAdder snapshotsInstalled = new LongAdder();
  private final AtomicLong lastSnapshotBytes = new AtomicLong();
  private final Histogram applyLatency = new Histogram(Histogram.LATENCY_BOUNDS_NANOS);
  private final Histogram applyBatch = new Histogram(Histogram.SIZE_BOUNDS);
  private final Histogram appendLatency = new Histogram(Histogram.LATENCY_BOUNDS_NANOS);
  private final Histogram appendBatch = new Histogram(Histogram.SIZE_BOUNDS);
  private final Histogram syncLatency = new Histogram(Histogram.LATENCY_BOUNDS_NANOS);
  private final Histogram syncBatch = new Histogram(Histogram.SIZE_BOUNDS);
  private final Histogram snapshotDuration = new Histogram(Histogram.LATENCY_BOUNDS_NANOS);

  // Written once by register (before any reader can reach the beans), read by any thread.
  private volatile Gauges gauges;
  // Written once by nodeFailed, read by any thread.
  private volatile NodeStatus.Failure failure;

  // Guarded by registrationLock.
  private final ReentrantLock registrationLock = new ReentrantLock();
  private ObjectName nodeName;
  private boolean unregistered;
  // Written under registrationLock; read by any thread (peers()).
  private final Map<String, PeerBean> peerBeans = new ConcurrentHashMap<>();

  /** Creates metrics that register in the platform MBean server. */
  public JmxRaftMetrics() {
    this(ManagementFactory.getPlatformMBeanServer());
  }

  /**
   * Creates metrics that register in the given MBean server.
   *
   * @param server the server
   */
  public JmxRaftMetrics(MBeanServer server) {
    if (server == null) {
      throw new IllegalArgumentException("server is null");
    }
    this.server = server;
  }

  /**
   * Returns the object name of a node's MBean.
   *
   * @param groupId the group id
   * @param nodeId the node id
   * @return {@code org.flotilla:type=RaftNode,group=<groupId>,node=<nodeId>}
   * @throws IllegalArgumentException if the ids do not make a valid object name
   */
  public static ObjectName nodeObjectName(String groupId, String nodeId) {
    return name("type=RaftNode,group=" + groupId + ",node=" + nodeId);
  }

  /**
   * Returns the object name of the MBean of a node's view of one peer.
   *
   * @param groupId the group id
   * @param nodeId the node id
   * @param peerId the peer's id
   * @return {@code org.flotilla:type=RaftPeer,group=<groupId>,node=<nodeId>,peer=<peerId>}
   * @throws IllegalArgumentException if the ids do not make a valid object name
   */
  public static ObjectName peerObjectName(String groupId, String nodeId, String peerId) {
    return name("type=RaftPeer,group=" + groupId + ",node=" + nodeId + ",peer=" + peerId);
  }

  private static ObjectName name(String properties) {
    try {
      return new ObjectName(DOMAIN + ":" + properties);
    } catch (MalformedObjectNameException e) {
      throw new IllegalArgumentException("invalid MBean name " + properties, e);
    }
  }

  // ---------------------------------------------------------------- lifecycle

  /**
   * Registers the node's MBean and one per peer.
   *
   * @param gauges the node's gauges
   * @throws IllegalStateException if these metrics already serve a node, or the MBean server
   *     refuses the registration (for example a node of the same group and id is registered)
   */
  @Override
  public void register(Gauges gauges) {
    registrationLock.lock();
    try {
      if (this.gauges != null) {
        throw new IllegalStateException("these JmxRaftMetrics already serve node " + nodeName);
      }
      this.gauges = gauges;
      ObjectName name = nodeObjectName(gauges.groupId(), gauges.nodeId());
      try {
        server.registerMBean(new StandardMBean(this, RaftNodeMXBean.class, true), name);
      } catch (JMException e) {
        throw new IllegalStateException("cannot register MBean " + name + ": " + e, e);
      }
      nodeName = name;
      reconcilePeers();
    } finally {
      registrationLock.unlock();
    }
  }

  /** Unregisters the MBeans; later calls of {@link #membershipChanged} register nothing. */
  @Override
  public void unregister() {
    registrationLock.lock();
    try {
      if (unregistered) {
        return;
      }
      unregistered = true;
      for (PeerBean p : peerBeans.values()) {
        unregisterQuietly(p.name);
      }
      peerBeans.clear();
      if (nodeName != null) {
        unregisterQuietly(nodeName);
      }
    } finally {
      registrationLock.unlock();
    }
  }

  @Override
  public void membershipChanged(Configuration configuration) {
    registrationLock.lock();
    try {
      reconcilePeers();
    } finally {
      registrationLock.unlock();
    }
  }

  /**
   * Registers beans for the members of the newest known configuration and unregisters the others.
   * Callers may be handed configurations out of order, so the newest status decides. Under the
   * registration lock.
   */
  private void reconcilePeers() {
    Gauges g = gauges;
    if (g == null || unregistered) {
      return;
    }
    NodeStatus status = g.status();
    if (status == null) {
      return;
    }
    Set<String> wanted = new HashSet<>();
    for (Member m : status.configuration().all()) {
      if (!m.id().equals(g.nodeId())) {
        wanted.add(m.id());
      }
    }
    for (String peer : List.copyOf(peerBeans.keySet())) {
      if (!wanted.contains(peer)) {
        unregisterQuietly(peerBeans.remove(peer).name);
      }
    }
    for (String peer : wanted) {
      if (peerBeans.containsKey(peer)) {
        continue;
      }
      PeerBean bean = new PeerBean(peer, peerObjectName(g.groupId(), g.nodeId(), peer));
      try {
        server.registerMBean(new StandardMBean(bean, RaftPeerMXBean.class, true), bean.name);
        peerBeans.put(peer, bean);
      } catch (JMException e) {
        LOG.warn(
            "{}/{}: cannot register MBean {}; the peer's metrics stay invisible over JMX",
            g.groupId(),
            g.nodeId(),
            bean.name,
            e);
      }
    }
  }

  private void unregisterQuietly(ObjectName name) {
    try {
      server.unregisterMBean(name);
    } catch (InstanceNotFoundException e) {
      LOG.debug("MBean {} was already unregistered", name);
    } catch (JMException e) {
      LOG.warn("cannot unregister MBean {}", name, e);
    }
  }

  /**
   * Returns the views of the peers that have an MBean, for exporters other than JMX (the example
   * server's Prometheus endpoint reads them).
   *
   * @return the peer views, sorted by peer id
   */
  public List<RaftPeerMXBean> peers() {
    List<RaftPeerMXBean> out = new ArrayList<>(peerBeans.values());
    out.sort((a, b) -> a.getPeerId().compareTo(b.getPeerId()));
    return out;
  }

  // ---------------------------------------------------------------- recording

  @Override
  public void proposalAccepted(int bytes) {
    proposals.increment();
  }

  @Override
  public void proposalRejected() {
    proposalsRejected.increment();
  }

  @Override
  public void logAppended(int entries, long nanos) {
    appendLatency.record(nanos);
    appendBatch.record(entries);
  }

  @Override
  public void logSynced(long entries, long bytes, long nanos) {
    syncLatency.record(nanos);
    syncBatch.record(entries);
  }

  @Override
  public void entriesCommitted(int entries, long commitIndex) {
    entriesCommitted.add(entries);
  }

  @Override
  public void entriesApplied(int entries, long nanos) {
    entriesApplied.add(entries);
    applyLatency.record(nanos);
    applyBatch.record(entries);
  }

  @Override
  public void electionStarted(long term) {
    electionsStarted.increment();
  }

  @Override
  public void electionWon(long term) {
    electionsWon.increment();
  }

  @Override
  public void leaderChanged(String leaderId, long term) {
    leaderChanges.increment();
  }

  @Override
  public void snapshotTaken(long index, long bytes, long nanos) {
    snapshotsTaken.increment();
    lastSnapshotBytes.set(bytes);
    snapshotDuration.record(nanos);
  }

  @Override
  public void snapshotInstalled(long index, long bytes) {
    snapshotsInstalled.increment();
    lastSnapshotBytes.set(bytes);
  }

  @Override
  public void nodeFailed(NodeStatus.Failure failure) {
    this.failure = failure;
  }

  // ---------------------------------------------------------------- RaftNodeMXBean

  @Override
  public String getGroupId() {
    Gauges g = gauges;
    return g == null ? "" : g.groupId();
  }

  @Override
  public String getNodeId() {
    Gauges g = gauges;
    return g == null ? "" : g.nodeId();
  }

  @Override
  public String getRole() {
    Gauges g = gauges;
    Role r = g == null ? null : g.role();
    return r == null ? "" : r.name();
  }

  @Override
  public boolean isFailed() {
    return failure != null;
  }

  @Override
  public String getFailure() {
    NodeStatus.Failure f = failure;
    return f == null ? "" : f.reason() + ": " + f.cause();
  }

  @Override
  public String getLeader() {
    Gauges g = gauges;
    String l = g == null ? null : g.leader();
    return l == null ? "" : l;
  }

  @Override
  public long getTerm() {
    Gauges g = gauges;
    return g == null ? 0 : g.term();
  }

  @Override
  public long getCommitIndex() {
    Gauges g = gauges;
    return g == null ? 0 : g.commitIndex();
  }

  @Override
  public long getAppliedIndex() {
    Gauges g = gauges;
    return g == null ? 0 : g.appliedIndex();
  }

  @Override
  public long getLastIndex() {
    Gauges g = gauges;
    return g == null ? 0 : g.lastIndex();
  }

  @Override
  public long getSnapshotIndex() {
    Gauges g = gauges;
    NodeStatus s = g == null ? null : g.status();
    return s == null ? 0 : s.snapshotIndex();
  }

  @Override
  public long getProposals() {
    return proposals.sum();
  }

  @Override
  public long getProposalsRejected() {
    return proposalsRejected.sum();
  }

  @Override
  public long getEntriesCommitted() {
    return entriesCommitted.sum();
  }

  @Override
  public long getEntriesApplied() {
    return entriesApplied.sum();
  }

  @Override
  public long getElectionsStarted() {
    return electionsStarted.sum();
  }

  @Override
  public long getElectionsWon() {
    return electionsWon.sum();
  }

  @Override
  public long getLeaderChanges() {
    return leaderChanges.sum();
  }

  @Override
  public long getSnapshotsTaken() {
    return snapshotsTaken.sum();
  }

  @Override
  public long getSnapshotsInstalled() {
    return snapshotsInstalled.sum();
  }

  @Override
  public long getLastSnapshotBytes() {
    return lastSnapshotBytes.get();
  }

  @Override
  public long getSnapshotSendBytesDone() {
    return transferBytes(true, true);
  }

  @Override
  public long getSnapshotSendBytesTotal() {
    return transferBytes(true, false);
  }

  @Override
  public long getSnapshotReceiveBytesDone() {
    return transferBytes(false, true);
  }

  @Override
  public long getSnapshotReceiveBytesTotal() {
    return transferBytes(false, false);
  }

  /** Sums the done or total bytes of the transfers under way in one direction. */
  private long transferBytes(boolean sending, boolean done) {
    Gauges g = gauges;
    NodeStatus s = g == null ? null : g.status();
    long sum = 0;
    if (s != null) {
      for (NodeStatus.SnapshotTransfer t : s.snapshotTransfers()) {
        if (t.sending() == sending) {
          sum += done ? t.bytesDone() : t.bytesTotal();
        }
      }
    }
    return sum;
  }

  @Override
  public Distribution getApplyLatency() {
    return applyLatency.snapshot();
  }

  @Override
  public Distribution getApplyBatchSize() {
    return applyBatch.snapshot();
  }

  @Override
  public Distribution getLogAppendLatency() {
    return appendLatency.snapshot();
  }

  @Override
  public Distribution getLogAppendBatchSize() {
    return appendBatch.snapshot();
  }

  @Override
  public Distribution getLogSyncLatency() {
    return syncLatency.snapshot();
  }

  @Override
  public Distribution getLogSyncBatchSize() {
    return syncBatch.snapshot();
  }

  @Override
  public Distribution getSnapshotDuration() {
    return snapshotDuration.snapshot();
  }

  @Override
  public String toString() {
    return "JmxRaftMetrics[" + getGroupId() + "/" + getNodeId() + "]";
  }

  // ---------------------------------------------------------------- peers

  /** One peer's MBean: reads the node's status and the transport's stats on every access. */
  private final class PeerBean implements RaftPeerMXBean {
    private final String peer;
    private final ObjectName name;

    PeerBean(String peer, ObjectName name) {
      this.peer = peer;
      this.name = name;
    }

    private NodeStatus.PeerStatus progress() {
      NodeStatus s = gauges.status();
      if (s == null || s.role() != Role.LEADER) {
        return null;
      }
      for (NodeStatus.PeerStatus p : s.peers()) {
        if (p.id().equals(peer)) {
          return p;
        }
      }
      return null;
    }

    private PeerStats stats() {
      for (PeerStats p : gauges.transportPeers()) {
        if (p.peer().equals(peer)) {
          return p;
        }
      }
      return null;
    }

    @Override
    public String getPeerId() {
      return peer;
    }

    @Override
    public boolean isVoter() {
      NodeStatus s = gauges.status();
      return s != null && s.configuration().isVoter(peer);
    }

    @Override
    public long getMatchIndex() {
      NodeStatus.PeerStatus p = progress();
      return p == null ? -1 : p.matchIndex();
    }

    @Override
    public long getLag() {
      NodeStatus.PeerStatus p = progress();
      return p == null ? -1 : Math.max(0, gauges.lastIndex() - p.matchIndex());
    }

    @Override
    public String getReplicationState() {
      NodeStatus.PeerStatus p = progress();
      return p == null ? "" : p.state();
    }

    @Override
    public String getConnectionState() {
      PeerStats p = stats();
      return p == null ? "" : p.state().name();
    }

    @Override
    public long getMessagesSent() {
      PeerStats p = stats();
      return p == null ? 0 : p.messagesSent();
    }

    @Override
    public long getBytesSent() {
      PeerStats p = stats();
      return p == null ? 0 : p.bytesSent();
    }

    @Override
    public long getMessagesReceived() {
      PeerStats p = stats();
      return p == null ? 0 : p.messagesReceived();
    }

    @Override
    public long getBytesReceived() {
      PeerStats p = stats();
      return p == null ? 0 : p.bytesReceived();
    }

    @Override
    public long getMessagesDropped() {
      PeerStats p = stats();
      return p == null ? 0 : p.messagesDropped();
    }
  }
}
