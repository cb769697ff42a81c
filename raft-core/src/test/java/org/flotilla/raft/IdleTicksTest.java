package org.flotilla.raft;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import java.util.random.RandomGenerator;
import org.flotilla.raft.cluster.Member;
import org.flotilla.raft.cluster.Role;
import org.flotilla.raft.memory.MemoryNetwork;
import org.flotilla.raft.sim.VirtualScheduler;
import org.flotilla.raft.spi.Scheduler;
import org.flotilla.raft.testkit.TestCluster;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A member that does not lead and has nothing in flight wakes its event loop when its election
 * timer fires, not at every tick: a host's thousands of groups waiting for their first election
 * would otherwise cost a turn each per tick. Virtual time; the loop's turns are counted.
 */
class IdleTicksTest {

  private static final RaftOptions OPTIONS = TestCluster.fastOptions().build();

  private final VirtualScheduler time = new VirtualScheduler(3);
  private final AtomicLong loopTurns = new AtomicLong();
  private final MemoryNetwork network =
      MemoryNetwork.create(
          time.executor(),
          MemoryNetwork.DEFAULT_LINK_CAPACITY,
          MemoryNetwork.DEFAULT_MAX_MESSAGE_BYTES);
  private final TestCluster cluster =
      new TestCluster(
              Member::of, id -> network.transport(), id -> new TestCluster.MemoryStores(), OPTIONS)
          .withScheduler(t -> counting())
          .withCallbackExecutor(time.executor());

  @AfterEach
  void close() {
    cluster.close();
    network.close();
  }

  /**
   * n1 alone of three voters campaigns (pre-vote) at every election timeout and is never answered:
   * over 20 election timeouts (2,000 ticks) its loop turns number about one per timeout, and its
   * status shows the elections it ran, as with ticks one by one.
   */
  @Test
  void aMemberWaitingForItsElectionTimerTurnsOncePerTimeoutNotPerTick() {
    cluster.startNode("n1", List.of(Member.of("n1"), Member.of("n2"), Member.of("n3")));
    long ticks = 20 * OPTIONS.electionTimeout().toNanos() / OPTIONS.tickInterval().toNanos();
    time.runUntil(time.nanoTime() + 20 * OPTIONS.electionTimeout().toNanos());

    RaftNode n1 = cluster.node("n1");
    assertThat(n1.status().role()).isIn(Role.FOLLOWER, Role.PRE_CANDIDATE, Role.CANDIDATE);
    assertThat(loopTurns.get())
        .as("loop turns in %d ticks", ticks)
        .isGreaterThanOrEqualTo(5)
        .isLessThan(ticks / 10);
  }

  /** The virtual scheduler, counting the turns of event loops. */
  private Scheduler counting() {
    return new Scheduler() {
      @Override
      public long nanoTime() {
        return time.nanoTime();
      }

      @Override
      public RandomGenerator random() {
        return time.random();
      }

      @Override
      public Worker start(String name, Turn turn) {
        return time.start(name, turn);
      }

      @Override
      public Worker startEventLoop(String name, Turn turn) {
        return time.start(
            name,
            () -> {
              loopTurns.incrementAndGet();
              return turn.run();
            });
      }
    };
  }
}
