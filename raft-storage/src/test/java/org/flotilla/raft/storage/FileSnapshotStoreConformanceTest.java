package org.flotilla.raft.storage;

import java.io.IOException;
import java.nio.file.Path;
import org.flotilla.raft.spi.SnapshotStore;
import org.flotilla.raft.testkit.SnapshotStoreConformanceTest;
import org.junit.jupiter.api.io.TempDir;

/** Runs the snapshot store contract against {@link FileSnapshotStore}. */
class FileSnapshotStoreConformanceTest extends SnapshotStoreConformanceTest {

  @TempDir Path dir;

  @Override
  protected SnapshotStore open() throws IOException {
    return FileSnapshotStore.open(dir, RETAIN);
  }

  @Override
  protected int storedCount() throws IOException {
    return ((FileSnapshotStore) store).count();
  }
}
