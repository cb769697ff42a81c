package org.flotilla.raft.storage;

import java.nio.file.Path;
import org.flotilla.raft.spi.MetaStore;
import org.flotilla.raft.testkit.MetaStoreConformanceTest;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.io.TempDir;

/**
 * Runs the metadata store contract against one group's view of a {@link SharedLog}, while other
 * groups write into the same log; a reopen recovers the whole shared log.
 */
class SharedMetaConformanceTest extends MetaStoreConformanceTest {

  @TempDir Path dir;
  private SharedLog wal;
  private BusyNeighbours neighbours;

  @Override
  protected MetaStore open() throws Exception {
    if (wal != null) {
      neighbours.close();
      wal.close();
      wal = SharedLog.open(dir, SharedLogConformanceTest.OPTIONS);
      neighbours.verify(wal);
    } else {
      wal = SharedLog.open(dir, SharedLogConformanceTest.OPTIONS);
    }
    neighbours = new BusyNeighbours(wal, 2, 3);
    return wal.metaStore("conformance");
  }

  @AfterEach
  void closeSharedLog() throws Exception {
    neighbours.close();
    wal.close();
  }
}
