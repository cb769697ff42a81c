package org.flotilla.raft.memory;

import org.flotilla.raft.spi.LogStore;
import org.flotilla.raft.testkit.LogStoreConformanceTest;

/** Runs the log store contract against {@link MemoryLogStore} in its immediate mode. */
class MemoryLogStoreConformanceTest extends LogStoreConformanceTest {

  private MemoryLogStore memory;

  @Override
  protected LogStore open() {
    if (memory == null) {
      memory = new MemoryLogStore();
    } else {
      memory.crash();
    }
    return memory;
  }
}
