package org.flotilla.raft.message;

/**
 * The leader's answer to a {@link ReadIndexRequest}: once the follower has applied up to {@code
 * readIndex}, a read it serves is linearizable.
 *
 * @param from the leader
 * @param to the follower
 * @param term the leader's term
 * @param requestId the request's id
 * @param readIndex the read index, valid when {@code success}
 * @param success false if the receiver of the request could not provide a read index (it was not
 *     leader, or lost leadership before the round completed)
 */
public record ReadIndexResponse(
    String from, String to, long term, long requestId, long readIndex, boolean success)
    implements RaftMessage {

  /**
   * Creates the message, checking its fields.
   *
   * @param from the leader
   * @param to the follower
   * @param term the term
   * @param requestId the request id
   * @param readIndex the read index
   * @param success the outcome
   */
  public ReadIndexResponse {
    RaftMessage.checkHeader(from, to, term);
    RaftMessage.checkIndex("readIndex", readIndex);
  }
}
