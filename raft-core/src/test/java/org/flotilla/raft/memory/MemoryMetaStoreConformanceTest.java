package org.flotilla.raft.memory;

import org.flotilla.raft.spi.MetaStore;
import org.flotilla.raft.testkit.MetaStoreConformanceTest;

/** Runs the meta store contract against {@link MemoryMetaStore}. */
class MemoryMetaStoreConformanceTest extends MetaStoreConformanceTest {

  private MemoryMetaStore memory;

  @Override
  protected MetaStore open() {
    if (memory == null) {
      memory = new MemoryMetaStore();
    } else {
      memory.crash();
    }
    return memory;
  }
}
