package org.flotilla.raft.examples;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A fault-injecting TCP proxy in front of one server's Raft port, with faults per sender: every
 * other member's address for this node, as the configuration lists it, is this proxy.
 *
 * <p>The Netty transport opens one connection per (sender, receiver) pair and sends only on it (the
 * receiver answers on its own connection to the sender), so the direction sender → receiver is
 * exactly the connections this proxy accepts from that sender. The proxy learns the sender from the
 * connection's handshake, which names both members as length-prefixed protobuf strings (TLS must be
 * off). Faults per sender: {@link #cut} (existing connections are closed, new ones closed after the
 * handshake), {@link #delay} (every chunk held back), {@link #lossy} (connections reset at random,
 * which loses what was in flight: Raft resends).
 *
 * <p>Thread-safe: fault settings are in concurrent maps read by the pump threads; each connection
 * has its own two threads (one more when delayed), all daemons, ended by {@link #close}.
 */
final class FaultProxy implements AutoCloseable {

  private static final Logger LOG = LoggerFactory.getLogger(FaultProxy.class);

  private final String receiver;
  private final List<String> senders;
  private final int targetPort;
  private final ServerSocket server;
  private final Set<String> cut = ConcurrentHashMap.newKeySet();
  private final Map<String, Long> delayMs = new ConcurrentHashMap<>();
  private final Map<String, Double> resetProbability = new ConcurrentHashMap<>();
  private final Set<Conn> open = ConcurrentHashMap.newKeySet();
  private volatile boolean closed;

  private final class Conn {
    final Socket in;
    final Socket out;
    volatile String sender;

    Conn(Socket in, Socket out) {
      this.in = in;
      this.out = out;
    }

    void close() {
      open.remove(this);
      closeQuietly(in);
      closeQuietly(out);
    }
  }

  FaultProxy(String receiver, List<String> allIds, int listenPort, int targetPort)
      throws IOException {
    this.receiver = receiver;
    this.senders = allIds.stream().filter(id -> !id.equals(receiver)).toList();
    this.targetPort = targetPort;
    this.server = new ServerSocket();
    server.setReuseAddress(true);
    server.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), listenPort), 64);
    Thread t = new Thread(this::acceptLoop, "proxy-" + receiver + "-accept");
    t.setDaemon(true);
    t.start();
  }

  /** Cuts the link from a sender to this node. */
  void cut(String sender) {
    cut.add(sender);
    for (Conn c : open) {
      if (sender.equals(c.sender)) {
        c.close();
      }
    }
  }

  /** Delays every chunk from a sender by the given time. */
  void delay(String sender, long millis) {
    delayMs.put(sender, millis);
  }

  /** Resets a sender's connections at random: each chunk has this chance to kill it. */
  void lossy(String sender, double probability) {
    resetProbability.put(sender, probability);
  }

  /** Removes every fault. */
  void heal() {
    cut.clear();
    delayMs.clear();
    resetProbability.clear();
  }

  private void acceptLoop() {
    while (!closed) {
      try {
        Socket in = server.accept();
        in.setTcpNoDelay(true);
        Socket out = new Socket();
        try {
          out.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), targetPort), 1000);
          out.setTcpNoDelay(true);
        } catch (IOException e) {
          // The node is down (killed): refuse, as its port would.
          closeQuietly(in);
          closeQuietly(out);
          continue;
        }
        Conn c = new Conn(in, out);
        open.add(c);
        start("proxy-" + receiver + "-in", () -> forward(c));
        start("proxy-" + receiver + "-back", () -> pump(c, c.out, c.in));
      } catch (IOException e) {
        if (!closed) {
          LOG.warn("proxy {} accept failed", receiver, e);
        }
      }
    }
  }

  private static void start(String name, Runnable r) {
    Thread t = new Thread(r, name);
    t.setDaemon(true);
    t.start();
  }

  /** Receiver to sender: handshake answers and keepalives, never faulted (the sender's link is). */
  private void pump(Conn c, Socket from, Socket to) {
    byte[] buf = new byte[16 * 1024];
    try {
      InputStream is = from.getInputStream();
      OutputStream os = to.getOutputStream();
      for (int n; (n = is.read(buf)) >= 0; ) {
        os.write(buf, 0, n);
      }
    } catch (IOException e) {
      // The other side or a fault closed the connection.
    } finally {
      c.close();
    }
  }

  @SuppressWarnings("ArrayRecordComponent") // a private copy, never modified
  private record Chunk(byte[] bytes, long due) {}

  /** Sender to receiver, with the sender's faults. */
  private void forward(Conn c) {
    byte[] buf = new byte[16 * 1024];
    BlockingQueue<Chunk> queue = new ArrayBlockingQueue<>(4096);
    Thread writer = null;
    try {
      InputStream is = c.in.getInputStream();
      OutputStream os = c.out.getOutputStream();
      byte[] head = new byte[0];
      while (c.sender == null) {
        int n = is.read(buf);
        if (n < 0) {
          return;
        }
        head = Arrays.copyOf(head, head.length + n);
        System.arraycopy(buf, 0, head, head.length - n, n);
        c.sender = identify(head);
        if (c.sender == null && head.length > 4096) {
          LOG.warn(
              "proxy {}: cannot tell the sender of a connection; no faults apply to it", receiver);
          c.sender = "?";
        }
      }
      if (cut.contains(c.sender)) {
        return;
      }
      writer =
          new Thread(
              () -> {
                try {
                  while (true) {
                    Chunk ch = queue.take();
                    long wait = ch.due - System.nanoTime();
                    if (wait > 0) {
                      TimeUnit.NANOSECONDS.sleep(wait);
                    }
                    os.write(ch.bytes);
                  }
                } catch (InterruptedException | IOException e) {
                  c.close();
                }
              },
              "proxy-" + receiver + "-delay");
      writer.setDaemon(true);
      writer.start();
      enqueue(c, queue, head, head.length);
      for (int n; (n = is.read(buf)) >= 0; ) {
        if (!enqueue(c, queue, buf, n)) {
          return;
        }
      }
    } catch (IOException | InterruptedException e) {
      // closed by a fault or by either side
    } finally {
      c.close();
      if (writer != null) {
        writer.interrupt();
      }
    }
  }

  private boolean enqueue(Conn c, BlockingQueue<Chunk> queue, byte[] buf, int n)
      throws InterruptedException {
    String s = c.sender;
    if (cut.contains(s)) {
      return false;
    }
    double p = resetProbability.getOrDefault(s, 0.0);
    if (p > 0 && ThreadLocalRandom.current().nextDouble() < p) {
      return false;
    }
    long due = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(delayMs.getOrDefault(s, 0L));
    // Bounded: a full queue blocks the reader, which pushes back on the sender through TCP.
    queue.put(new Chunk(Arrays.copyOf(buf, n), due));
    return true;
  }

  /** Finds the sender among the other members' ids, length-prefixed as protobuf writes them. */
  private String identify(byte[] head) {
    for (String id : senders) {
      byte[] idBytes = id.getBytes(StandardCharsets.UTF_8);
      outer:
      for (int i = 0; i + idBytes.length < head.length; i++) {
        if (head[i] != idBytes.length) {
          continue;
        }
        for (int j = 0; j < idBytes.length; j++) {
          if (head[i + 1 + j] != idBytes[j]) {
            continue outer;
          }
        }
        return id;
      }
    }
    return null;
  }

  private static void closeQuietly(Socket s) {
    try {
      s.close();
    } catch (IOException e) {
      // closing after a failure: nothing more to do
    }
  }

  @Override
  public void close() {
    closed = true;
    try {
      server.close();
    } catch (SocketException e) {
      // already closed
    } catch (IOException e) {
      LOG.warn("cannot close proxy {}", receiver, e);
    }
    for (Conn c : open) {
      c.close();
    }
  }
}
