package org.flotilla.raft.storage;

import java.nio.file.Path;
import org.flotilla.raft.spi.LogStore;
import org.flotilla.raft.testkit.LogStoreConformanceTest;
import org.junit.jupiter.api.io.TempDir;

/** Runs the log store contract against {@link FileLogStore} with its default options. */
class FileLogStoreDefaultsConformanceTest extends LogStoreConformanceTest {

  @TempDir Path dir;

  @Override
  protected LogStore open() {
    return FileLogStore.open(dir, FileLogStore.Options.defaults().withCacheEntries(16));
  }
}
