/**
 * The replicated key-value example: {@link org.flotilla.raft.examples.KvServer} embeds a {@code
 * RaftNode} with a key-value state machine, the Netty transport and the file stores, and serves an
 * HTTP API on its own Netty event loop group, forwarding writes to the leader. Threading: the state
 * machine is confined to the node's apply thread; each HTTP connection's handler to its event loop;
 * request outcomes arrive on the node's callback executor and are written back through the channel.
 */
package org.flotilla.raft.examples;
