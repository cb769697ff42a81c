package org.flotilla.raft.memory;

import org.flotilla.raft.spi.Transport;
import org.flotilla.raft.testkit.TransportConformanceTest;
import org.junit.jupiter.api.AfterEach;

/** Runs the transport conformance suite against {@link MemoryTransport}. */
class MemoryTransportConformanceTest extends TransportConformanceTest {

  private static final int MAX_MESSAGE = 1024 * 1024;

  private final MemoryNetwork network = MemoryNetwork.create(4096, MAX_MESSAGE);

  @AfterEach
  void closeNetwork() {
    network.close();
  }

  @Override
  protected Transport newTransport() {
    return network.transport();
  }

  @Override
  protected Transport newTransportAt(String address) {
    return network.transport();
  }

  @Override
  protected String addressOf(Transport transport) {
    return "";
  }

  @Override
  protected int largestDeliverableChunk() {
    return MAX_MESSAGE - 1024;
  }

  @Override
  protected int undeliverableChunk() {
    return MAX_MESSAGE + 1;
  }

  @Override
  protected String deadAddress() {
    return "";
  }
}
