package org.flotilla.raft.message;

/**
 * A follower's answer to a {@link Heartbeat}, echoing its round.
 *
 * @param from the follower
 * @param to the leader
 * @param term the follower's term
 * @param round the round of the heartbeat answered
 */
public record HeartbeatResponse(String from, String to, long term, long round)
    implements RaftMessage {

  /**
   * Creates the message, checking its fields.
   *
   * @param from the follower
   * @param to the leader
   * @param term the term
   * @param round the round
   */
  public HeartbeatResponse {
    RaftMessage.checkHeader(from, to, term);
    RaftMessage.checkIndex("round", round);
  }
}
