package org.flotilla.raft.internal.runtime;

import java.nio.ByteBuffer;
import java.util.List;
import org.flotilla.raft.message.CommandEnvelope;
import org.flotilla.raft.message.EntryType;
import org.flotilla.raft.message.LogEntry;

/**
 * Session log time (see {@link Sessions}): the highest command timestamp written to this member's
 * log, and the leader clock, which starts at the highest log time known when this member first
 * stamps a command in a term and then runs on the monotonic clock. Sessions expire by this time,
 * never by a wall clock, so every member expires them at the same entry.
 *
 * <p>Threading: confined to the node's event loop.
 */
final class LogClock {

  private long logTimeSeen;
  private long leaderClockTerm = -1;
  private long leaderClockBase;
  private long leaderClockStartNanos;

  /**
   * The log time to stamp on a command this leader proposes now.
   *
   * @param term the leader's term
   * @param nowNanos the monotonic clock
   * @param appliedLogTime the log time of the last applied command
   */
  long stamp(long term, long nowNanos, long appliedLogTime) {
    if (leaderClockTerm != term) {
      leaderClockTerm = term;
      leaderClockBase = Math.max(logTimeSeen, appliedLogTime);
      leaderClockStartNanos = nowNanos;
    }
    long stamp = leaderClockBase + (nowNanos - leaderClockStartNanos) / 1_000_000;
    logTimeSeen = Math.max(logTimeSeen, stamp);
    return stamp;
  }

  /** Remembers the highest command timestamp among entries a leader sent this member. */
  void note(List<LogEntry> entries) {
    for (LogEntry e : entries) {
      ByteBuffer p = e.payload();
      if (e.type() == EntryType.COMMAND && p.remaining() >= CommandEnvelope.TIMESTAMP_OFFSET + 8) {
        logTimeSeen =
            Math.max(logTimeSeen, p.getLong(p.position() + CommandEnvelope.TIMESTAMP_OFFSET));
      }
    }
  }
}
