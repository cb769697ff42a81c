package org.flotilla.raft.transport.netty;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class PlaceholderTest {
  @Test
  void generatedProtobufCodeIsUsable() {
    assertThat(Placeholder.probe()).isEqualTo(3);
  }
}
