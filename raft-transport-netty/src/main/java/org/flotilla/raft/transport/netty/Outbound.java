package org.flotilla.raft.transport.netty;

import org.flotilla.raft.message.RaftMessage;

/**
 * A message waiting for its connection, with the codec of its group, which writes the group's id
 * into its envelope: on a host's connection, messages of many groups wait in one queue.
 *
 * @param codec the codec of the message's group
 * @param message the message
 */
record Outbound(WireCodec codec, RaftMessage message) {}
