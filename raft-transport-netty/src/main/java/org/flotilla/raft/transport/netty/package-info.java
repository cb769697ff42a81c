/** The Netty and protobuf network transport. */
package org.flotilla.raft.transport.netty;
