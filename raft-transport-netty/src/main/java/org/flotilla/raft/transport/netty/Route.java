package org.flotilla.raft.transport.netty;

import org.flotilla.raft.spi.Transport;

/**
 * Where the envelopes of one group go on this member: the group's codec (which checks an envelope's
 * header against the group), the group's node, and which senders it hears. A single-group transport
 * has one route; a host transport has one per group it runs.
 */
interface Route {

  /** The codec of the group: its header check and its envelopes. */
  WireCodec codec();

  /** The group's node. */
  Transport.Inbox inbox();

  /** Whether {@code memberId} may deliver messages to the group. */
  boolean hears(String memberId);
}
