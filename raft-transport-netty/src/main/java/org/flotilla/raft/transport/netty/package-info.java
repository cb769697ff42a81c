/**
 * The Netty and protobuf network transport: {@link
 * org.flotilla.raft.transport.netty.NettyTransport} and its builder. The wire format (the protobuf
 * messages, length-prefixed frames and the handshake) is described in docs/wire-format.md.
 *
 * <p>Threading: the node's event loop calls the transport; each connection and each peer's
 * connection state are confined to one Netty event loop; the only state shared between the two
 * sides is each peer's bounded outbound queue, guarded by its own lock, and immutable snapshots of
 * the membership.
 */
package org.flotilla.raft.transport.netty;
