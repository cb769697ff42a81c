package org.flotilla.raft.memory;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.util.List;
import org.flotilla.raft.cluster.Configuration;
import org.flotilla.raft.cluster.Member;
import org.flotilla.raft.spi.SnapshotMeta;
import org.flotilla.raft.spi.SnapshotStore;
import org.junit.jupiter.api.Test;

/** The crash behaviour of {@link MemorySnapshotStore}. */
class MemorySnapshotStoreTest {

  private static final SnapshotMeta META =
      new SnapshotMeta(5, 1, Configuration.ofVoters(List.of(Member.of("n1"))));

  @Test
  void sinkOpenDuringACrashCannotCommit() throws Exception {
    MemorySnapshotStore store = new MemorySnapshotStore(1);
    try (SnapshotStore.Sink sink = store.create(META)) {
      sink.output().write(new byte[] {1, 2, 3});
      store.crash();
      assertThatThrownBy(sink::commit)
          .isInstanceOf(IOException.class)
          .hasMessageContaining("crashed");
    }
    assertThat(store.latest()).isEmpty();
  }

  @Test
  void retainMustBePositive() {
    assertThatThrownBy(() -> new MemorySnapshotStore(0))
        .isInstanceOf(IllegalArgumentException.class);
  }
}
