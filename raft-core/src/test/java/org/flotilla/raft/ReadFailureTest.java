package org.flotilla.raft;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.function.BooleanSupplier;
import org.flotilla.raft.cluster.Member;
import org.flotilla.raft.cluster.Role;
import org.flotilla.raft.memory.MemoryNetwork;
import org.flotilla.raft.message.AppendEntries;
import org.flotilla.raft.message.ReadIndexRequest;
import org.flotilla.raft.sim.VirtualScheduler;
import org.flotilla.raft.testkit.LossyTransport;
import org.flotilla.raft.testkit.TestCluster;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A read that gets no read index, or whose index is not applied in time, fails with its own
 * exception type after two election timeouts. Three real nodes run in virtual time on the test's
 * thread (one {@link VirtualScheduler} for their workers, the network's deliveries and the futures'
 * completions); a {@link LossyTransport} drops the messages each case needs lost.
 */
class ReadFailureTest {

  private static final RaftOptions OPTIONS = TestCluster.fastOptions().build();
  private static final long TWO_ELECTIONS = 2 * OPTIONS.electionTimeout().toNanos();

  private final VirtualScheduler time = new VirtualScheduler();
  private final MemoryNetwork network =
      MemoryNetwork.create(
          time.executor(),
          MemoryNetwork.DEFAULT_LINK_CAPACITY,
          MemoryNetwork.DEFAULT_MAX_MESSAGE_BYTES);
  private final Map<String, LossyTransport> transports = new HashMap<>();
  private TestCluster cluster;
  private RaftNode leader;
  private RaftNode follower;

  @BeforeEach
  void startCluster() {
    cluster =
        new TestCluster(
                Member::of,
                id -> {
                  LossyTransport t = new LossyTransport(network.transport());
                  transports.put(id, t);
                  return t;
                },
                id -> new TestCluster.MemoryStores(),
                OPTIONS)
            .withScheduler(t -> time)
            .withCallbackExecutor(time.executor())
            .start("n1", "n2", "n3");
    runUntil(
        "a leader whose followers know it and whose first entries are applied",
        () -> {
          leader = null;
          for (RaftNode n : cluster.nodes().values()) {
            NodeStatus s = n.status();
            if (s != null && s.role() == Role.LEADER && s.appliedIndex() >= s.lastIndex()) {
              leader = n;
            }
          }
          return leader != null
              && cluster.nodes().values().stream()
                  .allMatch(n -> n.leader().map(Member::id).equals(Optional.of(leader.id())));
        });
    follower = cluster.nodes().values().stream().filter(n -> n != leader).findFirst().orElseThrow();
    CompletableFuture<Result> put = leader.submit(TestCluster.put("x", "1"));
    runUntil("the first put is applied", () -> isApplied(put));
  }

  @AfterEach
  void close() {
    if (cluster != null) {
      cluster.close();
    }
    network.close();
  }

  /**
   * A follower whose read-index requests never reach the leader gets no read index: the read is
   * refused after two election timeouts, not before, with {@link ReadNotConfirmedException}.
   */
  @Test
  void aReadWithNoReadIndexWithinTwoElectionTimeoutsIsNotConfirmed() {
    String f = follower.id();
    transports.get(f).lose(m -> m instanceof ReadIndexRequest);
    CompletableFuture<Result> read = follower.read(TestCluster.get("x"));

    runFor(TWO_ELECTIONS - OPTIONS.electionTimeout().toNanos() / 2);
    assertThat(read).as("pending before two election timeouts").isNotDone();
    runUntil("the read fails", read::isDone);

    assertThat(failure(read))
        .isInstanceOf(ReadNotConfirmedException.class)
        .hasMessageContaining(f)
        .hasMessageContaining("no read index");
    assertThat(follower.status().role()).as("still a follower").isEqualTo(Role.FOLLOWER);

    transports.get(f).lose(m -> false);
    CompletableFuture<Result> retry = follower.read(TestCluster.get("x"));
    runUntil("the retry is answered", retry::isDone);
    assertThat(TestCluster.string(retry.join().value())).isEqualTo("1");
  }

  /**
   * A follower that gets a read index from the leader but none of the entries up to it cannot apply
   * that far: the read times out after two election timeouts with {@link ReadTimeoutException}.
   */
  @Test
  void aReadWhoseIndexIsNotAppliedWithinTwoElectionTimeoutsTimesOut() {
    String f = follower.id();
    // Heartbeats (and read-index answers) still arrive, so it keeps following the leader.
    transports.get(leader.id()).lose(m -> m instanceof AppendEntries && m.to().equals(f));
    CompletableFuture<Result> put = leader.submit(TestCluster.put("x", "2"));
    runUntil("the leader applies the second put", () -> isApplied(put));
    long committed = put.join().index();
    assertThat(follower.status().appliedIndex()).isLessThan(committed);

    CompletableFuture<Result> read = follower.read(TestCluster.get("x"));
    runFor(TWO_ELECTIONS - OPTIONS.electionTimeout().toNanos() / 2);
    assertThat(read).as("pending before two election timeouts").isNotDone();
    runUntil("the read fails", read::isDone);

    assertThat(failure(read))
        .isInstanceOf(ReadTimeoutException.class)
        .hasMessageContaining("read index " + committed + " not applied in time");
    assertThat(follower.status().role()).as("still a follower").isEqualTo(Role.FOLLOWER);

    transports.get(leader.id()).lose(m -> false);
    CompletableFuture<Result> retry = follower.read(TestCluster.get("x"));
    runUntil("the retry is answered", retry::isDone);
    assertThat(TestCluster.string(retry.join().value())).isEqualTo("2");
  }

  private static boolean isApplied(CompletableFuture<Result> f) {
    if (f.isCompletedExceptionally()) {
      fail("failed: " + failure(f));
    }
    return f.isDone();
  }

  private static Throwable failure(CompletableFuture<?> f) {
    try {
      f.join();
    } catch (CompletionException e) {
      return e.getCause();
    }
    return fail("completed normally: " + f.join());
  }

  /** Moves virtual time forward. */
  private void runFor(long nanos) {
    time.runUntil(time.nanoTime() + nanos);
  }

  /** Moves virtual time forward in 10 ms steps until the condition holds, at most 30 s of it. */
  private void runUntil(String what, BooleanSupplier condition) {
    long deadline = time.nanoTime() + Duration.ofSeconds(30).toNanos();
    while (!condition.getAsBoolean()) {
      if (time.nanoTime() > deadline) {
        fail("not within 30 s of virtual time: " + what);
      }
      runFor(Duration.ofMillis(10).toNanos());
    }
  }
}
