package org.flotilla.raft.transport.netty;

import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoop;
import io.netty.util.concurrent.ScheduledFuture;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import org.flotilla.raft.message.AppendEntries;
import org.flotilla.raft.message.Heartbeat;
import org.flotilla.raft.message.HeartbeatResponse;
import org.flotilla.raft.message.RaftMessage;
import org.flotilla.raft.spi.PeerStats;
import org.flotilla.raft.transport.netty.proto.Wire;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The outbound side towards one peer: its bounded queue and the one connection this node opens to
 * it, with reconnection by capped exponential backoff and jitter.
 *
 * <p>{@link #send} and {@link #flush} are called by the node's event loop (on a host, by the event
 * loops of every group with a member there, concurrently: the queue is thread-safe), {@link #close}
 * from any thread; everything else, the connection state included, is confined to the peer's Netty
 * event loop {@link #loop}. Writes are coalesced: a {@link #flush} schedules at most one drain on
 * the loop, which writes every queued message the channel will take and then flushes the socket
 * once.
 */
// Close and write failures surface through exceptionCaught or a listener; the futures need no
// other check.
@SuppressWarnings("FutureReturnValueIgnored")
final class Peer {

  private static final Logger LOG = LoggerFactory.getLogger(Peer.class);
  private static final int BATCH = 64;
  // At most this many heartbeats in one frame: about 64 bytes each, far below any frame size.
  private static final int MAX_COALESCED = 1024;
  private static final long OVERFLOW_WARNING_INTERVAL_NANOS = 10_000_000_000L;

  final String id;
  final InetSocketAddress address;
  final String where; // "host:port", for log lines
  private final NettyTransport transport;
  private final EventLoop loop;
  private final OutboundQueue queue;
  private final AtomicBoolean drainScheduled = new AtomicBoolean();

  // Monitoring: written by loop (sent, bytes, state) and by the node's event loop (dropped), read
  // by
  // any thread through stats().
  private final LongAdder messagesSent = new LongAdder();
  private final LongAdder bytesSent = new LongAdder();
  private final LongAdder droppedOther = new LongAdder();
  private volatile PeerStats.ConnectionState state = PeerStats.ConnectionState.CONNECTING;

  // Written by the callers of send (a node's event loop; on a host, several groups' loops at once,
  // hence atomic); only paces a warning.
  private final AtomicLong lastOverflowWarning =
      new AtomicLong(System.nanoTime() - OVERFLOW_WARNING_INTERVAL_NANOS);

  // Confined to loop.
  private Channel ready; // handshaken channel, or null
  private Channel connecting; // channel being connected or handshaking, or null
  private int attempts; // failed connection attempts since the last handshake
  private ScheduledFuture<?> reconnect;
  private boolean closed;
  private final List<Outbound> batch = new ArrayList<>(BATCH);

  Peer(String id, InetSocketAddress address, NettyTransport transport, EventLoop loop) {
    this.id = id;
    this.address = address;
    this.where = address.getHostString() + ":" + address.getPort();
    this.transport = transport;
    this.loop = loop;
    this.queue =
        new OutboundQueue(
            transport.options().maxQueuedMessages(), transport.options().maxQueuedBytes());
  }

  void start() {
    execute(this::connect);
  }

  /** Runs a task on the loop; if the loop is already shut down (transport closing), drops it. */
  private boolean execute(Runnable task) {
    try {
      loop.execute(task);
      return true;
    } catch (RejectedExecutionException e) {
      LOG.debug("{}: I/O loop for {} is shut down: {}", transport.who(), id, e.toString());
      return false;
    }
  }

  void send(WireCodec codec, RaftMessage message) {
    long maxQueued = transport.options().maxQueuedBytes();
    if (message.sizeInBytes() > maxQueued) {
      // The queue would drop it on every attempt: as unsendable as an oversized frame.
      transport.countDropped(1);
      droppedOther.increment();
      transport.unsendable(
          codec,
          message,
          "its estimated "
              + message.sizeInBytes()
              + " bytes exceed the bound of "
              + maxQueued
              + " bytes queued for one peer");
      return;
    }
    int dropped = queue.offer(new Outbound(codec, message));
    if (dropped > 0) {
      transport.countDropped(dropped);
      long now = System.nanoTime();
      long last = lastOverflowWarning.get();
      if (now - last >= OVERFLOW_WARNING_INTERVAL_NANOS
          && lastOverflowWarning.compareAndSet(last, now)) {
        LOG.warn(
            "{}: outbound queue to {} is full (peer slow or down); dropping the oldest messages,"
                + " {} so far",
            transport.localId(),
            id,
            queue.dropped());
      }
    }
  }

  void flush() {
    if (!queue.isEmpty() && drainScheduled.compareAndSet(false, true)) {
      if (!execute(this::drain)) {
        transport.countDropped(queue.clear());
      }
    }
  }

  void close() {
    execute(
        () -> {
          closed = true;
          if (reconnect != null) {
            reconnect.cancel(false);
          }
          if (ready != null) {
            ready.close();
          }
          if (connecting != null) {
            connecting.close();
          }
          transport.countDropped(queue.clear());
        });
  }

  long dropped() {
    return queue.dropped();
  }

  /**
   * Returns this peer's outbound counters and connection state, with the given inbound counts.
   * Callable from any thread.
   */
  PeerStats stats(long messagesReceived, long bytesReceived) {
    return new PeerStats(
        id,
        state,
        messagesSent.sum(),
        bytesSent.sum(),
        messagesReceived,
        bytesReceived,
        queue.dropped() + droppedOther.sum());
  }

  // ---------------------------------------------------------------- on the loop

  private void connect() {
    reconnect = null;
    if (closed || ready != null || connecting != null) {
      return;
    }
    Bootstrap b =
        transport
            .clientBootstrap()
            .group(loop)
            .handler(
                new ChannelInitializer<Channel>() {
                  @Override
                  protected void initChannel(Channel ch) {
                    transport.initClientPipeline(ch, Peer.this);
                  }
                });
    ChannelFuture f = b.connect(address);
    connecting = f.channel();
    state = PeerStats.ConnectionState.CONNECTING;
    f.addListener(
        (ChannelFuture done) -> {
          if (!done.isSuccess()) {
            if (attempts == 0 && !(done.cause() instanceof IOException)) {
              // Not the network: a broken set-up (a native library of another Netty version,
              // a bad TLS context) that no retry will cure. Say so loudly, with the trace.
              LOG.error(
                  "{}: cannot connect to {} at {}, not for a network reason; retrying with"
                      + " backoff, but this needs fixing",
                  transport.who(),
                  id,
                  where,
                  done.cause());
            } else if (attempts == 0) {
              LOG.info(
                  "{}: cannot connect to {} at {}: {}; retrying with backoff",
                  transport.who(),
                  id,
                  where,
                  done.cause().getMessage());
            } else {
              LOG.debug(
                  "{}: connect to {} failed: {}", transport.who(), id, done.cause().toString());
            }
            onClosed(done.channel());
          }
        });
  }

  /** The handshake on {@code ch} succeeded: it carries this peer's messages from now on. */
  void onReady(Channel ch) {
    if (closed || ch != connecting) {
      ch.close();
      return;
    }
    connecting = null;
    ready = ch;
    attempts = 0;
    state = PeerStats.ConnectionState.CONNECTED;
    LOG.info("{}: connected to {} at {}", transport.who(), id, where);
    drain();
  }

  /** The channel closed or failed to connect: forget it and try again later. */
  void onClosed(Channel ch) {
    boolean ours = false;
    if (ch == ready) {
      ready = null;
      ours = true;
      LOG.info("{}: connection to {} lost", transport.who(), id);
    }
    if (ch == connecting) {
      connecting = null;
      ours = true;
    }
    if (ours) {
      state = PeerStats.ConnectionState.DISCONNECTED;
    }
    if (ours && !closed && reconnect == null) {
      long delay = backoffMillis(attempts++);
      reconnect = loop.schedule(this::connect, delay, TimeUnit.MILLISECONDS);
    }
  }

  /** Capped exponential backoff with "equal jitter": half fixed, half random. */
  long backoffMillis(int attempt) {
    long min = transport.options().reconnectMin().toMillis();
    long max = transport.options().reconnectMax().toMillis();
    long delay = min << Math.min(attempt, 20);
    if (delay <= 0 || delay > max) {
      delay = max;
    }
    long half = delay / 2;
    return half + ThreadLocalRandom.current().nextLong(half + 1);
  }

  /** Heartbeats and their responses are what a host's groups send in step, tick after tick. */
  private static boolean isHeartbeat(RaftMessage m) {
    return m instanceof Heartbeat || m instanceof HeartbeatResponse;
  }

  /**
   * Returns how many messages from {@code batch[from]} on are heartbeats of one kind in a row (at
   * most {@value #MAX_COALESCED}), or 1 if that message is none: only a run of consecutive ones is
   * coalesced, so no message passes another on the connection.
   */
  private int coalescible(int from) {
    RaftMessage first = batch.get(from).message();
    if (!isHeartbeat(first)) {
      return 1;
    }
    int n = 1;
    while (n < MAX_COALESCED) {
      if (from + n == batch.size()
          && queue.pollRun(batch, first.getClass(), MAX_COALESCED - n) == 0) {
        break; // the run reached the end of the queue
      }
      if (batch.get(from + n).message().getClass() != first.getClass()) {
        break;
      }
      n++;
    }
    return n;
  }

  /** Writes {@code run} heartbeats of many groups from {@code batch[from]} on as one frame. */
  private boolean writeBatch(Channel ch, int from, int run, int maxBody) {
    Wire.Batch.Builder b = Wire.Batch.newBuilder();
    for (int k = from; k < from + run; k++) {
      Outbound o = batch.get(k);
      b.addEnvelopes(o.codec().toEnvelope(o.message()));
    }
    ByteBuf frame =
        WireCodec.frame(
            ch.alloc(),
            transport.codec().envelope(transport.localId(), id).setBatch(b).build(),
            maxBody);
    if (frame == null) {
      // Thousands of heartbeats above the frame size: unreachable with MAX_COALESCED, but never
      // silently: drop them (Raft sends the next round) and say so.
      LOG.warn(
          "{}: dropped {} coalesced heartbeats to {}: above the frame size",
          transport.who(),
          run,
          id);
      transport.countDropped(run);
      droppedOther.add(run);
      return false;
    }
    messagesSent.add(run);
    bytesSent.add(frame.readableBytes());
    transport.countCoalesced(run);
    ch.write(frame, ch.voidPromise());
    return true;
  }

  /** Writes what the channel will take, then flushes once. */
  void drain() {
    drainScheduled.set(false);
    Channel ch = ready;
    if (ch == null) {
      return;
    }
    int maxBody = transport.options().maxFrameSize() - WireCodec.LENGTH_PREFIX_BYTES;
    boolean wrote = false;
    while (ch.isWritable()) {
      batch.clear();
      queue.pollBatch(batch, BATCH);
      if (batch.isEmpty()) {
        break;
      }
      for (int i = 0; i < batch.size(); i++) {
        Outbound o = batch.get(i);
        RaftMessage m = o.message();
        int run = transport.isHost() ? coalescible(i) : 1;
        if (run > 1) {
          // A run of heartbeats (or of their responses) of many groups: one frame for all.
          wrote |= writeBatch(ch, i, run, maxBody);
          i += run - 1;
          continue;
        }
        ByteBuf frame;
        try {
          frame =
              m instanceof AppendEntries ae
                  ? o.codec().appendEntriesFrame(ch.alloc(), ae, maxBody)
                  : WireCodec.frame(ch.alloc(), o.codec().toEnvelope(m), maxBody);
        } catch (RuntimeException e) {
          LOG.error("{}: cannot encode {} for {}", transport.who(), m, id, e);
          transport.countDropped(1);
          droppedOther.increment();
          continue;
        }
        if (frame == null) {
          LOG.warn(
              "{}: dropped a {} to {}: larger than the maximum frame size of {} bytes",
              transport.who(),
              m.getClass().getSimpleName(),
              id,
              transport.options().maxFrameSize());
          transport.countDropped(1);
          droppedOther.increment();
          // Resending it would fail the same way for ever: the node must know.
          transport.unsendable(
              o.codec(),
              m,
              "larger than the maximum frame size of "
                  + transport.options().maxFrameSize()
                  + " bytes once encoded");
          continue;
        }
        messagesSent.increment();
        bytesSent.add(frame.readableBytes());
        ch.write(frame, ch.voidPromise());
        wrote = true;
      }
    }
    batch.clear();
    if (wrote) {
      ch.flush();
    }
  }
}
