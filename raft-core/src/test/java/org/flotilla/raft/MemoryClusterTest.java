package org.flotilla.raft;

import org.flotilla.raft.memory.MemoryNetwork;
import org.junit.jupiter.api.AfterEach;

/** The runtime's integration scenarios over the in-memory transport and stores. */
class MemoryClusterTest extends RaftClusterScenarios {

  private MemoryNetwork network;

  @Override
  protected TestCluster newCluster(RaftOptions options) {
    network = MemoryNetwork.create();
    return new TestCluster(
        Member::of, id -> network.transport(), id -> new TestCluster.MemoryStores(), options);
  }

  @AfterEach
  void closeNetwork() {
    if (network != null) {
      network.close();
    }
  }
}
