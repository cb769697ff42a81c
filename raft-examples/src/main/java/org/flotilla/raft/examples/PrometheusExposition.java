package org.flotilla.raft.examples;

import java.util.Locale;
import org.flotilla.raft.metrics.Distribution;
import org.flotilla.raft.metrics.JmxRaftMetrics;
import org.flotilla.raft.metrics.RaftPeerMXBean;

/**
 * Renders a node's {@link JmxRaftMetrics} in the Prometheus text exposition format (version 0.0.4),
 * by hand: no dependency. Every sample carries the labels {@code group} and {@code node}; per-peer
 * samples add {@code peer}. Latencies are exported in seconds, as Prometheus prefers. The names are
 * listed in docs/metrics.md.
 *
 * <p>Stateless; {@link #render} may be called from any thread.
 */
final class PrometheusExposition {

  /** The content type of the exposition format. */
  static final String CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

  private static final String[] ROLES = {
    "FOLLOWER", "PRE_CANDIDATE", "CANDIDATE", "LEADER", "LEARNER", "FAILED"
  };
  private static final String[] STATES = {"CONNECTED", "CONNECTING", "DISCONNECTED"};

  private PrometheusExposition() {}

  /**
   * Renders the current values.
   *
   * @param m the node's metrics
   * @return the exposition text
   */
  static String render(JmxRaftMetrics m) {
    StringBuilder out = new StringBuilder(8192);
    String node = "group=\"" + esc(m.getGroupId()) + "\",node=\"" + esc(m.getNodeId()) + "\"";

    gauge(out, "flotilla_term", "The node's current term.", node, m.getTerm());
    gauge(out, "flotilla_commit_index", "The node's commit index.", node, m.getCommitIndex());
    gauge(
        out,
        "flotilla_applied_index",
        "The index the state machine applied.",
        node,
        m.getAppliedIndex());
    gauge(out, "flotilla_last_index", "The index of the last log entry.", node, m.getLastIndex());
    gauge(
        out,
        "flotilla_snapshot_index",
        "The index of the newest snapshot.",
        node,
        m.getSnapshotIndex());
    header(out, "flotilla_role", "gauge", "1 for the node's current role, 0 for the others.");
    String role = m.getRole();
    for (String r : ROLES) {
      sample(out, "flotilla_role", node + ",role=\"" + r + "\"", r.equals(role) ? 1 : 0);
    }
    header(out, "flotilla_is_leader", "gauge", "1 if this node is the leader.");
    sample(out, "flotilla_is_leader", node, "LEADER".equals(role) ? 1 : 0);
    header(
        out,
        "flotilla_failed",
        "gauge",
        "1 if this node stopped after a fatal error (see /status for the cause).");
    sample(out, "flotilla_failed", node, m.isFailed() ? 1 : 0);

    counter(
        out,
        "flotilla_proposals_total",
        "Commands accepted by this node as leader.",
        node,
        m.getProposals());
    counter(
        out,
        "flotilla_proposals_rejected_total",
        "Commands refused for backpressure (OverloadedException).",
        node,
        m.getProposalsRejected());
    counter(
        out,
        "flotilla_entries_committed_total",
        "Entries committed.",
        node,
        m.getEntriesCommitted());
    counter(
        out,
        "flotilla_entries_applied_total",
        "Entries applied to the state machine.",
        node,
        m.getEntriesApplied());
    counter(
        out,
        "flotilla_elections_started_total",
        "Elections this node started as candidate.",
        node,
        m.getElectionsStarted());
    counter(
        out, "flotilla_elections_won_total", "Elections this node won.", node, m.getElectionsWon());
    counter(
        out,
        "flotilla_leader_changes_total",
        "Changes of the known leader.",
        node,
        m.getLeaderChanges());
    counter(
        out,
        "flotilla_snapshots_taken_total",
        "Snapshots this node took.",
        node,
        m.getSnapshotsTaken());
    counter(
        out,
        "flotilla_snapshots_installed_total",
        "Snapshots installed from a leader.",
        node,
        m.getSnapshotsInstalled());
    gauge(
        out,
        "flotilla_snapshot_last_bytes",
        "Size of the last snapshot taken or installed.",
        node,
        m.getLastSnapshotBytes());

    histogram(
        out,
        "flotilla_apply_seconds",
        "Time to apply one batch of committed entries.",
        node,
        m.getApplyLatency(),
        true);
    histogram(
        out,
        "flotilla_apply_batch_entries",
        "Entries per applied batch.",
        node,
        m.getApplyBatchSize(),
        false);
    histogram(
        out,
        "flotilla_log_append_seconds",
        "Time of one LogStore.append call.",
        node,
        m.getLogAppendLatency(),
        true);
    histogram(
        out,
        "flotilla_log_append_batch_entries",
        "Entries per log append.",
        node,
        m.getLogAppendBatchSize(),
        false);
    histogram(
        out,
        "flotilla_log_sync_seconds",
        "Time of one log fsync.",
        node,
        m.getLogSyncLatency(),
        true);
    histogram(
        out,
        "flotilla_log_sync_batch_entries",
        "Entries made durable per log fsync.",
        node,
        m.getLogSyncBatchSize(),
        false);
    histogram(
        out,
        "flotilla_snapshot_seconds",
        "Time to capture and write one snapshot.",
        node,
        m.getSnapshotDuration(),
        true);

    peers(out, node, m);
    return out.toString();
  }

  private static void peers(StringBuilder out, String node, JmxRaftMetrics m) {
    var peers = m.peers();
    perPeer(
        out,
        node,
        peers,
        "flotilla_follower_match_index",
        "gauge",
        "Highest index known replicated on the peer (leader only; -1 elsewhere).",
        RaftPeerMXBean::getMatchIndex);
    perPeer(
        out,
        node,
        peers,
        "flotilla_follower_lag_entries",
        "gauge",
        "Entries the peer is behind the leader's log (leader only; -1 elsewhere).",
        RaftPeerMXBean::getLag);
    perPeer(
        out,
        node,
        peers,
        "flotilla_peer_messages_sent_total",
        "counter",
        "Messages sent to the peer.",
        RaftPeerMXBean::getMessagesSent);
    perPeer(
        out,
        node,
        peers,
        "flotilla_peer_sent_bytes_total",
        "counter",
        "Bytes sent to the peer.",
        RaftPeerMXBean::getBytesSent);
    perPeer(
        out,
        node,
        peers,
        "flotilla_peer_messages_received_total",
        "counter",
        "Messages received from the peer.",
        RaftPeerMXBean::getMessagesReceived);
    perPeer(
        out,
        node,
        peers,
        "flotilla_peer_received_bytes_total",
        "counter",
        "Bytes received from the peer.",
        RaftPeerMXBean::getBytesReceived);
    perPeer(
        out,
        node,
        peers,
        "flotilla_peer_messages_dropped_total",
        "counter",
        "Messages to the peer that were dropped.",
        RaftPeerMXBean::getMessagesDropped);
    header(
        out,
        "flotilla_peer_connection_state",
        "gauge",
        "1 for the state of the connection to the peer, 0 for the others.");
    for (RaftPeerMXBean p : peers) {
      String state = p.getConnectionState();
      for (String s : STATES) {
        sample(
            out,
            "flotilla_peer_connection_state",
            peer(node, p) + ",state=\"" + s + "\"",
            s.equals(state) ? 1 : 0);
      }
    }
  }

  /** Writes one metric with a sample per peer. */
  private static void perPeer(
      StringBuilder out,
      String node,
      Iterable<RaftPeerMXBean> peers,
      String name,
      String type,
      String help,
      java.util.function.ToLongFunction<RaftPeerMXBean> value) {
    header(out, name, type, help);
    for (RaftPeerMXBean p : peers) {
      sample(out, name, peer(node, p), value.applyAsLong(p));
    }
  }

  private static String peer(String node, RaftPeerMXBean p) {
    return node + ",peer=\"" + esc(p.getPeerId()) + "\"";
  }

  private static void gauge(
      StringBuilder out, String name, String help, String labels, long value) {
    header(out, name, "gauge", help);
    sample(out, name, labels, value);
  }

  private static void counter(
      StringBuilder out, String name, String help, String labels, long value) {
    header(out, name, "counter", help);
    sample(out, name, labels, value);
  }

  private static void histogram(
      StringBuilder out, String name, String help, String labels, Distribution d, boolean nanos) {
    header(out, name, "histogram", help);
    long[] bounds = d.getBounds();
    long[] counts = d.getBucketCounts();
    long cumulative = 0;
    for (int i = 0; i < bounds.length; i++) {
      cumulative += counts[i];
      String le = nanos ? seconds(bounds[i]) : Long.toString(bounds[i]);
      sample(out, name + "_bucket", labels + ",le=\"" + le + "\"", cumulative);
    }
    cumulative += counts[bounds.length];
    sample(out, name + "_bucket", labels + ",le=\"+Inf\"", cumulative);
    out.append(name).append("_sum{").append(labels).append("} ");
    out.append(nanos ? seconds(d.getSum()) : Long.toString(d.getSum())).append('\n');
    sample(out, name + "_count", labels, cumulative);
    String max =
        name.endsWith("_seconds") ? name.replace("_seconds", "_max_seconds") : name + "_max";
    header(out, max, "gauge", "Largest value of " + name + " since the node started.");
    out.append(max).append('{').append(labels).append("} ");
    out.append(nanos ? seconds(d.getMax()) : Long.toString(d.getMax())).append('\n');
  }

  private static String seconds(long nanos) {
    return String.format(Locale.ROOT, "%.9f", nanos / 1e9)
        .replaceAll("0+$", "")
        .replaceAll("\\.$", ".0");
  }

  private static void header(StringBuilder out, String name, String type, String help) {
    out.append("# HELP ").append(name).append(' ').append(help).append('\n');
    out.append("# TYPE ").append(name).append(' ').append(type).append('\n');
  }

  private static void sample(StringBuilder out, String name, String labels, long value) {
    out.append(name).append('{').append(labels).append("} ").append(value).append('\n');
  }

  /** Escapes a label value: backslash, double quote and newline. */
  private static String esc(String v) {
    return v.replace("\\", "\\\\").replace("\"", "\\\"").replace("\n", "\\n");
  }
}
