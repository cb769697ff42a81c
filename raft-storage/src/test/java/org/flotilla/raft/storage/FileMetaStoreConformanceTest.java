package org.flotilla.raft.storage;

import java.nio.file.Path;
import org.flotilla.raft.spi.MetaStore;
import org.flotilla.raft.testkit.MetaStoreConformanceTest;
import org.junit.jupiter.api.io.TempDir;

/** Runs the meta store contract against {@link FileMetaStore}. */
class FileMetaStoreConformanceTest extends MetaStoreConformanceTest {

  @TempDir Path dir;

  @Override
  protected MetaStore open() {
    return FileMetaStore.open(dir);
  }
}
