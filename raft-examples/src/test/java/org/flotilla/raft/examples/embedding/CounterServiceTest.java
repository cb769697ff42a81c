package org.flotilla.raft.examples.embedding;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.BooleanSupplier;
import org.flotilla.raft.CommandRejectedException;
import org.flotilla.raft.NodeStatus;
import org.flotilla.raft.NotLeaderException;
import org.flotilla.raft.OverloadedException;
import org.flotilla.raft.RaftException;
import org.flotilla.raft.RaftOptions;
import org.flotilla.raft.ReadConsistency;
import org.flotilla.raft.Result;
import org.flotilla.raft.StateMachine;
import org.flotilla.raft.cluster.Member;
import org.flotilla.raft.cluster.Role;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The embedding example at work: {@link CounterService}s on loopback, each with its own file stores
 * and Netty transport, driven the way a client of the service would drive them.
 */
@Timeout(120)
class CounterServiceTest {

  /** Short timeouts for a quick test; snapshots only on request. */
  private static final RaftOptions OPTIONS =
      RaftOptions.builder()
          .electionTimeout(Duration.ofMillis(300))
          .heartbeatInterval(Duration.ofMillis(30))
          .leaseDriftMargin(Duration.ofMillis(50))
          .snapshotThresholdEntries(0)
          .build();

  private static final long SECONDS = 10;

  @TempDir Path dir;

  private final Map<String, Member> members = new LinkedHashMap<>();
  private final Map<String, CounterService> running = new LinkedHashMap<>();

  @AfterEach
  void stop() {
    running.values().forEach(CounterService::close);
  }

  private void start(String id, List<Member> voters, RaftOptions options) throws IOException {
    running.put(id, new CounterService(members.get(id), voters, dir.resolve(id), options));
  }

  // A client's add, as the service's callers would write it: follow the leader hint of a
  // NotLeaderException; after an unknown outcome (a timeout, a stopped node) retry the same
  // sequence number, which the session applies at most once.
  private long add(String clientId, long sequence, long delta) throws Exception {
    String target = running.keySet().iterator().next();
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (true) {
      CounterService service = running.get(target);
      if (service == null) { // that member is down: try another
        target = running.keySet().iterator().next();
        continue;
      }
      try {
        return service.add(clientId, sequence, delta).get(5, TimeUnit.SECONDS);
      } catch (ExecutionException e) {
        if (e.getCause() instanceof NotLeaderException notLeader) {
          target = notLeader.leader().map(Member::id).orElse(target); // nothing was proposed
        } else if (!(e.getCause() instanceof RaftException)) {
          throw e;
        }
      } catch (TimeoutException e) {
        // unknown outcome: retry with the same sequence number
      }
      assertThat(System.nanoTime()).as("add %d before the deadline", sequence).isLessThan(deadline);
      Thread.sleep(20);
    }
  }

  private static void await(String what, BooleanSupplier condition) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (!condition.getAsBoolean()) {
      assertThat(System.nanoTime()).as("waiting for " + what).isLessThan(deadline);
      Thread.sleep(20);
    }
  }

  /** Waits until every running member knows the same running leader, and returns it. */
  private String awaitLeader() throws InterruptedException {
    String[] leader = new String[1];
    await(
        "one leader known to all",
        () -> {
          leader[0] = null;
          for (CounterService s : running.values()) {
            NodeStatus st = s.node().status();
            if (st.leader().isEmpty() || !running.containsKey(st.leader().get())) {
              return false;
            }
            if (leader[0] != null && !leader[0].equals(st.leader().get())) {
              return false;
            }
            leader[0] = st.leader().get();
          }
          return running.get(leader[0]).node().status().role() == Role.LEADER;
        });
    return leader[0];
  }

  private static long value(CounterService s, ReadConsistency c) throws Exception {
    return s.get(c).get(SECONDS, TimeUnit.SECONDS);
  }

  private void awaitEveryConsistency(CounterService s, long expected) throws Exception {
    // A STALE read may lag behind; it catches up once the member has applied the writes.
    await("a stale read of " + expected, () -> staleValue(s) == expected);
    assertThat(value(s, ReadConsistency.LEASE)).isEqualTo(expected);
    assertThat(value(s, ReadConsistency.LINEARIZABLE)).isEqualTo(expected);
  }

  private static long staleValue(CounterService s) {
    return s.get(ReadConsistency.STALE).join();
  }

  private static List<Integer> freePorts(int n) throws IOException {
    List<ServerSocket> sockets = new ArrayList<>();
    try {
      for (int i = 0; i < n; i++) {
        sockets.add(new ServerSocket(0, 1, InetAddress.getLoopbackAddress()));
      }
      return sockets.stream().map(ServerSocket::getLocalPort).toList();
    } finally {
      for (ServerSocket s : sockets) {
        s.close();
      }
    }
  }

  @Test
  void countsThroughALeaderKillRestoresFromSnapshotsAndAddsAMember() throws Exception {
    List<Integer> ports = freePorts(4);
    for (int i = 1; i <= 4; i++) {
      members.put("n" + i, Member.of("n" + i, "127.0.0.1:" + ports.get(i - 1)));
    }
    List<Member> voters = List.of(members.get("n1"), members.get("n2"), members.get("n3"));
    for (Member m : voters) {
      start(m.id(), voters, OPTIONS);
    }
    String leader = awaitLeader();

    // A follower refuses a command and names the leader.
    String follower =
        voters.stream().map(Member::id).filter(id -> !id.equals(leader)).findFirst().get();
    ExecutionException refused =
        catchThrowableOfType(
            ExecutionException.class,
            () -> running.get(follower).add("c", 1, 1).get(SECONDS, TimeUnit.SECONDS));
    assertThat(refused.getCause()).isInstanceOf(NotLeaderException.class);
    assertThat(((NotLeaderException) refused.getCause()).leader().map(Member::id)).contains(leader);

    for (long seq = 1; seq <= 10; seq++) {
      assertThat(add("c", seq, 1)).isEqualTo(seq);
    }
    for (CounterService s : running.values()) {
      // LINEARIZABLE and LEASE reads see every acknowledged write, on followers too.
      assertThat(value(s, ReadConsistency.LINEARIZABLE)).isEqualTo(10);
      assertThat(value(s, ReadConsistency.LEASE)).isEqualTo(10);
      awaitEveryConsistency(s, 10);
    }

    // Exactly once: a retry of an applied (client, sequence) gets the first result, applies
    // nothing.
    assertThat(add("c", 10, 1)).isEqualTo(10);
    assertThat(value(running.get(leader), ReadConsistency.LINEARIZABLE)).isEqualTo(10);
    ExecutionException superseded =
        catchThrowableOfType(
            ExecutionException.class,
            () -> running.get(leader).add("c", 5, 1).get(SECONDS, TimeUnit.SECONDS));
    assertThat(superseded.getCause()).isInstanceOf(CommandRejectedException.class);

    Map<String, Long> snapshots = new LinkedHashMap<>();
    for (Map.Entry<String, CounterService> e : running.entrySet()) {
      snapshots.put(e.getKey(), e.getValue().node().takeSnapshot().get(SECONDS, TimeUnit.SECONDS));
    }
    assertThat(snapshots.values()).allSatisfy(index -> assertThat(index).isGreaterThan(10));

    // Kill the leader with a command in flight: its outcome is unknown, so the client retries it.
    CompletableFuture<Long> inFlight = running.get(leader).add("c", 11, 1);
    running.remove(leader).close();
    await("the in-flight command's future to complete", inFlight::isDone);
    String next = awaitLeader();
    assertThat(next).isNotEqualTo(leader);
    for (long seq = 11; seq <= 20; seq++) {
      assertThat(add("c", seq, 1)).isEqualTo(seq);
    }
    for (CounterService s : running.values()) {
      awaitEveryConsistency(s, 20);
    }

    // Restart the old leader on its data directory: it restores its snapshot, then applies the
    // entries after it. Were restore broken, the counter would miss the adds before the snapshot.
    start(leader, voters, OPTIONS);
    CounterService restarted = running.get(leader);
    awaitEveryConsistency(restarted, 20);
    assertThat(restarted.node().status().snapshotIndex()).isEqualTo(snapshots.get(leader));

    // Join a fourth member: it starts with no voters (join()), and the leader adds it.
    String current = awaitLeader();
    start("n4", List.of(), OPTIONS);
    Result added =
        running.get(current).node().addMember(members.get("n4")).get(SECONDS, TimeUnit.SECONDS);
    assertThat(added.index()).isPositive();
    await(
        "n4 promoted to voter",
        () -> running.get(current).node().status().configuration().isVoter("n4"));
    assertThat(add("c", 21, 1)).isEqualTo(21);
    awaitEveryConsistency(running.get("n4"), 21);
  }

  @Test
  void overloadIsRefusedFastAndTheServiceRetriesIt() throws Exception {
    members.put("solo", Member.of("solo", "127.0.0.1:" + freePorts(1).get(0)));
    start("solo", List.of(members.get("solo")), OPTIONS.toBuilder().maxPendingProposals(1).build());
    CounterService solo = running.get("solo");
    await("solo to lead", () -> awaitLeaderQuietly(solo));

    // Past the pending limit, submit fails at once: nothing was proposed.
    List<CompletableFuture<Result>> raw = new ArrayList<>();
    for (int i = 0; i < 20; i++) {
      raw.add(solo.node().submit(ByteBuffer.allocate(8).putLong(0, 1)));
    }
    long accepted = 0;
    int overloaded = 0;
    for (CompletableFuture<Result> f : raw) {
      try {
        f.get(SECONDS, TimeUnit.SECONDS);
        accepted++;
      } catch (ExecutionException e) {
        assertThat(e.getCause()).isInstanceOf(OverloadedException.class);
        overloaded++;
      }
    }
    assertThat(overloaded).as("submits refused by the limit of 1 pending").isPositive();

    // The service's add retries overload with backoff, so concurrent adds all succeed.
    List<CompletableFuture<Long>> adds = new ArrayList<>();
    for (int i = 0; i < 5; i++) {
      adds.add(solo.add("client-" + i, 1, 1));
    }
    CompletableFuture.allOf(adds.toArray(CompletableFuture[]::new)).get(30, TimeUnit.SECONDS);
    // Every add's pending slot is free once its future has completed: the read is not refused.
    assertThat(value(solo, ReadConsistency.LINEARIZABLE)).isEqualTo(accepted + 5);
  }

  private static boolean awaitLeaderQuietly(CounterService s) {
    NodeStatus st = s.node().status();
    return st != null && st.role() == Role.LEADER;
  }

  @Test
  void aSnapshotCapturesTheValueWhenTakenAndRestoresIt() throws IOException {
    Counter counter = new Counter();
    counter.apply(1, ByteBuffer.allocate(8).putLong(0, 41));
    StateMachine.Snapshot snapshot = counter.snapshot();
    counter.apply(2, ByteBuffer.allocate(8).putLong(0, 1)); // applying goes on meanwhile
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    snapshot.writeTo(out);

    Counter restored = new Counter();
    restored.apply(1, ByteBuffer.allocate(8).putLong(0, 99)); // restore replaces the whole state
    restored.restore(1, 1, new ByteArrayInputStream(out.toByteArray()));
    assertThat(restored.query(ByteBuffer.allocate(0)).getLong(0)).isEqualTo(41);
    assertThat(counter.query(ByteBuffer.allocate(0)).getLong(0)).isEqualTo(42);
  }
}
