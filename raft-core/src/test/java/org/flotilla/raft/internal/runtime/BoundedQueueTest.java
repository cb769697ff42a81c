package org.flotilla.raft.internal.runtime;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** {@link BoundedQueue}: FIFO, never more than its capacity, a removal frees a slot. */
class BoundedQueueTest {

  @Test
  void holdsAtMostItsCapacityInOrderAndFreesSlotsAsElementsLeave() {
    BoundedQueue<String> q = new BoundedQueue<>(2);
    assertThat(q.isEmpty()).isTrue();
    assertThat(q.offer("a")).isTrue();
    assertThat(q.offer("b")).isTrue();
    assertThat(q.offer("c")).as("full").isFalse();
    assertThat(q.size()).isEqualTo(2);
    assertThat(q.poll()).isEqualTo("a");
    assertThat(q.offer("c")).isTrue();
    assertThat(q.remove("b")).isTrue();
    assertThat(q.remove("b")).isFalse();
    assertThat(q.offer("d")).isTrue();
    assertThat(q.offer("e")).isFalse();
    assertThat(q.poll()).isEqualTo("c");
    assertThat(q.poll()).isEqualTo("d");
    assertThat(q.poll()).isNull();
    assertThat(q.isEmpty()).isTrue();
    assertThat(q.size()).isZero();
  }
}
