package org.flotilla.raft.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.fail;

import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import org.flotilla.raft.cluster.Configuration;
import org.flotilla.raft.cluster.Member;
import org.flotilla.raft.message.AppendEntries;
import org.flotilla.raft.message.AppendEntriesResponse;
import org.flotilla.raft.message.EntryType;
import org.flotilla.raft.message.Heartbeat;
import org.flotilla.raft.message.HeartbeatResponse;
import org.flotilla.raft.message.InstallSnapshot;
import org.flotilla.raft.message.InstallSnapshotResponse;
import org.flotilla.raft.message.LogEntry;
import org.flotilla.raft.message.RaftMessage;
import org.flotilla.raft.message.ReadIndexRequest;
import org.flotilla.raft.message.ReadIndexResponse;
import org.flotilla.raft.message.RequestVote;
import org.flotilla.raft.message.RequestVoteResponse;
import org.flotilla.raft.message.TimeoutNow;
import org.flotilla.raft.spi.Transport;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The behaviour every {@link Transport} must have, written once and run against each implementation
 * by a subclass: every message kind arrives intact, messages on one connection arrive in order, a
 * down peer costs neither an exception nor a blocked caller, delivery resumes after a peer
 * restarts, messages up to the size limit arrive and larger ones are dropped without disturbing the
 * rest, and only members are talked to.
 *
 * <p>Transports are real (threads, maybe sockets): tests wait for conditions with bounded timeouts,
 * never for a fixed time.
 */
@Timeout(60)
public abstract class TransportConformanceTest {

  /** How long a test waits for an expected delivery. */
  protected static final Duration WAIT = Duration.ofSeconds(20);

  private final List<Transport> started = new ArrayList<>();

  /**
   * Creates a new, unstarted transport. Transports created by one test must be able to reach each
   * other given their {@link #addressOf addresses}.
   *
   * @return the transport
   */
  protected abstract Transport newTransport();

  /**
   * Creates a new, unstarted transport that will listen where {@code address} says (a restarted
   * peer keeps its address).
   *
   * @param address an address returned by {@link #addressOf}
   * @return the transport
   */
  protected abstract Transport newTransportAt(String address);

  /**
   * Returns the address other members use to reach a started transport.
   *
   * @param transport a started transport from {@link #newTransport}
   * @return the member address
   */
  protected abstract String addressOf(Transport transport);

  /**
   * Returns a snapshot chunk size that the transport under test must deliver (close to its limit).
   *
   * @return bytes of {@link InstallSnapshot#data()}
   */
  protected abstract int largestDeliverableChunk();

  /**
   * Returns a snapshot chunk size that is above the transport's limit and must be dropped.
   *
   * @return bytes of {@link InstallSnapshot#data()}
   */
  protected abstract int undeliverableChunk();

  /**
   * Returns an address where no member listens, for a member that is down.
   *
   * @return the member address
   */
  protected abstract String deadAddress();

  /** A started transport with the inbox it delivers to. */
  protected final class Node {
    final String id;
    final Transport transport;
    final BlockingQueue<RaftMessage> inbox = new ArrayBlockingQueue<>(100_000);

    Node(String id, Transport transport) throws Exception {
      this.id = id;
      this.transport = transport;
      transport.start(
          id,
          m -> {
            if (!inbox.offer(m)) {
              throw new IllegalStateException("test inbox overflow");
            }
          });
      started.add(transport);
    }

    Member member() {
      return Member.of(id, addressOf(transport));
    }

    /** Waits for the next message that matches, skipping none. */
    RaftMessage next() throws InterruptedException {
      RaftMessage m = inbox.poll(WAIT.toMillis(), TimeUnit.MILLISECONDS);
      if (m == null) {
        fail(id + " received nothing within " + WAIT);
      }
      return m;
    }

    /** Waits until a message matching {@code p} arrives, discarding those before it. */
    RaftMessage awaitMatching(Predicate<RaftMessage> p) throws InterruptedException {
      long deadline = System.nanoTime() + WAIT.toNanos();
      while (true) {
        long left = deadline - System.nanoTime();
        RaftMessage m = inbox.poll(Math.max(0, left), TimeUnit.NANOSECONDS);
        if (m == null) {
          fail(id + " did not receive the expected message within " + WAIT);
        }
        if (p.test(m)) {
          return m;
        }
      }
    }
  }

  /** Starts a node and returns it; it is closed after the test. */
  protected Node node(String id) throws Exception {
    return new Node(id, newTransport());
  }

  private static void members(List<Member> members, Node... nodes) {
    for (Node n : nodes) {
      n.transport.updateMembers(members);
    }
  }

  private static void send(Node from, RaftMessage m) {
    from.transport.send(m);
    from.transport.flush();
  }

  @AfterEach
  void closeTransports() {
    for (Transport t : started) {
      t.close();
    }
    started.clear();
  }

  // ------------------------------------------------------------------------------------------

  @Test
  void deliversEveryKindOfMessageIntact() throws Exception {
    Node a = node("a");
    Node b = node("b");
    members(List.of(a.member(), b.member()), a, b);
    Configuration conf =
        new Configuration(
            List.of(a.member(), b.member()),
            List.of(a.member()),
            List.of(new Member("learner-1", "127.0.0.1:9", 0)));
    List<RaftMessage> all =
        List.of(
            new AppendEntries(
                "a",
                "b",
                7,
                41,
                6,
                40,
                List.of(
                    new LogEntry(42, 6, EntryType.COMMAND, bytes(1, 100)),
                    LogEntry.noop(43, 7),
                    new LogEntry(44, 7, EntryType.CONFIGURATION, conf.encode()))),
            new AppendEntries("a", "b", 7, 44, 7, 44, List.of()),
            new AppendEntriesResponse("a", "b", 7, false, 0, 41, 30, 5),
            new AppendEntriesResponse("a", "b", 7, true, 44, 0, 0, 0),
            new Heartbeat("a", "b", 7, 44, 1234),
            new HeartbeatResponse("a", "b", 7, 1234),
            new RequestVote("a", "b", 8, 44, 7, true, false),
            new RequestVote("a", "b", 8, 44, 7, false, true),
            new RequestVoteResponse("a", "b", 8, true, true),
            new InstallSnapshot(
                "a", "b", 7, 1000, 6, conf, 300, 0xCAFEBABE, 100, bytes(2, 200), true),
            new InstallSnapshot("a", "b", 7, 1000, 6, conf, 300, -1, 0, null, false),
            new InstallSnapshotResponse("a", "b", 7, 1000, 300, true, false),
            new TimeoutNow("a", "b", 9),
            new ReadIndexRequest("a", "b", 9, -5L),
            new ReadIndexResponse("a", "b", 9, -5L, 44, true));
    for (RaftMessage m : all) {
      a.transport.send(m);
    }
    a.transport.flush();
    for (RaftMessage expected : all) {
      assertThat(b.next()).isEqualTo(expected);
    }
  }

  @Test
  void deliversInOrderOnOneConnection() throws Exception {
    Node a = node("a");
    Node b = node("b");
    members(List.of(a.member(), b.member()), a, b);
    long round = 0;
    for (int batch = 0; batch < 20; batch++) {
      for (int i = 0; i < 250; i++) {
        a.transport.send(new Heartbeat("a", "b", 1, 0, ++round));
        if (i % 50 == 49) {
          a.transport.flush();
        }
      }
      a.transport.flush();
      for (long expected = round - 249; expected <= round; expected++) {
        assertThat(((Heartbeat) b.next()).round()).isEqualTo(expected);
      }
    }
  }

  @Test
  void carriesTrafficBothWays() throws Exception {
    Node a = node("a");
    Node b = node("b");
    members(List.of(a.member(), b.member()), a, b);
    for (int i = 1; i <= 100; i++) {
      send(a, new Heartbeat("a", "b", 1, 0, i));
      assertThat(((Heartbeat) b.next()).round()).isEqualTo(i);
      send(b, new HeartbeatResponse("b", "a", 1, i));
      assertThat(((HeartbeatResponse) a.next()).round()).isEqualTo(i);
    }
  }

  @Test
  void sendingToADownPeerNeitherThrowsNorDisturbsOthers() throws Exception {
    Node a = node("a");
    Node b = node("b");
    Member down = Member.of("down", deadAddress());
    members(List.of(a.member(), b.member(), down), a, b);
    assertThatCode(
            () -> {
              for (int i = 0; i < 20_000; i++) {
                a.transport.send(new Heartbeat("a", "down", 1, 0, i));
                if (i % 100 == 0) {
                  a.transport.flush();
                }
              }
              a.transport.flush();
            })
        .doesNotThrowAnyException();
    send(a, new Heartbeat("a", "b", 1, 0, 1));
    assertThat(b.next()).isEqualTo(new Heartbeat("a", "b", 1, 0, 1));
  }

  @Test
  void deliversAgainAfterThePeerRestarts() throws Exception {
    Node a = node("a");
    Node b = node("b");
    String address = addressOf(b.transport);
    members(List.of(a.member(), b.member()), a, b);
    send(a, new Heartbeat("a", "b", 1, 0, 1));
    assertThat(b.next()).isEqualTo(new Heartbeat("a", "b", 1, 0, 1));

    b.transport.close();
    for (int i = 2; i < 50; i++) {
      send(a, new Heartbeat("a", "b", 1, 0, i)); // lost or delivered late: both are allowed
    }
    Node b2 = new Node("b", newTransportAt(address));
    b2.transport.updateMembers(List.of(a.member(), Member.of("b", address)));

    // Keep sending until one message gets through the new connection.
    long round = 100;
    long deadline = System.nanoTime() + WAIT.toNanos();
    RaftMessage got = null;
    while (got == null && System.nanoTime() < deadline) {
      send(a, new Heartbeat("a", "b", 1, 0, ++round));
      got = b2.inbox.poll(20, TimeUnit.MILLISECONDS);
    }
    assertThat(got).as("a message after the restart").isNotNull();
    // From then on the connection is up: everything arrives, in order.
    long first = round + 1;
    for (int i = 0; i < 200; i++) {
      a.transport.send(new Heartbeat("a", "b", 1, 0, ++round));
    }
    a.transport.flush();
    RaftMessage m = b2.awaitMatching(x -> ((Heartbeat) x).round() >= first);
    assertThat(((Heartbeat) m).round()).isEqualTo(first);
    for (long r = first + 1; r <= round; r++) {
      assertThat(((Heartbeat) b2.next()).round()).isEqualTo(r);
    }
  }

  @Test
  void deliversMessagesUpToTheSizeLimit() throws Exception {
    Node a = node("a");
    Node b = node("b");
    members(List.of(a.member(), b.member()), a, b);
    int size = largestDeliverableChunk();
    ByteBuffer data = bytes(3, size);
    Configuration conf = Configuration.ofVoters(List.of(a.member(), b.member()));
    InstallSnapshot chunk = new InstallSnapshot("a", "b", 2, 10, 2, conf, size, 7, 0, data, true);
    send(a, chunk);
    InstallSnapshot got = (InstallSnapshot) b.next();
    assertThat(got.data().remaining()).isEqualTo(size);
    assertThat(got).isEqualTo(chunk);
  }

  @Test
  void dropsAMessageAboveTheSizeLimitAndKeepsTheConnection() throws Exception {
    Node a = node("a");
    Node b = node("b");
    members(List.of(a.member(), b.member()), a, b);
    send(a, new Heartbeat("a", "b", 1, 0, 1));
    assertThat(b.next()).isEqualTo(new Heartbeat("a", "b", 1, 0, 1));
    int size = undeliverableChunk();
    Configuration conf = Configuration.ofVoters(List.of(a.member(), b.member()));
    a.transport.send(
        new InstallSnapshot("a", "b", 2, 10, 2, conf, size, 7, 0, bytes(4, size), true));
    a.transport.send(new Heartbeat("a", "b", 1, 0, 2));
    a.transport.flush();
    assertThat(b.next()).isEqualTo(new Heartbeat("a", "b", 1, 0, 2));
    send(a, new Heartbeat("a", "b", 1, 0, 3));
    assertThat(b.next()).isEqualTo(new Heartbeat("a", "b", 1, 0, 3));
  }

  @Test
  void talksOnlyToMembers() throws Exception {
    Node a = node("a");
    Node b = node("b");
    Node stranger = node("stranger");
    members(List.of(a.member(), b.member()), a, b);
    stranger.transport.updateMembers(List.of(a.member(), b.member(), stranger.member()));
    assertThatCode(
            () -> {
              send(a, new Heartbeat("a", "nobody", 1, 0, 1));
              send(stranger, new Heartbeat("stranger", "b", 1, 0, 1));
            })
        .doesNotThrowAnyException();
    send(a, new Heartbeat("a", "b", 1, 0, 2));
    assertThat(b.next()).isEqualTo(new Heartbeat("a", "b", 1, 0, 2));
    // b learns of the stranger only now; what it sent before was refused, not held back.
    send(a, new Heartbeat("a", "b", 1, 0, 3));
    assertThat(b.next()).isEqualTo(new Heartbeat("a", "b", 1, 0, 3));
    assertThat(b.inbox).isEmpty();
  }

  @Test
  void closeIsIdempotentAndSendAfterCloseIsDropped() throws Exception {
    Node a = node("a");
    Node b = node("b");
    members(List.of(a.member(), b.member()), a, b);
    a.transport.close();
    assertThatCode(
            () -> {
              a.transport.close();
              a.transport.send(new Heartbeat("a", "b", 1, 0, 1));
              a.transport.flush();
              a.transport.updateMembers(List.of(a.member(), b.member()));
            })
        .doesNotThrowAnyException();
  }

  /**
   * Returns a read-only buffer of pseudo-random bytes.
   *
   * @param seed the seed
   * @param size the size
   * @return the buffer
   */
  protected static ByteBuffer bytes(long seed, int size) {
    byte[] b = new byte[size];
    new Random(seed).nextBytes(b);
    return ByteBuffer.wrap(b).asReadOnlyBuffer();
  }
}
