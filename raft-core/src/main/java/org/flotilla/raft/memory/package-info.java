/**
 * In-memory implementations of the storage SPI ({@link org.flotilla.raft.memory.MemoryLogStore},
 * {@link org.flotilla.raft.memory.MemoryMetaStore}, {@link
 * org.flotilla.raft.memory.MemorySnapshotStore}) for tests and the deterministic simulator: no
 * threads, no clock, durability and crashes under the caller's control. The log and metadata stores
 * are not thread-safe and are confined to the thread that drives the node, which is also the thread
 * their durability reports are made on; the snapshot store is thread-safe, as its contract asks.
 */
package org.flotilla.raft.memory;
