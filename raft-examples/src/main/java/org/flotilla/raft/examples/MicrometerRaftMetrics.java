package org.flotilla.raft.examples;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.ToDoubleFunction;
import org.flotilla.raft.NodeStatus;
import org.flotilla.raft.cluster.Configuration;
import org.flotilla.raft.cluster.Member;
import org.flotilla.raft.cluster.Role;
import org.flotilla.raft.spi.PeerStats;
import org.flotilla.raft.spi.RaftMetrics;

/**
 * A {@link RaftMetrics} that reports one Flotilla node to a Micrometer {@link MeterRegistry}: every
 * counter, timer, distribution and gauge that {@code JmxRaftMetrics} publishes, under the names
 * that docs/metrics.md lists, tagged {@code group} and {@code node} (and {@code peer}, {@code role}
 * or {@code state} where a metric has one sample per peer, role or connection state).
 *
 * <pre>{@code
 * MeterRegistry registry = ...;   // Spring Boot's, or new PrometheusMeterRegistry(DEFAULT)
 * RaftNode node = RaftNode.builder()
 *     .groupId("orders").id("n1")
 *     .metrics(new MicrometerRaftMetrics(registry))
 *     // members, state machine, transport, stores ...
 *     .build();
 * }</pre>
 *
 * <p>The class depends only on raft-core and micrometer-core, so a service that uses Micrometer
 * (Spring Boot does) can copy this one file. With Micrometer's Prometheus registry the names become
 * {@code flotilla_term}, {@code flotilla_proposals_total}, {@code flotilla_apply_seconds} and so
 * on; the example server serves them at {@code GET /metrics}.
 *
 * <p>One instance serves one node: its meters are registered by {@link #register} (when the node
 * starts) and removed by {@link #unregister} (when it is closed), so a node can be restarted in the
 * same process and registry. Timers and distributions publish fixed buckets (latencies from 10 µs
 * to 10 s, batch sizes from 1 to 4096 entries), so they can be aggregated across nodes.
 *
 * <p>Thread-safe. The event methods run on the node's threads, on the path of every write: they
 * read one volatile field and record into Micrometer's meters, which are lock-free. Gauges are read
 * by the registry's scrape from the node's {@link Gauges}, which never block. The per-peer meters
 * change with the membership, only under {@link #registrationLock}, on the thread that starts or
 * closes the node and on its callback executor, never on the event loop.
 */
public final class MicrometerRaftMetrics implements RaftMetrics {

  /** Latency bucket bounds, 10 µs to 10 s in 1-2.5-5 steps, as {@code JmxRaftMetrics} keeps. */
  private static final Duration[] LATENCY_BUCKETS = latencyBuckets();

  /** Batch-size bucket bounds: the powers of two from 1 to 4096. */
  private static final double[] BATCH_BUCKETS = {
    1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096
  };

  private final MeterRegistry registry;

  /** The meters that events record into; set once by {@link #register}, then read by any thread. */
  private volatile Events events;

  // Written once by nodeFailed, read by the flotilla.failed gauge.
  private volatile NodeStatus.Failure failure;

  private final ReentrantLock registrationLock = new ReentrantLock();
  // Guarded by registrationLock: the node's own meters, and each peer's.
  private final List<Meter> nodeMeters = new ArrayList<>();
  private final Map<String, List<Meter>> peerMeters = new HashMap<>();
  private Gauges gauges;
  private Tags tags = Tags.empty();
  private boolean unregistered;

  /**
   * Creates the binding.
   *
   * @param registry where the node's meters go
   */
  public MicrometerRaftMetrics(MeterRegistry registry) {
    if (registry == null) {
      throw new IllegalArgumentException("registry is null");
    }
    this.registry = registry;
  }

  /** The meters the node's events record into. Immutable. */
  private static final class Events {
    final Counter proposals;
    final Counter proposalsRejected;
    final Counter entriesCommitted;
    final Counter entriesApplied;
    final Counter electionsStarted;
    final Counter electionsWon;
    final Counter leaderChanges;
    final Counter snapshotsTaken;
    final Counter snapshotsInstalled;
    final Timer apply;
    final DistributionSummary applyBatch;
    final Timer logAppend;
    final DistributionSummary logAppendBatch;
    final Timer logSync;
    final DistributionSummary logSyncBatch;
    final Timer snapshot;
    // The size of the last snapshot taken or installed, read by a gauge.
    volatile long lastSnapshotBytes;

    Events(MeterRegistry r, Tags t, List<Meter> out) {
      proposals =
          counter(r, t, out, "flotilla.proposals", "Commands accepted by this node as leader.");
      proposalsRejected =
          counter(
              r,
              t,
              out,
              "flotilla.proposals.rejected",
              "Commands refused for backpressure (OverloadedException).");
      entriesCommitted = counter(r, t, out, "flotilla.entries.committed", "Entries committed.");
      entriesApplied =
          counter(r, t, out, "flotilla.entries.applied", "Entries applied to the state machine.");
      electionsStarted =
          counter(
              r, t, out, "flotilla.elections.started", "Elections this node started as candidate.");
      electionsWon = counter(r, t, out, "flotilla.elections.won", "Elections this node won.");
      leaderChanges = counter(r, t, out, "flotilla.leader.changes", "Changes of the known leader.");
      snapshotsTaken = counter(r, t, out, "flotilla.snapshots.taken", "Snapshots this node took.");
      snapshotsInstalled =
          counter(r, t, out, "flotilla.snapshots.installed", "Snapshots installed from a leader.");
      apply = timer(r, t, out, "flotilla.apply", "Time to apply one batch of committed entries.");
      applyBatch = batch(r, t, out, "flotilla.apply.batch", "Entries per applied batch.");
      logAppend = timer(r, t, out, "flotilla.log.append", "Time of one LogStore.append call.");
      logAppendBatch = batch(r, t, out, "flotilla.log.append.batch", "Entries per log append.");
      logSync = timer(r, t, out, "flotilla.log.sync", "Time of one log fsync.");
      logSyncBatch =
          batch(r, t, out, "flotilla.log.sync.batch", "Entries made durable per log fsync.");
      snapshot = timer(r, t, out, "flotilla.snapshot", "Time to capture and write one snapshot.");
      out.add(
          Gauge.builder("flotilla.snapshot.last", this, e -> e.lastSnapshotBytes)
              .description("Size of the last snapshot taken or installed.")
              .baseUnit("bytes")
              .tags(t)
              .strongReference(true)
              .register(r));
    }

    private static Counter counter(
        MeterRegistry r, Tags t, List<Meter> out, String name, String help) {
      Counter c = Counter.builder(name).description(help).tags(t).register(r);
      out.add(c);
      return c;
    }

    private static Timer timer(MeterRegistry r, Tags t, List<Meter> out, String name, String help) {
      Timer timer =
          Timer.builder(name)
              .description(help)
              .tags(t)
              .serviceLevelObjectives(LATENCY_BUCKETS)
              .register(r);
      out.add(timer);
      return timer;
    }

    private static DistributionSummary batch(
        MeterRegistry r, Tags t, List<Meter> out, String name, String help) {
      DistributionSummary s =
          DistributionSummary.builder(name)
              .description(help)
              .baseUnit("entries")
              .tags(t)
              .serviceLevelObjectives(BATCH_BUCKETS)
              .register(r);
      out.add(s);
      return s;
    }
  }

  // ---------------------------------------------------------------- lifecycle

  /**
   * Registers the node's meters, and one set per peer of its configuration.
   *
   * @param g the node's gauges
   * @throws IllegalStateException if this binding already serves a node
   */
  @Override
  public void register(Gauges g) {
    registrationLock.lock();
    try {
      if (gauges != null) {
        throw new IllegalStateException("this MicrometerRaftMetrics already serves a node");
      }
      gauges = g;
      tags = Tags.of("group", g.groupId(), "node", g.nodeId());
      nodeMeters.add(gauge("flotilla.term", "The node's current term.", null, x -> x.term()));
      nodeMeters.add(
          gauge("flotilla.commit.index", "The node's commit index.", null, x -> x.commitIndex()));
      nodeMeters.add(
          gauge(
              "flotilla.applied.index",
              "The index the state machine applied.",
              null,
              x -> x.appliedIndex()));
      nodeMeters.add(
          gauge(
              "flotilla.last.index", "The index of the last log entry.", null, x -> x.lastIndex()));
      nodeMeters.add(
          gauge(
              "flotilla.snapshot.index",
              "The index of the newest snapshot.",
              null,
              x -> {
                NodeStatus s = x.status();
                return s == null ? 0 : s.snapshotIndex();
              }));
      for (Role role : Role.values()) {
        nodeMeters.add(
            gauge(
                "flotilla.role",
                "1 for the node's current role, 0 for the others.",
                Tags.of("role", role.name()),
                x -> x.role() == role ? 1 : 0));
      }
      nodeMeters.add(
          gauge(
              "flotilla.is.leader",
              "1 if this node is the leader.",
              null,
              x -> x.role() == Role.LEADER ? 1 : 0));
      nodeMeters.add(
          gauge(
              "flotilla.failed",
              "1 if this node stopped after a fatal error (see /status for the cause).",
              null,
              x -> failure == null ? 0 : 1));
      nodeMeters.add(
          bytes(
              "flotilla.snapshot.send.done",
              "Bytes of the snapshots being sent that their receivers acknowledged.",
              x -> transferBytes(x, true, true)));
      nodeMeters.add(
          bytes(
              "flotilla.snapshot.send.size",
              "Total size of the snapshots being sent.",
              x -> transferBytes(x, true, false)));
      nodeMeters.add(
          bytes(
              "flotilla.snapshot.receive.done",
              "Bytes stored so far of the snapshot being received from the leader.",
              x -> transferBytes(x, false, true)));
      nodeMeters.add(
          bytes(
              "flotilla.snapshot.receive.size",
              "Size of the snapshot being received from the leader.",
              x -> transferBytes(x, false, false)));
      events = new Events(registry, tags, nodeMeters);
      reconcilePeers();
    } finally {
      registrationLock.unlock();
    }
  }

  /** Removes every meter of the node from the registry; later membership changes add none. */
  @Override
  public void unregister() {
    registrationLock.lock();
    try {
      if (unregistered) {
        return;
      }
      unregistered = true;
      for (List<Meter> meters : peerMeters.values()) {
        meters.forEach(registry::remove);
      }
      peerMeters.clear();
      nodeMeters.forEach(registry::remove);
      nodeMeters.clear();
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
   * Registers meters for the other members of the newest known configuration and removes those of
   * members that left. Changes may be reported out of order, so the node's newest status decides.
   * Under the registration lock.
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
    peerMeters
        .entrySet()
        .removeIf(
            e -> {
              if (wanted.contains(e.getKey())) {
                return false;
              }
              e.getValue().forEach(registry::remove);
              return true;
            });
    for (String peer : wanted) {
      peerMeters.computeIfAbsent(peer, this::peerMeters);
    }
  }

  private List<Meter> peerMeters(String peer) {
    Tags t = Tags.of("peer", peer);
    List<Meter> out = new ArrayList<>();
    out.add(
        gauge(
            "flotilla.follower.match.index",
            "Highest index known replicated on the peer (leader only; -1 elsewhere).",
            t,
            x -> {
              NodeStatus.PeerStatus p = progress(x, peer);
              return p == null ? -1 : p.matchIndex();
            }));
    out.add(
        Gauge.builder(
                "flotilla.follower.lag",
                gauges,
                x -> {
                  NodeStatus.PeerStatus p = progress(x, peer);
                  return p == null ? -1 : Math.max(0, x.lastIndex() - p.matchIndex());
                })
            .description("Entries the peer is behind the leader's log (leader only; -1 elsewhere).")
            .baseUnit("entries")
            .tags(tags.and(t))
            .strongReference(true)
            .register(registry));
    out.add(
        counter(
            "flotilla.peer.messages.sent",
            "Messages sent to the peer.",
            null,
            t,
            x -> stat(x, peer, PeerStats::messagesSent)));
    out.add(
        counter(
            "flotilla.peer.sent",
            "Bytes sent to the peer.",
            "bytes",
            t,
            x -> stat(x, peer, PeerStats::bytesSent)));
    out.add(
        counter(
            "flotilla.peer.messages.received",
            "Messages received from the peer.",
            null,
            t,
            x -> stat(x, peer, PeerStats::messagesReceived)));
    out.add(
        counter(
            "flotilla.peer.received",
            "Bytes received from the peer.",
            "bytes",
            t,
            x -> stat(x, peer, PeerStats::bytesReceived)));
    out.add(
        counter(
            "flotilla.peer.messages.dropped",
            "Messages to the peer that were dropped.",
            null,
            t,
            x -> stat(x, peer, PeerStats::messagesDropped)));
    for (PeerStats.ConnectionState state : PeerStats.ConnectionState.values()) {
      out.add(
          gauge(
              "flotilla.peer.connection.state",
              "1 for the state of the connection to the peer, 0 for the others.",
              t.and("state", state.name()),
              x -> {
                PeerStats p = stats(x, peer);
                return p != null && p.state() == state ? 1 : 0;
              }));
    }
    return out;
  }

  private Gauge gauge(String name, String help, Tags extra, ToDoubleFunction<Gauges> value) {
    return Gauge.builder(name, gauges, value)
        .description(help)
        .tags(extra == null ? tags : tags.and(extra))
        .strongReference(true)
        .register(registry);
  }

  private Gauge bytes(String name, String help, ToDoubleFunction<Gauges> value) {
    return Gauge.builder(name, gauges, value)
        .description(help)
        .baseUnit("bytes")
        .tags(tags)
        .strongReference(true)
        .register(registry);
  }

  /** Sums the done or total bytes of the snapshot transfers under way in one direction. */
  private static double transferBytes(Gauges g, boolean sending, boolean done) {
    NodeStatus s = g.status();
    if (s == null) {
      return 0;
    }
    long sum = 0;
    for (NodeStatus.SnapshotTransfer t : s.snapshotTransfers()) {
      if (t.sending() == sending) {
        sum += done ? t.bytesDone() : t.bytesTotal();
      }
    }
    return sum;
  }

  private FunctionCounter counter(
      String name, String help, String unit, Tags extra, ToDoubleFunction<Gauges> value) {
    return FunctionCounter.builder(name, gauges, value)
        .description(help)
        .baseUnit(unit)
        .tags(tags.and(extra))
        .register(registry);
  }

  /** The leader's replication progress of a peer, or null on other roles. */
  private static NodeStatus.PeerStatus progress(Gauges g, String peer) {
    NodeStatus s = g.status();
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

  private static PeerStats stats(Gauges g, String peer) {
    for (PeerStats p : g.transportPeers()) {
      if (p.peer().equals(peer)) {
        return p;
      }
    }
    return null;
  }

  private static double stat(
      Gauges g, String peer, java.util.function.ToLongFunction<PeerStats> value) {
    PeerStats p = stats(g, peer);
    return p == null ? 0 : value.applyAsLong(p);
  }

  private static Duration[] latencyBuckets() {
    List<Duration> out = new ArrayList<>();
    for (long decade = 10_000; decade <= 1_000_000_000L; decade *= 10) {
      out.add(Duration.ofNanos(decade));
      out.add(Duration.ofNanos(decade * 5 / 2));
      out.add(Duration.ofNanos(decade * 5));
    }
    out.add(Duration.ofSeconds(10));
    return out.toArray(new Duration[0]);
  }

  // ---------------------------------------------------------------- events

  @Override
  public void nodeFailed(NodeStatus.Failure f) {
    failure = f;
  }

  @Override
  public void proposalAccepted(int bytes) {
    Events e = events;
    if (e != null) {
      e.proposals.increment();
    }
  }

  @Override
  public void proposalRejected() {
    Events e = events;
    if (e != null) {
      e.proposalsRejected.increment();
    }
  }

  @Override
  public void logAppended(int entries, long nanos) {
    Events e = events;
    if (e != null) {
      e.logAppend.record(nanos, TimeUnit.NANOSECONDS);
      e.logAppendBatch.record(entries);
    }
  }

  @Override
  public void logSynced(long entries, long bytes, long nanos) {
    Events e = events;
    if (e != null) {
      e.logSync.record(nanos, TimeUnit.NANOSECONDS);
      e.logSyncBatch.record((double) entries);
    }
  }

  @Override
  public void entriesCommitted(int entries, long commitIndex) {
    Events e = events;
    if (e != null) {
      e.entriesCommitted.increment(entries);
    }
  }

  @Override
  public void entriesApplied(int entries, long nanos) {
    Events e = events;
    if (e != null) {
      e.entriesApplied.increment(entries);
      e.apply.record(nanos, TimeUnit.NANOSECONDS);
      e.applyBatch.record(entries);
    }
  }

  @Override
  public void electionStarted(long term) {
    Events e = events;
    if (e != null) {
      e.electionsStarted.increment();
    }
  }

  @Override
  public void electionWon(long term) {
    Events e = events;
    if (e != null) {
      e.electionsWon.increment();
    }
  }

  @Override
  public void leaderChanged(String leaderId, long term) {
    Events e = events;
    if (e != null) {
      e.leaderChanges.increment();
    }
  }

  @Override
  public void snapshotTaken(long index, long bytes, long nanos) {
    Events e = events;
    if (e != null) {
      e.snapshotsTaken.increment();
      e.lastSnapshotBytes = bytes;
      e.snapshot.record(nanos, TimeUnit.NANOSECONDS);
    }
  }

  @Override
  public void snapshotInstalled(long index, long bytes) {
    Events e = events;
    if (e != null) {
      e.snapshotsInstalled.increment();
      e.lastSnapshotBytes = bytes;
    }
  }
}
