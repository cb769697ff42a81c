package org.flotilla.raft.message;

/**
 * A candidate's request for a vote (Raft §5.2), or a pre-candidate's pre-vote (thesis §9.6).
 *
 * <p>A pre-vote carries the term the sender <em>would</em> campaign in and changes no receiver's
 * term or vote.
 *
 * @param from the candidate
 * @param to the voter
 * @param term the candidate's term (for a pre-vote, its current term + 1)
 * @param lastLogIndex index of the candidate's last entry
 * @param lastLogTerm term of the candidate's last entry
 * @param preVote whether this is a pre-vote
 * @param transfer whether the election was started by a leadership transfer (TimeoutNow), which
 *     lets voters grant it even while they believe a leader is alive (thesis §3.10)
 */
public record RequestVote(
    String from,
    String to,
    long term,
    long lastLogIndex,
    long lastLogTerm,
    boolean preVote,
    boolean transfer)
    implements RaftMessage {

  /**
   * Creates the message, checking its fields.
   *
   * @param from the candidate
   * @param to the voter
   * @param term the term
   * @param lastLogIndex the last index
   * @param lastLogTerm the last term
   * @param preVote pre-vote flag
   * @param transfer transfer flag
   */
  public RequestVote {
    RaftMessage.checkHeader(from, to, term);
    RaftMessage.checkIndex("lastLogIndex", lastLogIndex);
    RaftMessage.checkIndex("lastLogTerm", lastLogTerm);
  }
}
