/**
 * The deterministic simulator and the linearizability checker.
 *
 * <p>{@link org.flotilla.raft.sim.Simulation} runs a cluster of protocol cores over a simulated
 * network and simulated disks, all driven by one seed: message loss, duplication, reordering and
 * delay; symmetric, asymmetric and partial partitions; crashes that lose everything not yet
 * persisted; slow disks; leadership transfers and membership changes. It checks Raft's safety
 * properties after every event and the clients' history for linearizability at the end. The same
 * seed always gives the same run, so a failure replays exactly.
 *
 * <p>Everything here runs on the caller's thread; nothing is thread-safe unless its javadoc says
 * so.
 */
package org.flotilla.raft.sim;
