package org.flotilla.raft.message;

/**
 * A voter's answer to a {@link RequestVote}.
 *
 * @param from the voter
 * @param to the candidate
 * @param term the voter's term, or for a granted pre-vote the term of the request
 * @param granted whether the vote (or pre-vote) is granted
 * @param preVote whether this answers a pre-vote
 */
public record RequestVoteResponse(
    String from, String to, long term, boolean granted, boolean preVote) implements RaftMessage {

  /**
   * Creates the message, checking its fields.
   *
   * @param from the voter
   * @param to the candidate
   * @param term the term
   * @param granted the outcome
   * @param preVote pre-vote flag
   */
  public RequestVoteResponse {
    RaftMessage.checkHeader(from, to, term);
  }
}
