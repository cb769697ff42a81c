/**
 * The embedding example: {@link org.flotilla.raft.examples.embedding.CounterService}, a replicated
 * counter in under 100 lines, embedding a {@code RaftNode} exactly as a user would (a {@code
 * StateMachine} plus one builder call, over the file stores and the Netty transport).
 * docs/embedding.md walks through it. Threading: the state machine is confined to the node's apply
 * thread; the service's methods may be called from any thread and complete on the node's callback
 * executor.
 */
package org.flotilla.raft.examples.embedding;
