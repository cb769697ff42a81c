package org.flotilla.raft;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.flotilla.raft.cluster.Configuration;
import org.flotilla.raft.cluster.Member;
import org.flotilla.raft.memory.MemoryNetwork;
import org.flotilla.raft.message.EntryType;
import org.flotilla.raft.message.LogEntry;
import org.flotilla.raft.spi.HardState;
import org.flotilla.raft.spi.SnapshotMeta;
import org.flotilla.raft.spi.SnapshotStore;
import org.flotilla.raft.testkit.TestCluster;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * {@link RaftNode#restoreFromBackup}: a new group, with other member ids, starts from a snapshot of
 * another group and carries on from it; storage that has run is never overwritten; a damaged backup
 * commits nothing.
 */
@Timeout(120)
class RestoreFromBackupTest {

  private static final Duration WAIT = Duration.ofSeconds(20);
  private static final List<Member> NEW_VOTERS =
      List.of(Member.of("m1"), Member.of("m2"), Member.of("m3"));

  private static <T> T join(CompletableFuture<T> f) throws Exception {
    return f.get(20, TimeUnit.SECONDS);
  }

  @Test
  void aNewGroupStartsFromABackupOfAnotherAndCarriesOn() throws Exception {
    Map<String, TestCluster.MemoryStores> old = new HashMap<>();
    Map<String, TestCluster.MemoryStores> fresh = new HashMap<>();
    try (MemoryNetwork net = MemoryNetwork.create();
        TestCluster c =
            new TestCluster(
                    Member::of,
                    id -> net.transport(),
                    id -> old.computeIfAbsent(id, x -> new TestCluster.MemoryStores()),
                    TestCluster.fastOptions().build())
                .start("n1", "n2", "n3")) {
      RaftNode leader = c.awaitLeader(WAIT);
      for (int i = 0; i < 50; i++) {
        join(leader.submit(TestCluster.put("k" + i, "v" + i)));
      }
      Result once = join(leader.submit("client-a", 1, TestCluster.put("s", "once")));
      long index = join(leader.takeSnapshot());
      SnapshotStore.Stored backup = old.get(leader.id()).snapshots().latest().orElseThrow();
      assertThat(backup.meta().index()).isEqualTo(index);

      for (Member m : NEW_VOTERS) {
        TestCluster.MemoryStores s = new TestCluster.MemoryStores();
        SnapshotMeta seeded =
            RaftNode.restoreFromBackup(backup, NEW_VOTERS, s.log(), s.meta(), s.snapshots());
        assertThat(seeded.index()).isEqualTo(index);
        assertThat(seeded.configuration().voters()).isEqualTo(NEW_VOTERS);
        fresh.put(m.id(), s);
      }

      try (MemoryNetwork net2 = MemoryNetwork.create();
          TestCluster restored =
              new TestCluster(
                      Member::of,
                      id -> net2.transport(),
                      fresh::get,
                      TestCluster.fastOptions().build())
                  .start("m1", "m2", "m3")) {
        RaftNode leader2 = restored.awaitLeader(WAIT);
        assertThat(leader2.status().term()).isGreaterThan(backup.meta().term());
        assertThat(TestCluster.string(join(leader2.read(TestCluster.get("k7"))).value()))
            .isEqualTo("v7");
        // the client sessions came along: a retry of a request acknowledged before the backup
        // is answered without being applied again
        Result retry = join(leader2.submit("client-a", 1, TestCluster.put("s", "twice")));
        assertThat(retry.index()).isGreaterThan(once.index());
        assertThat(TestCluster.string(join(leader2.read(TestCluster.get("s"))).value()))
            .isEqualTo("once");
        assertThat(restored.machine(leader2.id()).applications()).doesNotContainKey("Ps=twice");
        Result next = join(leader2.submit(TestCluster.put("after", "restore")));
        assertThat(next.index()).isGreaterThan(index);
        for (Member m : NEW_VOTERS) {
          TestCluster.await(
              m.id() + " applies the first write after the restore",
              WAIT,
              () -> "restore".equals(restored.machine(m.id()).value("after")));
          assertThat(restored.machine(m.id()).value("k49")).isEqualTo("v49");
        }
        assertThat(leader2.status().configuration().voters()).isEqualTo(NEW_VOTERS);
      }
    }
  }

  @Test
  void storageThatHasRunIsNeverOverwritten() throws Exception {
    SnapshotStore.Stored backup = backupOf("state".getBytes(StandardCharsets.UTF_8), 1);

    TestCluster.MemoryStores withEntries = new TestCluster.MemoryStores();
    withEntries
        .log()
        .append(List.of(new LogEntry(1, 1, EntryType.NOOP, java.nio.ByteBuffer.allocate(0))));
    assertThatThrownBy(() -> restore(backup, withEntries))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("log that is not empty");

    TestCluster.MemoryStores voted = new TestCluster.MemoryStores();
    voted.meta().save(new HardState(3, "n9"));
    assertThatThrownBy(() -> restore(backup, voted))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("voted for n9");

    TestCluster.MemoryStores later = new TestCluster.MemoryStores();
    later.meta().save(new HardState(backup.meta().term() + 1, ""));
    assertThatThrownBy(() -> restore(backup, later))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("member that has run");

    TestCluster.MemoryStores seeded = new TestCluster.MemoryStores();
    restore(backup, seeded);
    assertThatThrownBy(() -> restore(backup, seeded))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("holds a snapshot");
  }

  @Test
  void aDamagedBackupCommitsNothing() throws Exception {
    SnapshotStore.Stored good = backupOf("the state".getBytes(StandardCharsets.UTF_8), 4);
    SnapshotStore.Stored damaged =
        new SnapshotStore.Stored() {
          @Override
          public SnapshotMeta meta() {
            return good.meta();
          }

          @Override
          public long size() {
            return good.size();
          }

          @Override
          public int checksum() {
            return good.checksum();
          }

          @Override
          public InputStream open() {
            return new ByteArrayInputStream("the stale".getBytes(StandardCharsets.UTF_8));
          }
        };
    TestCluster.MemoryStores s = new TestCluster.MemoryStores();
    assertThatThrownBy(() -> restore(damaged, s))
        .isInstanceOf(IOException.class)
        .hasMessageContaining("checksum");
    assertThat(s.snapshots().latest()).isEmpty();
    // and the half-seeded member may be seeded again from a good copy
    assertThat(restore(good, s).index()).isEqualTo(good.meta().index());
  }

  private static SnapshotMeta restore(SnapshotStore.Stored backup, TestCluster.MemoryStores s)
      throws IOException {
    return RaftNode.restoreFromBackup(backup, NEW_VOTERS, s.log(), s.meta(), s.snapshots());
  }

  /** A snapshot of another group (members n1..n3) at index 10 of {@code term}. */
  private static SnapshotStore.Stored backupOf(byte[] data, long term) throws IOException {
    TestCluster.MemoryStores other = new TestCluster.MemoryStores();
    Configuration members =
        Configuration.ofVoters(List.of(Member.of("n1"), Member.of("n2"), Member.of("n3")));
    try (SnapshotStore.Sink sink = other.snapshots().create(new SnapshotMeta(10, term, members))) {
      sink.output().write(data);
      return sink.commit();
    }
  }
}
