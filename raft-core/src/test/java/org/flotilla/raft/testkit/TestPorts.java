package org.flotilla.raft.testkit;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Free TCP ports on the loopback address for tests that must name a member's address before it
 * listens. The ports come from [20000, 32000), below Linux's ephemeral range (32768 to 60999): an
 * outgoing connection never takes one of them, so a port found free stays free until the test binds
 * it. (A port from {@code new ServerSocket(0)} is an ephemeral one, which any client socket of the
 * same machine, another test's included, can take between the check and the bind: the flake this
 * class removes.) Each JVM starts at its own offset, so that concurrent test JVMs rarely probe the
 * same ports. Thread-safe.
 */
public final class TestPorts {

  private static final int FIRST = 20_000;
  private static final int COUNT = 12_000;
  private static final AtomicInteger NEXT =
      new AtomicInteger((int) (ProcessHandle.current().pid() % 60) * 200);

  private TestPorts() {}

  /**
   * Returns a port that is free on the loopback address and not handed out before by this JVM.
   *
   * @return the port
   * @throws UncheckedIOException if every port of the range is taken
   */
  public static int free() {
    for (int i = 0; i < COUNT; i++) {
      int port = FIRST + Math.floorMod(NEXT.getAndIncrement(), COUNT);
      try (ServerSocket s = new ServerSocket(port, 1, InetAddress.getLoopbackAddress())) {
        return s.getLocalPort();
      } catch (IOException taken) {
        // in use by someone else: the loop tries the next one
      }
    }
    throw new UncheckedIOException(
        new IOException("no free port in [" + FIRST + ", " + (FIRST + COUNT) + ")"));
  }
}
