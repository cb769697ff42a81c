/**
 * Immutable Raft messages and log entries: the records that the protocol core consumes and produces
 * and that transports map to and from their wire formats.
 *
 * <p>All types here are immutable values and safe to share between threads. Payload buffers are
 * read-only views that nobody mutates after construction.
 */
package org.flotilla.raft.message;
