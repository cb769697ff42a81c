/**
 * Flotilla's Raft library: the API an embedder uses ({@code org.flotilla.raft}, with the group's
 * members and configurations in {@code cluster}), the interfaces storage and transports implement
 * ({@code spi}), the wire messages transports carry ({@code message}), in-memory stores and
 * transport ({@code memory}), metrics over JMX ({@code metrics}) and the deterministic simulators
 * and linearizability checker ({@code sim}).
 *
 * <p>The protocol core ({@code org.flotilla.raft.internal.core}) and the runtime that drives it
 * ({@code org.flotilla.raft.internal.runtime}) are not exported: their names and shapes may change
 * in any release.
 */
module org.flotilla.raft {
  requires transitive org.slf4j;
  requires transitive java.management;

  exports org.flotilla.raft;
  exports org.flotilla.raft.cluster;
  exports org.flotilla.raft.spi;
  exports org.flotilla.raft.message;
  exports org.flotilla.raft.memory;
  exports org.flotilla.raft.metrics;
  exports org.flotilla.raft.sim;
}
