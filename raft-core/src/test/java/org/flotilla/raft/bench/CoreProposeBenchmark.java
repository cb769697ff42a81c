package org.flotilla.raft.bench;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.flotilla.raft.cluster.Configuration;
import org.flotilla.raft.cluster.Member;
import org.flotilla.raft.cluster.Role;
import org.flotilla.raft.internal.core.CoreOptions;
import org.flotilla.raft.internal.core.RaftCore;
import org.flotilla.raft.internal.core.Ready;
import org.flotilla.raft.memory.MemoryLogStore;
import org.flotilla.raft.message.AppendEntries;
import org.flotilla.raft.message.AppendEntriesResponse;
import org.flotilla.raft.message.RaftMessage;
import org.flotilla.raft.message.RequestVoteResponse;
import org.flotilla.raft.spi.HardState;
import org.flotilla.raft.spi.LogStore;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.infra.Blackhole;

/**
 * Proposals per second through a leader {@link RaftCore} alone: a 3-voter group whose followers are
 * simulated by acknowledging every AppendEntries at once, over an in-memory log that is durable on
 * append. Each operation is one proposal taken all the way to applied (propose, ready, append,
 * send, acknowledge, commit, apply), so the figure is the core's own ceiling, with no I/O.
 *
 * <p>Run: {@code mvn -B -P jmh -pl raft-core test} (see the {@code jmh} profile of raft-core's pom
 * for the arguments). Not thread-safe; JMH runs each state on one thread.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(1)
public class CoreProposeBenchmark {

  private static final int COMPACT_EVERY = 10_000;
  private static final int BATCH = 64;

  private RaftCore leader;
  private MemoryLogStore store;
  private List<ByteBuffer> one;
  private List<ByteBuffer> batch;
  private long compacted;

  /** Elects the leader core. */
  @Setup(Level.Trial)
  public void setUp() {
    Configuration config =
        Configuration.ofVoters(List.of(Member.of("n1"), Member.of("n2"), Member.of("n3")));
    store = new MemoryLogStore(MemoryLogStore.Durability.IMMEDIATE);
    CoreOptions options = CoreOptions.DEFAULTS.withPreVoteAndCheckQuorum(false, false);
    leader =
        new RaftCore(
            "n1", options, config, store, HardState.INITIAL, null, new SplittableRandom(42));
    RaftCore core = leader;
    store.setListener(
        new LogStore.DurabilityListener() {
          @Override
          public void durable(long index, long term) {
            core.persisted(index, term);
          }

          @Override
          public void failed(Throwable cause) {
            throw new IllegalStateException("log store failed", cause);
          }
        });
    while (leader.role() != Role.CANDIDATE) {
      leader.tick();
    }
    leader.step(new RequestVoteResponse("n2", "n1", leader.term(), true, false));
    if (leader.role() != Role.LEADER) {
      throw new IllegalStateException("benchmark leader not elected: " + leader);
    }
    drain(null);
    ByteBuffer payload = ByteBuffer.allocate(128).asReadOnlyBuffer();
    one = List.of(payload);
    batch = new ArrayList<>();
    for (int i = 0; i < BATCH; i++) {
      batch.add(payload);
    }
  }

  /**
   * One proposal of one command, driven until it is applied.
   *
   * @param bh sink for the applied entries
   */
  @Benchmark
  public void proposeOne(Blackhole bh) {
    propose(one, bh);
  }

  /**
   * One proposal of {@value #BATCH} commands (a loop turn's batch), driven until applied; the score
   * is per command.
   *
   * @param bh sink for the applied entries
   */
  @Benchmark
  @OperationsPerInvocation(BATCH)
  public void proposeBatch(Blackhole bh) {
    propose(batch, bh);
  }

  private void propose(List<ByteBuffer> commands, Blackhole bh) {
    long first = leader.propose(commands);
    if (first < 0) {
      throw new IllegalStateException("proposal rejected: " + first);
    }
    drain(bh);
    long applied = leader.appliedIndex();
    if (applied < first + commands.size() - 1) {
      throw new IllegalStateException("not applied: " + leader);
    }
    if (applied - compacted >= COMPACT_EVERY) {
      store.compact(applied);
      compacted = applied;
    }
  }

  /** Runs ready batches, acknowledging for the followers, until the core is idle. */
  private void drain(Blackhole bh) {
    while (leader.hasReady()) {
      Ready r = leader.ready();
      if (!r.entries().isEmpty()) {
        store.append(r.entries());
      }
      if (bh != null) {
        bh.consume(r.committedEntries());
      }
      for (RaftMessage m : r.messages()) {
        if (m instanceof AppendEntries ae) {
          long match = ae.prevLogIndex() + ae.entries().size();
          leader.step(
              new AppendEntriesResponse(ae.to(), ae.from(), ae.term(), true, match, 0, 0, 0));
        }
      }
    }
  }
}
