/**
 * The service-provider interfaces that storage and transport modules implement: {@link
 * org.flotilla.raft.spi.LogStore}, {@link org.flotilla.raft.spi.MetaStore}, {@link
 * org.flotilla.raft.spi.SnapshotStore} and {@link org.flotilla.raft.spi.Transport}.
 *
 * <p>Each interface states which thread calls each method and what a failure means. In short: the
 * node's event loop is the only caller of store and transport methods (except where a method says
 * otherwise); completions and inbound messages come back on the implementation's own threads
 * through the listener the node registers; storage failures are fatal to the node (fail-stop),
 * transport failures are losses that Raft tolerates.
 */
package org.flotilla.raft.spi;
