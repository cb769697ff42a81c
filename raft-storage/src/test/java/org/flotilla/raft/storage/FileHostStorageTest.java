package org.flotilla.raft.storage;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.flotilla.raft.RaftHost;
import org.flotilla.raft.RaftNode;
import org.flotilla.raft.cluster.Member;
import org.flotilla.raft.cluster.Role;
import org.flotilla.raft.memory.MemoryNetwork;
import org.flotilla.raft.testkit.TestCluster;
import org.flotilla.raft.testkit.TestCluster.KvStateMachine;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A {@link RaftHost} on {@link FileHostStorage}: many groups write through one shared log, come
 * back from it after the host restarts, and a removed group does not come back.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class FileHostStorageTest {

  private static final Duration WAIT = Duration.ofSeconds(30);
  private static final int GROUPS = 24;
  private static final List<Member> ALONE = List.of(Member.of("s1", "s1:1"));

  @TempDir Path dir;

  private RaftHost host(MemoryNetwork network) {
    return RaftHost.builder()
        .id("s1")
        .transport(network.host())
        .storage(FileHostStorage.open(dir))
        .options(TestCluster.fastOptions().build())
        .threads(2, 2)
        .build();
  }

  private static Map<String, KvStateMachine> startGroups(RaftHost h) {
    Map<String, KvStateMachine> machines = new HashMap<>();
    for (int g = 0; g < GROUPS; g++) {
      KvStateMachine sm = new KvStateMachine(false);
      machines.put("g" + g, sm);
      RaftNode n = h.newGroup("g" + g).stateMachine(sm).bootstrap(ALONE).build();
      n.start();
    }
    for (int g = 0; g < GROUPS; g++) {
      RaftNode n = h.group("g" + g).orElseThrow();
      TestCluster.await("g" + g + " leads", WAIT, () -> n.status().role() == Role.LEADER);
    }
    return machines;
  }

  @Test
  void groupsComeBackFromTheSharedLogAndARemovedOneDoesNot() {
    try (MemoryNetwork network = MemoryNetwork.create()) {
      RaftHost first = host(network);
      startGroups(first);
      for (int g = 0; g < GROUPS; g++) {
        first.group("g" + g).orElseThrow().submit(TestCluster.put("k", "v" + g)).join();
      }
      first.close();

      RaftHost second = host(network);
      Map<String, KvStateMachine> machines = startGroups(second);
      for (int g = 0; g < GROUPS; g++) {
        KvStateMachine sm = machines.get("g" + g);
        String expected = "v" + g;
        TestCluster.await("g" + g + " replays its log", WAIT, () -> expected.equals(sm.value("k")));
      }
      second.group("g0").orElseThrow().takeSnapshot().join();
      assertThat(dir.resolve("snapshots/g0")).isDirectory();

      second.removeGroup("g0");
      assertThat(dir.resolve("snapshots/g0")).doesNotExist();
      second.close();

      try (FileHostStorage storage = FileHostStorage.open(dir)) {
        assertThat(storage.log().groups()).hasSize(GROUPS - 1).doesNotContain("g0");
        assertThatThrownBy(() -> storage.snapshotStore(".."))
            .isInstanceOf(IllegalArgumentException.class)
            .hasMessageContaining("not '.' or '..'");
      }
      assertThat(Files.exists(dir.resolve("wal"))).isTrue();
    }
  }

  /**
   * A group's snapshot store opens no file and creates no directory until its first snapshot (a
   * host of thousands of idle groups holds no file per group), one store per group is open at a
   * time, and the snapshot it takes comes back after the storage is reopened.
   */
  @Test
  void aGroupsSnapshotDirectoryComesWithItsFirstSnapshotAndOneStoreIsOpenPerGroup()
      throws Exception {
    Path groupDir = dir.resolve("snapshots").resolve("g1");
    try (FileHostStorage storage = FileHostStorage.open(dir)) {
      org.flotilla.raft.spi.SnapshotStore store = storage.snapshotStore("g1");
      assertThat(groupDir).doesNotExist();
      assertThat(store.latest()).isEmpty();
      assertThatThrownBy(() -> storage.snapshotStore("g1"))
          .isInstanceOf(org.flotilla.raft.spi.StorageException.class)
          .hasMessageContaining("already open");

      org.flotilla.raft.spi.SnapshotMeta meta =
          new org.flotilla.raft.spi.SnapshotMeta(
              5, 2, org.flotilla.raft.cluster.Configuration.ofVoters(ALONE));
      org.flotilla.raft.spi.SnapshotStore.Sink sink = store.create(meta);
      sink.output().write(new byte[] {1, 2, 3});
      sink.commit();
      assertThat(groupDir).isDirectory();
      store.close();
      // closed: the group's store may be opened again
      storage.snapshotStore("g1").close();
    }
    try (FileHostStorage storage = FileHostStorage.open(dir);
        org.flotilla.raft.spi.SnapshotStore store = storage.snapshotStore("g1")) {
      assertThat(store.latest()).hasValueSatisfying(s -> assertThat(s.meta().index()).isEqualTo(5));
    }
  }
}
