package org.flotilla.raft.storage;

import java.nio.file.Path;
import org.flotilla.raft.spi.LogStore;
import org.flotilla.raft.testkit.LogStoreConformanceTest;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.io.TempDir;

/**
 * Runs the log store contract against one group's view of a {@link SharedLog}, while other groups
 * write into the same log from other threads; a reopen closes and recovers the whole shared log and
 * checks that the other groups kept their state. Small segments and a small segment bound, so that
 * segments roll and the collector works during the tests.
 */
class SharedLogConformanceTest extends LogStoreConformanceTest {

  static final SharedLog.Options OPTIONS =
      SharedLog.Options.defaults().withSegmentSize(64 << 10).withMaxSegments(6);

  @TempDir Path dir;
  private SharedLog wal;
  private BusyNeighbours neighbours;

  @Override
  protected LogStore open() throws Exception {
    if (wal != null) {
      neighbours.close();
      wal.close();
      wal = SharedLog.open(dir, OPTIONS);
      neighbours.verify(wal);
    } else {
      wal = SharedLog.open(dir, OPTIONS);
    }
    neighbours = new BusyNeighbours(wal, 2, 3);
    return wal.logStore("conformance");
  }

  @AfterEach
  void closeSharedLog() throws Exception {
    neighbours.close();
    wal.close();
  }
}
