package org.flotilla.raft.memory;

import org.flotilla.raft.spi.SnapshotStore;
import org.flotilla.raft.testkit.SnapshotStoreConformanceTest;

/** Runs the snapshot store contract against {@link MemorySnapshotStore}. */
class MemorySnapshotStoreConformanceTest extends SnapshotStoreConformanceTest {

  private MemorySnapshotStore memory;

  @Override
  protected SnapshotStore open() {
    if (memory == null) {
      memory = new MemorySnapshotStore(RETAIN);
    } else {
      memory.crash();
    }
    return memory;
  }

  @Override
  protected int storedCount() {
    return memory.all().size();
  }
}
