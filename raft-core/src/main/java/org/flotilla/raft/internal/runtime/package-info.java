/**
 * The runtime that drives the protocol core for a {@link org.flotilla.raft.RaftNode}: the event
 * loop that owns the core and does its I/O ({@code NodeRuntime}), the apply thread ({@code
 * Applier}), snapshot streaming ({@code SnapshotTransfers}), client sessions ({@code Sessions}),
 * worker threads and the system scheduler.
 *
 * <p>Not exported by the module {@code org.flotilla.raft}: the types are public only so that the
 * API package can build a runtime, and may change in any release. Each class names the thread that
 * owns each piece of its mutable state.
 */
package org.flotilla.raft.internal.runtime;
