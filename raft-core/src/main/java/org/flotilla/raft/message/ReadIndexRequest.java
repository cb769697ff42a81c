package org.flotilla.raft.message;

/**
 * A follower's request for a read index on behalf of its local readers (thesis §6.4.1).
 *
 * @param from the follower
 * @param to the leader
 * @param term the follower's term
 * @param requestId the follower's id for the request, echoed in the response
 */
public record ReadIndexRequest(String from, String to, long term, long requestId)
    implements RaftMessage {

  /**
   * Creates the message, checking its fields.
   *
   * @param from the follower
   * @param to the leader
   * @param term the term
   * @param requestId the request id
   */
  public ReadIndexRequest {
    RaftMessage.checkHeader(from, to, term);
  }
}
