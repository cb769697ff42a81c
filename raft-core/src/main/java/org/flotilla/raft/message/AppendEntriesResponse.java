package org.flotilla.raft.message;

/**
 * A follower's answer to {@link AppendEntries}.
 *
 * <p>On success, {@code matchIndex} is the highest index the follower has <em>persisted</em> and
 * knows to match the leader's log. On rejection, {@code rejectedIndex} is the {@code prevLogIndex}
 * that failed the consistency check, and {@code conflictIndex}/{@code conflictTerm} let the leader
 * skip back a whole term at a time (thesis §5.3's optimization, as etcd-raft does it): {@code
 * conflictIndex} is the follower's last index at or below {@code rejectedIndex} whose term is at
 * most the rejected {@code prevLogTerm}, and {@code conflictTerm} is its term there.
 *
 * @param from the follower
 * @param to the leader
 * @param term the follower's term
 * @param success whether the entries matched and were appended
 * @param matchIndex on success, the highest persisted matching index
 * @param rejectedIndex on rejection, the rejected prevLogIndex
 * @param conflictIndex on rejection, the follower's hint index
 * @param conflictTerm on rejection, the follower's term at the hint index
 */
public record AppendEntriesResponse(
    String from,
    String to,
    long term,
    boolean success,
    long matchIndex,
    long rejectedIndex,
    long conflictIndex,
    long conflictTerm)
    implements RaftMessage {

  /**
   * Creates the message, checking its fields.
   *
   * @param from the follower
   * @param to the leader
   * @param term the term
   * @param success the outcome
   * @param matchIndex the match index
   * @param rejectedIndex the rejected index
   * @param conflictIndex the conflict index
   * @param conflictTerm the conflict term
   */
  public AppendEntriesResponse {
    RaftMessage.checkHeader(from, to, term);
    RaftMessage.checkIndex("matchIndex", matchIndex);
    RaftMessage.checkIndex("rejectedIndex", rejectedIndex);
    RaftMessage.checkIndex("conflictIndex", conflictIndex);
    RaftMessage.checkIndex("conflictTerm", conflictTerm);
  }
}
