package org.flotilla.raft.internal.runtime;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import org.flotilla.raft.NodeStatus;
import org.flotilla.raft.RaftOptions;
import org.flotilla.raft.internal.core.RaftCore;
import org.flotilla.raft.message.InstallSnapshot;
import org.flotilla.raft.message.InstallSnapshotResponse;
import org.flotilla.raft.spi.SnapshotMeta;
import org.flotilla.raft.spi.SnapshotStore;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Streams snapshots to members that need them, and receives snapshots from the leader (Raft §7).
 *
 * <p>The leader's core only says that a member needs a snapshot; this class reads the newest stored
 * snapshot in chunks and sends them with a bounded window of unacknowledged chunks, so neither side
 * ever holds a whole snapshot in memory. The receiver acknowledges each chunk with the offset it
 * expects next; after a loss or reconnect the sender resumes from there. The receiver writes chunks
 * to a snapshot sink and checks size and CRC32C before committing it and handing the last chunk to
 * its core.
 *
 * <p>Not thread-safe; confined to the node's event loop.
 */
final class SnapshotTransfers {

  private static final Logger LOG = LoggerFactory.getLogger(SnapshotTransfers.class);

  /** Chunks in flight per transfer. */
  private static final int WINDOW = 4;

  /** How often a transfer under way logs its progress. */
  private static final java.time.Duration PROGRESS_LOG_INTERVAL = java.time.Duration.ofSeconds(5);

  private final NodeRuntime node;
  private final SnapshotStore store;
  private final int chunkBytes;
  private final int idleTicks;
  private final int progressLogTicks;
  private int ticksSinceProgressLog;
  private final Map<String, Outgoing> outgoing = new HashMap<>();
  private Incoming incoming;

  private final class Outgoing {
    final String peer;
    final SnapshotStore.Stored snapshot;
    InputStream in;
    long sent;
    long acked;
    long term;
    int idle;

    Outgoing(String peer, SnapshotStore.Stored snapshot, long term) {
      this.peer = peer;
      this.snapshot = snapshot;
      this.term = term;
    }

    void rewind(long offset) throws IOException {
      if (in != null) {
        in.close();
      }
      in = snapshot.open();
      in.skipNBytes(offset);
      sent = offset;
      acked = offset;
    }

    void pump() throws IOException {
      SnapshotMeta meta = snapshot.meta();
      long size = snapshot.size();
      while (sent < size && sent - acked < (long) WINDOW * chunkBytes) {
        int len = (int) Math.min(chunkBytes, size - sent);
        byte[] data = in.readNBytes(len);
        if (data.length != len) {
          throw new IOException("snapshot " + meta.index() + " shorter than its size " + size);
        }
        boolean done = sent + len == size;
        node.send(
            new InstallSnapshot(
                node.id,
                peer,
                term,
                meta.index(),
                meta.term(),
                meta.configuration(),
                size,
                snapshot.checksum(),
                sent,
                ByteBuffer.wrap(data),
                done));
        sent += len;
      }
    }

    void close() {
      if (in != null) {
        try {
          in.close();
        } catch (IOException e) {
          LOG.debug("closing snapshot stream failed", e);
        }
      }
    }
  }

  private static final class Incoming {
    final String leader;
    final long term;
    final SnapshotMeta meta;
    final long totalSize;
    final SnapshotStore.Sink sink;

    Incoming(String leader, long term, SnapshotMeta meta, long totalSize, SnapshotStore.Sink sink) {
      this.leader = leader;
      this.term = term;
      this.meta = meta;
      this.totalSize = totalSize;
      this.sink = sink;
    }
  }

  SnapshotTransfers(NodeRuntime node, SnapshotStore store, RaftOptions options) {
    this.node = node;
    this.store = store;
    this.chunkBytes = options.snapshotChunkBytes();
    this.idleTicks = Math.max(2, Ticks.election(options));
    this.progressLogTicks = Ticks.of(PROGRESS_LOG_INTERVAL, options);
  }

  /** The transfers under way with their progress, for the status. */
  List<NodeStatus.SnapshotTransfer> progress() {
    if (outgoing.isEmpty() && incoming == null) {
      return List.of();
    }
    List<NodeStatus.SnapshotTransfer> all = new ArrayList<>();
    for (Outgoing o : outgoing.values()) {
      all.add(
          new NodeStatus.SnapshotTransfer(
              o.peer, true, o.snapshot.meta().index(), o.acked, o.snapshot.size()));
    }
    if (incoming != null) {
      all.add(
          new NodeStatus.SnapshotTransfer(
              incoming.leader,
              false,
              incoming.meta.index(),
              incoming.sink.size(),
              incoming.totalSize));
    }
    return all;
  }

  /** Logs every transfer's progress at INFO, every {@link #PROGRESS_LOG_INTERVAL}. */
  private void logProgress() {
    if (++ticksSinceProgressLog < progressLogTicks) {
      return;
    }
    ticksSinceProgressLog = 0;
    for (NodeStatus.SnapshotTransfer t : progress()) {
      LOG.info(
          "{}: {} snapshot {} {} {}: {} of {} bytes ({}%)",
          node.who,
          t.sending() ? "sending" : "receiving",
          t.snapshotIndex(),
          t.sending() ? "to" : "from",
          t.peer(),
          t.bytesDone(),
          t.bytesTotal(),
          t.bytesTotal() == 0 ? 100 : t.bytesDone() * 100 / t.bytesTotal());
    }
  }

  // ---------------------------------------------------------------- sending

  /** The core asks to send a snapshot to {@code notice.to()}. */
  void startSending(InstallSnapshot notice) {
    String peer = notice.to();
    Outgoing current = outgoing.get(peer);
    if (current != null && current.snapshot.meta().index() >= notice.snapshotIndex()) {
      current.term = notice.term();
      return;
    }
    if (current != null) {
      current.close();
    }
    try {
      SnapshotStore.Stored latest = store.latest().orElse(null);
      if (latest == null || latest.meta().index() < notice.snapshotIndex()) {
        LOG.warn("{}: no stored snapshot at or after {} to send {}", node.who, notice, peer);
        node.core.snapshotFailed(peer);
        return;
      }
      Outgoing o = new Outgoing(peer, latest, notice.term());
      o.rewind(0);
      outgoing.put(peer, o);
      LOG.info(
          "{}: sending snapshot {} ({} bytes) to {}",
          node.who,
          latest.meta().index(),
          latest.size(),
          peer);
      o.pump();
    } catch (IOException e) {
      LOG.warn("{}: cannot send snapshot to {}", node.who, peer, e);
      outgoing.remove(peer);
      node.core.snapshotFailed(peer);
    }
  }

  /** A chunk acknowledgement from a receiver (the core sees it too). */
  void acknowledged(InstallSnapshotResponse r) {
    Outgoing o = outgoing.get(r.from());
    if (o == null || o.snapshot.meta().index() != r.snapshotIndex()) {
      return;
    }
    o.idle = 0;
    try {
      if (r.done()) {
        LOG.info("{}: {} installed snapshot {}", node.who, r.from(), r.snapshotIndex());
        o.close();
        outgoing.remove(r.from());
      } else if (r.rejected()) {
        o.rewind(0);
        o.pump();
      } else if (r.nextOffset() < o.acked
          || r.nextOffset() > o.sent
          || (r.nextOffset() == o.acked && o.sent > o.acked)) {
        // A repeated acknowledgement means the chunk after it was lost; a lower or higher one
        // that the receiver restarted the transfer. Either way resume where the receiver is.
        o.rewind(Math.min(r.nextOffset(), o.snapshot.size()));
        o.pump();
      } else {
        o.acked = Math.max(o.acked, r.nextOffset());
        o.pump();
      }
    } catch (IOException e) {
      LOG.warn("{}: snapshot transfer to {} failed", node.who, r.from(), e);
      o.close();
      outgoing.remove(r.from());
      node.core.snapshotFailed(r.from());
    }
  }

  /** Whether no snapshot is being sent or received (event loop). */
  boolean idle() {
    return outgoing.isEmpty() && incoming == null;
  }

  void tick() {
    logProgress();
    for (Iterator<Outgoing> it = outgoing.values().iterator(); it.hasNext(); ) {
      Outgoing o = it.next();
      org.flotilla.raft.internal.core.Progress p = node.core.progress().get(o.peer);
      if (p == null || p.state() != org.flotilla.raft.internal.core.Progress.State.SNAPSHOT) {
        // The member left, or the core gave up on this transfer (it starts a new one when the
        // member answers again): stop holding back log compaction for it.
        o.close();
        it.remove();
        continue;
      }
      if (++o.idle < idleTicks) {
        continue;
      }
      o.idle = 0;
      try {
        // Nothing acknowledged for a while: resend from the last acknowledged offset.
        o.rewind(o.acked);
        o.pump();
      } catch (IOException e) {
        LOG.warn("{}: snapshot transfer to {} failed", node.who, o.peer, e);
        o.close();
        it.remove();
        node.core.snapshotFailed(o.peer);
      }
    }
  }

  /**
   * Compacts the log after a snapshot became durable: up to {@code snapshotTrailingEntries} before
   * it, but not past the snapshot of a transfer in flight (its receiver goes on from the log after
   * that snapshot) nor past the log's end.
   */
  void compactAfter(SnapshotMeta meta) {
    long compactTo = meta.index() - node.options.snapshotTrailingEntries();
    for (Outgoing o : outgoing.values()) {
      compactTo = Math.min(compactTo, o.snapshot.meta().index());
    }
    compactTo = Math.min(compactTo, node.logStore.lastIndex());
    if (compactTo > node.logStore.baseIndex()) {
      node.logStore.compact(compactTo);
    }
  }

  void stopSending() {
    for (Outgoing o : outgoing.values()) {
      o.close();
    }
    outgoing.clear();
  }

  // ---------------------------------------------------------------- receiving

  /** A chunk from the leader. */
  void receive(InstallSnapshot chunk, RaftCore core) {
    if (chunk.term() < core.term()) {
      core.step(chunk);
      return;
    }
    if (!chunk.done()) {
      // Let the core see the leader (term, election timer) before accepting the chunk.
      core.step(chunk);
      if (chunk.term() != core.term() || !chunk.from().equals(core.leader())) {
        return;
      }
    }
    SnapshotMeta meta =
        new SnapshotMeta(chunk.snapshotIndex(), chunk.snapshotTerm(), chunk.configuration());
    try {
      if (incoming == null
          || !incoming.meta.equals(meta)
          || !incoming.leader.equals(chunk.from())
          || incoming.term != chunk.term()) {
        stopReceiving();
        if (chunk.offset() != 0) {
          respond(chunk, 0, false, false);
          return;
        }
        incoming =
            new Incoming(chunk.from(), chunk.term(), meta, chunk.totalSize(), store.create(meta));
        LOG.info(
            "{}: receiving snapshot {} ({} bytes) from {}",
            node.who,
            meta.index(),
            chunk.totalSize(),
            chunk.from());
      }
      SnapshotStore.Sink sink = incoming.sink;
      if (chunk.offset() != sink.size()) {
        respond(chunk, sink.size(), false, false);
        return;
      }
      ByteBuffer data = chunk.data().duplicate();
      if (data.hasArray()) {
        sink.output().write(data.array(), data.arrayOffset() + data.position(), data.remaining());
      } else {
        byte[] copy = new byte[data.remaining()];
        data.get(copy);
        sink.output().write(copy);
      }
      if (!chunk.done()) {
        respond(chunk, sink.size(), false, false);
        return;
      }
      if (sink.size() != chunk.totalSize() || sink.checksum() != chunk.checksum()) {
        LOG.warn(
            "{}: snapshot {} from {} failed its check (size {} of {}, crc {} vs {}); discarded",
            node.who,
            meta.index(),
            chunk.from(),
            sink.size(),
            chunk.totalSize(),
            sink.checksum(),
            chunk.checksum());
        stopReceiving();
        respond(chunk, 0, false, true);
        return;
      }
      sink.commit();
      incoming = null;
      core.step(chunk);
      respond(chunk, chunk.totalSize(), true, false);
    } catch (IOException e) {
      LOG.warn("{}: cannot store snapshot {} from {}", node.who, meta.index(), chunk.from(), e);
      stopReceiving();
      respond(chunk, 0, false, true);
    }
  }

  private void respond(InstallSnapshot chunk, long nextOffset, boolean done, boolean rejected) {
    node.send(
        new InstallSnapshotResponse(
            node.id,
            chunk.from(),
            node.core.term(),
            chunk.snapshotIndex(),
            nextOffset,
            done,
            rejected));
  }

  void stopReceiving() {
    if (incoming != null) {
      incoming.sink.close();
      incoming = null;
    }
  }
}
