package org.flotilla.raft;

import java.nio.ByteBuffer;

/**
 * The outcome of a command or read.
 *
 * @param index for a command, the log index at which it was committed and applied; for a read, the
 *     applied index the read was served at
 * @param value the state machine's answer (may be null)
 */
public record Result(long index, ByteBuffer value) {}
