package org.flotilla.raft;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.function.BooleanSupplier;
import org.flotilla.raft.cluster.Configuration;
import org.flotilla.raft.cluster.Member;
import org.flotilla.raft.cluster.Role;
import org.flotilla.raft.memory.MemoryNetwork;
import org.flotilla.raft.message.RaftMessage;
import org.flotilla.raft.message.RequestVote;
import org.flotilla.raft.message.RequestVoteResponse;
import org.flotilla.raft.sim.VirtualScheduler;
import org.flotilla.raft.spi.HardState;
import org.flotilla.raft.spi.LogStore;
import org.flotilla.raft.spi.MetaStore;
import org.flotilla.raft.spi.SnapshotStore;
import org.flotilla.raft.spi.Transport;
import org.flotilla.raft.testkit.LossyTransport;
import org.flotilla.raft.testkit.TestCluster;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A meta store that makes saves durable later ({@link MetaStore#saveAsync}, as a host's shared log
 * does, one {@code fsync} for many groups): the node's event loop does not wait for the disk, yet
 * nothing it sends leaves before the term, vote and initial configuration it rests on are durable
 * (Figure 2: "updated on stable storage before responding to RPCs"). Real nodes in virtual time;
 * every save becomes durable {@link #SYNC} after it is made.
 */
class DeferredMetaSaveTest {

  private static final RaftOptions OPTIONS = TestCluster.fastOptions().build();
  private static final Duration SYNC = Duration.ofMillis(7);

  private final VirtualScheduler time = new VirtualScheduler(5);
  private final MemoryNetwork network =
      MemoryNetwork.create(
          time.executor(),
          MemoryNetwork.DEFAULT_LINK_CAPACITY,
          MemoryNetwork.DEFAULT_MAX_MESSAGE_BYTES);
  private final Map<String, DeferringMeta> metas = new HashMap<>();
  private final Map<String, TestCluster.MemoryStores> disks = new HashMap<>();
  private final List<String> violations = new ArrayList<>();
  private int deferredSaves;
  private final TestCluster cluster =
      new TestCluster(Member::of, id -> checked(id, network.transport()), id -> stores(id), OPTIONS)
          .withScheduler(t -> time)
          .withCallbackExecutor(time.executor());

  @AfterEach
  void close() {
    cluster.close();
    network.close();
  }

  /**
   * Three members elect, re-elect after the leader stops, and commit writes while every save of
   * term, vote and configuration is durable only 7 ms after it is made; no member ever sends a
   * message of a term, or grants a vote, before that term or vote is durable, nor anything before
   * its initial configuration is.
   */
  @Test
  void nothingLeavesBeforeTheTermAndVoteItRestsOnAreDurable() {
    cluster.start("n1", "n2", "n3");
    RaftNode leader = awaitLeader();
    put(leader, "k", "1");
    cluster.stop(leader.status().id());
    put(awaitLeader(), "k", "2");

    assertThat(deferredSaves).as("saves made through saveAsync").isGreaterThanOrEqualTo(6);
    assertThat(violations).isEmpty();
  }

  private TestCluster.Stores stores(String id) {
    TestCluster.MemoryStores disk = disks.computeIfAbsent(id, k -> new TestCluster.MemoryStores());
    return new TestCluster.Stores() {
      @Override
      public LogStore log() {
        return disk.log();
      }

      @Override
      public MetaStore meta() {
        DeferringMeta m = new DeferringMeta(disk.meta());
        metas.put(id, m);
        return m;
      }

      @Override
      public SnapshotStore snapshots() {
        return disk.snapshots();
      }
    };
  }

  /**
   * Saves at once into the memory store (as a write reaches the page cache), but counts a save as
   * durable, and tells the node, only {@link #SYNC} later (as the fsync that covers it).
   */
  private final class DeferringMeta implements MetaStore {
    private final MetaStore store;
    // what the node may rely on: the durable hard state, and whether its configuration is
    HardState durable;
    boolean configDurable;

    DeferringMeta(MetaStore store) {
      this.store = store;
      this.durable = store.load();
      this.configDurable = true;
    }

    @Override
    public HardState load() {
      return store.load();
    }

    @Override
    public void save(HardState state) {
      store.save(state);
      durable = state;
    }

    @Override
    public void saveAsync(HardState state, Runnable onDurable) {
      deferredSaves++;
      store.save(state);
      time.schedule(
          SYNC.toNanos(),
          () -> {
            durable = state;
            onDurable.run();
          });
    }

    @Override
    public Optional<Configuration> loadInitialConfiguration() {
      return store.loadInitialConfiguration();
    }

    @Override
    public void saveInitialConfiguration(Configuration configuration) {
      store.saveInitialConfiguration(configuration);
    }

    @Override
    public void saveInitialConfigurationAsync(Configuration configuration, Runnable onDurable) {
      deferredSaves++;
      configDurable = false;
      store.saveInitialConfiguration(configuration);
      time.schedule(
          SYNC.toNanos(),
          () -> {
            configDurable = true;
            onDurable.run();
          });
    }

    @Override
    public void close() {
      store.close();
    }
  }

  /**
   * Checks a message a member sends against what its meta store holds durably, recording each
   * violation; never drops it (the filter of the member's {@link LossyTransport}).
   */
  private boolean violates(String id, RaftMessage m) {
    DeferringMeta meta = metas.get(id);
    HardState d = meta.durable;
    if (!meta.configDurable) {
      violations.add(id + " sent " + m + " before its initial configuration was durable");
    }
    boolean preVote =
        (m instanceof RequestVote rv && rv.preVote())
            || (m instanceof RequestVoteResponse r && r.preVote());
    // A pre-vote asks for the next term without taking it (thesis §9.6): nothing to persist.
    if (!preVote && m.term() > d.term()) {
      violations.add(id + " sent " + m + " with only term " + d.term() + " durable");
    }
    if (m instanceof RequestVoteResponse r
        && r.granted()
        && !r.preVote()
        && !(d.term() == r.term() && r.to().equals(d.votedFor()))) {
      violations.add(id + " granted " + r + " with only " + d + " durable");
    }
    return false;
  }

  /** The member's transport: every message it sends is checked by {@link #violates}. */
  private Transport checked(String id, Transport t) {
    LossyTransport checked = new LossyTransport(t);
    checked.lose(m -> violates(id, m));
    return checked;
  }

  private RaftNode awaitLeader() {
    RaftNode[] leader = new RaftNode[1];
    runUntil(
        "a leader",
        () -> {
          for (RaftNode n : cluster.nodes().values()) {
            if (n.isRunning() && n.status().role() == Role.LEADER) {
              leader[0] = n;
              return true;
            }
          }
          return false;
        });
    return leader[0];
  }

  private void put(RaftNode leader, String key, String value) {
    CompletableFuture<Result> f = leader.submit(TestCluster.put(key, value));
    runUntil("put " + key, f::isDone);
    f.join();
  }

  private void runUntil(String what, BooleanSupplier condition) {
    long deadline = time.nanoTime() + Duration.ofSeconds(30).toNanos();
    while (!condition.getAsBoolean()) {
      if (time.nanoTime() > deadline) {
        fail("not within 30 s of virtual time: " + what);
      }
      time.runUntil(time.nanoTime() + Duration.ofMillis(10).toNanos());
    }
  }
}
