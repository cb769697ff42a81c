package org.flotilla.raft.message;

import java.util.List;

/**
 * The leader's request to append entries after {@code prevLogIndex} (Raft §5.3, Figure 2).
 *
 * @param from the leader
 * @param to the follower or learner
 * @param term the leader's term
 * @param prevLogIndex index of the entry just before the new ones
 * @param prevLogTerm term of the entry at {@code prevLogIndex}
 * @param leaderCommit the leader's commit index
 * @param entries the entries, with consecutive indexes starting at {@code prevLogIndex + 1}
 */
public record AppendEntries(
    String from,
    String to,
    long term,
    long prevLogIndex,
    long prevLogTerm,
    long leaderCommit,
    List<LogEntry> entries)
    implements RaftMessage {

  /**
   * Creates the message, checking that indexes are non-negative and entries are consecutive.
   *
   * @param from the leader
   * @param to the receiver
   * @param term the term
   * @param prevLogIndex the previous index
   * @param prevLogTerm the previous term
   * @param leaderCommit the commit index
   * @param entries the entries
   */
  public AppendEntries {
    RaftMessage.checkHeader(from, to, term);
    RaftMessage.checkIndex("prevLogIndex", prevLogIndex);
    RaftMessage.checkIndex("prevLogTerm", prevLogTerm);
    RaftMessage.checkIndex("leaderCommit", leaderCommit);
    entries = List.copyOf(entries);
    long expected = prevLogIndex + 1;
    for (LogEntry e : entries) {
      if (e.index() != expected) {
        throw new IllegalArgumentException(
            "entries not consecutive: expected index " + expected + " got " + e.index());
      }
      if (e.term() > term) {
        throw new IllegalArgumentException(
            "entry " + e.index() + " has term " + e.term() + " above the message term " + term);
      }
      if (e.term() < prevLogTerm) {
        throw new IllegalArgumentException(
            "entry " + e.index() + " has term " + e.term() + " below prevLogTerm " + prevLogTerm);
      }
      expected++;
    }
  }

  /**
   * Returns the index of the last entry carried, or {@code prevLogIndex} if there are none.
   *
   * @return the last index
   */
  public long lastIndex() {
    return prevLogIndex + entries.size();
  }

  @Override
  public int sizeInBytes() {
    int size = 64;
    for (LogEntry e : entries) {
      size += e.sizeInBytes();
    }
    return size;
  }
}
