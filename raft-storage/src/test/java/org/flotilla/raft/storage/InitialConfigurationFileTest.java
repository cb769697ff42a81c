package org.flotilla.raft.storage;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.flotilla.raft.cluster.Configuration;
import org.flotilla.raft.cluster.Member;
import org.flotilla.raft.memory.MemoryNetwork;
import org.flotilla.raft.spi.HardState;
import org.flotilla.raft.spi.LogStore;
import org.flotilla.raft.spi.MetaStore;
import org.flotilla.raft.spi.SnapshotStore;
import org.flotilla.raft.testkit.TestCluster;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A member on real files that ran before its metadata stored the initial configuration (a version 1
 * {@code meta} file with a term) takes the list it is given once, stores it in a version 2 file,
 * and refuses another list at its next start.
 */
@Timeout(60)
class InitialConfigurationFileTest {

  @TempDir Path dir;

  private final MemoryNetwork network = MemoryNetwork.create();
  private TestCluster cluster;

  @AfterEach
  void close() {
    if (cluster != null) {
      cluster.close();
    }
    network.close();
  }

  /** Opens the member's stores on its directories, again at every start. */
  private TestCluster.Stores files(String id) {
    Path home = dir.resolve(id);
    return new TestCluster.Stores() {
      @Override
      public LogStore log() {
        return FileLogStore.open(home.resolve("log"), FileLogStore.Options.defaults());
      }

      @Override
      public MetaStore meta() {
        return FileMetaStore.open(home.resolve("meta"));
      }

      @Override
      public SnapshotStore snapshots() {
        return FileSnapshotStore.open(home.resolve("snapshots"), 2);
      }
    };
  }

  @Test
  void aVersion1MetadataFileWithATermTakesTheGivenListOnceAndRefusesAnotherLater()
      throws Exception {
    Path meta = Files.createDirectories(dir.resolve("n1").resolve("meta"));
    Files.write(
        meta.resolve(FileMetaStore.FILE), toArray(FileMetaStore.encode(new HardState(3, ""))));
    assertThat(Files.readAllBytes(meta.resolve(FileMetaStore.FILE))[7])
        .as("version")
        .isEqualTo((byte) 1);
    cluster =
        new TestCluster(
            Member::of, id -> network.transport(), this::files, TestCluster.fastOptions().build());

    cluster.startNode("n1", List.of(Member.of("n1")));
    cluster.awaitLeader(Duration.ofSeconds(10));
    cluster.stop("n1");

    assertThat(Files.readAllBytes(meta.resolve(FileMetaStore.FILE))[7])
        .as("version")
        .isEqualTo((byte) 2);
    try (FileMetaStore store = FileMetaStore.open(meta)) {
      assertThat(store.loadInitialConfiguration())
          .contains(Configuration.ofVoters(List.of(Member.of("n1"))));
      assertThat(store.load().term()).isGreaterThan(3);
    }
    assertThatThrownBy(() -> cluster.startNode("n1", List.of(Member.of("n1"), Member.of("n2"))))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("first started with voters [n1]")
        .hasMessageContaining("now given voters [n1, n2]");
    cluster.startNode("n1", b -> b);
    cluster.awaitLeader(Duration.ofSeconds(10));
  }

  private static byte[] toArray(ByteBuffer b) {
    byte[] bytes = new byte[b.remaining()];
    b.get(bytes);
    return bytes;
  }
}
