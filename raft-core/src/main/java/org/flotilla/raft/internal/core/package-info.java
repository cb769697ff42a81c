/**
 * The pure Raft protocol core: roles, election, replication, commit, read index, leadership
 * transfer, joint-consensus configuration and per-follower progress.
 *
 * <p>Nothing here has threads, I/O, clocks or randomness of its own: time arrives as {@code tick()}
 * calls and randomness from a {@link java.util.random.RandomGenerator} handed in. Every type is not
 * thread-safe and is confined to the thread that drives the core (the node's event loop, or the
 * simulator). The types are public only so that the runtime and the simulator, which live in
 * sibling packages, can drive them; the module does not export this package, and it is not part of
 * Flotilla's stable API.
 */
package org.flotilla.raft.internal.core;
