package org.flotilla.raft;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.flotilla.raft.cluster.Member;
import org.flotilla.raft.cluster.Role;
import org.flotilla.raft.memory.MemoryLogStore;
import org.flotilla.raft.memory.MemoryMetaStore;
import org.flotilla.raft.memory.MemoryNetwork;
import org.flotilla.raft.memory.MemorySnapshotStore;
import org.flotilla.raft.testkit.TestCluster;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The node closes every {@link StateMachine.Snapshot} it captured exactly once, whether the
 * snapshot was written or its writer failed (issue 16, item 4). Real threads: the snapshot thread
 * is what is under test; every wait polls a condition with a deadline.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class SnapshotReleaseTest {

  private static final Duration WAIT = Duration.ofSeconds(20);

  private final MemoryNetwork network = MemoryNetwork.create();
  private final AtomicInteger captured = new AtomicInteger();
  private final AtomicInteger closed = new AtomicInteger();
  private volatile boolean failWrites;
  private RaftNode node;

  /** The test's key-value machine, whose snapshots count their closes and may fail to write. */
  private final class CountingMachine implements StateMachine {
    private final TestCluster.KvStateMachine kv = new TestCluster.KvStateMachine(false);

    @Override
    public ByteBuffer apply(long index, ByteBuffer command) {
      return kv.apply(index, command);
    }

    @Override
    public ByteBuffer query(ByteBuffer query) {
      return kv.query(query);
    }

    @Override
    public void restore(long index, long term, InputStream in) throws IOException {
      kv.restore(index, term, in);
    }

    @Override
    public Snapshot snapshot() {
      Snapshot inner = kv.snapshot();
      captured.incrementAndGet();
      return new Snapshot() {
        @Override
        public void writeTo(OutputStream out) throws IOException {
          if (failWrites) {
            throw new IOException("disk full (injected)");
          }
          inner.writeTo(out);
        }

        @Override
        public void close() {
          closed.incrementAndGet();
        }
      };
    }
  }

  @AfterEach
  void close() {
    if (node != null) {
      node.close();
    }
    network.close();
  }

  private void startLeader() throws Exception {
    node =
        RaftNode.builder()
            .id("n1")
            .members(List.of(Member.of("n1")))
            .stateMachine(new CountingMachine())
            .transport(network.transport())
            .logStore(new MemoryLogStore())
            .metaStore(new MemoryMetaStore())
            .snapshotStore(new MemorySnapshotStore())
            .options(TestCluster.fastOptions().build())
            .build();
    node.start();
    TestCluster.await("n1 leads", WAIT, () -> node.status().role() == Role.LEADER);
    node.submit(TestCluster.put("k", "v")).get(WAIT.toMillis(), TimeUnit.MILLISECONDS);
  }

  @Test
  void aWrittenSnapshotIsClosedOnce() throws Exception {
    startLeader();
    node.takeSnapshot().get(WAIT.toMillis(), TimeUnit.MILLISECONDS);
    TestCluster.await("the snapshot closed", WAIT, () -> closed.get() == 1);
    node.close();
    assertThat(captured.get()).isEqualTo(1);
    assertThat(closed.get()).isEqualTo(1);
  }

  @Test
  void aSnapshotWhoseWriterFailedIsClosedOnce() throws Exception {
    startLeader();
    failWrites = true;
    assertThatThrownBy(() -> node.takeSnapshot().get(WAIT.toMillis(), TimeUnit.MILLISECONDS))
        .hasRootCauseMessage("disk full (injected)");
    TestCluster.await("the snapshot closed", WAIT, () -> closed.get() == 1);
    failWrites = false;
    node.takeSnapshot().get(WAIT.toMillis(), TimeUnit.MILLISECONDS);
    TestCluster.await("both snapshots closed", WAIT, () -> closed.get() == 2);
    node.close();
    assertThat(captured.get()).isEqualTo(2);
    assertThat(closed.get()).isEqualTo(2);
  }
}
