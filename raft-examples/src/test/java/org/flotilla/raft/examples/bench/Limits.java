package org.flotilla.raft.examples.bench;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import org.HdrHistogram.Histogram;

/**
 * The physical floor of one durable write, measured as the peers' harness measures it (bench-peers
 * {@code limits}): 4 KiB appends each followed by {@code FileChannel.force(false)} in the data
 * directory, and a 64-byte loopback TCP ping-pong with {@code TCP_NODELAY}. Each probe stops after
 * 60 s.
 */
public final class Limits {

  private Limits() {}

  private static final long MAX_NS = 60_000_000_000L;

  /**
   * Measures fsync latency: {@code warm} untimed then {@code iters} timed appends of 4 KiB, each
   * followed by {@code force(false)}.
   *
   * @param dir the directory (on the disk the log uses)
   * @param iters timed iterations
   * @param warm untimed iterations
   * @return latencies in microseconds
   * @throws IOException if the file cannot be written
   */
  public static Histogram fsync(Path dir, int iters, int warm) throws IOException {
    Files.createDirectories(dir);
    Path f = dir.resolve("fsync-probe.dat");
    ByteBuffer buf = ByteBuffer.allocateDirect(4096);
    Histogram h = new Histogram(3);
    try (FileChannel ch =
        FileChannel.open(
            f,
            StandardOpenOption.CREATE,
            StandardOpenOption.WRITE,
            StandardOpenOption.TRUNCATE_EXISTING)) {
      long start = System.nanoTime();
      long pos = 0;
      for (int i = 0; i < iters + warm && System.nanoTime() - start < MAX_NS; i++) {
        buf.clear();
        long t0 = System.nanoTime();
        while (buf.hasRemaining()) {
          pos += ch.write(buf, pos);
        }
        ch.force(false);
        if (i >= warm) {
          h.recordValue(Math.max(1, (System.nanoTime() - t0) / 1000));
        }
      }
    } finally {
      Files.deleteIfExists(f);
    }
    return h;
  }

  /**
   * Measures the loopback round trip of a 64-byte message over blocking sockets.
   *
   * @param iters timed round trips
   * @param warm untimed round trips
   * @return latencies in microseconds
   * @throws IOException if the sockets fail
   * @throws InterruptedException if interrupted
   */
  public static Histogram roundTrip(int iters, int warm) throws IOException, InterruptedException {
    Histogram h = new Histogram(3);
    try (ServerSocket ss = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      Thread echo =
          new Thread(
              () -> {
                try (Socket s = ss.accept()) {
                  s.setTcpNoDelay(true);
                  DataInputStream in = new DataInputStream(s.getInputStream());
                  DataOutputStream out = new DataOutputStream(s.getOutputStream());
                  byte[] b = new byte[64];
                  while (true) {
                    in.readFully(b);
                    out.write(b);
                    out.flush();
                  }
                } catch (IOException ignored) {
                  // the client closed
                }
              },
              "rtt-echo");
      echo.setDaemon(true);
      echo.start();
      try (Socket s = new Socket(InetAddress.getLoopbackAddress(), ss.getLocalPort())) {
        s.setTcpNoDelay(true);
        DataInputStream in = new DataInputStream(s.getInputStream());
        DataOutputStream out = new DataOutputStream(s.getOutputStream());
        byte[] b = new byte[64];
        long start = System.nanoTime();
        for (int i = 0; i < iters + warm && System.nanoTime() - start < MAX_NS; i++) {
          long t0 = System.nanoTime();
          out.write(b);
          out.flush();
          in.readFully(b);
          if (i >= warm) {
            h.recordValue(Math.max(1, (System.nanoTime() - t0) / 1000));
          }
        }
      }
      echo.join(1000);
    }
    return h;
  }
}
