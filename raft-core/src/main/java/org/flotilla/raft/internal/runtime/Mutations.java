package org.flotilla.raft.internal.runtime;

/**
 * Test-only switches that put known Raft bugs back into the runtime, so that the tests can show
 * that the deterministic simulator ({@link org.flotilla.raft.sim.RuntimeSimulation}) catches each
 * of them (docs/testing.md, "Bug catalogue"). Every switch is off unless a test turns it on,
 * through {@code RuntimeMutants} in the test sources; nothing else may set them. A switch is read
 * where the bug would be, on the thread that owns that state; tests set them before a simulation
 * starts, on the simulator's thread, and the simulated nodes run on that thread too.
 */
final class Mutations {

  /**
   * Sessions do not de-duplicate: a retried command of a client session is applied again (breaks
   * exactly-once, thesis §6.3).
   */
  static boolean sessionsApplyDuplicates;

  /**
   * A read whose index is confirmed is answered at once, before this member has applied up to the
   * read index (breaks ReadIndex, thesis §6.4 step 4: a follower's read can miss acknowledged
   * writes).
   */
  static boolean readBeforeApplied;

  /**
   * A linearizable or lease read on a follower is answered from its local state, without asking the
   * leader for a read index (breaks linearizability of follower reads, thesis §6.4.1).
   */
  static boolean followerReadsLocally;

  /**
   * The runtime tells the core that entries are durable as soon as they are handed to the log
   * store, before the disk syncs them (breaks Figure 2's "respond after storing"; a crash then
   * loses entries a majority was counted on).
   */
  static boolean durableOnAppend;

  private Mutations() {}
}
