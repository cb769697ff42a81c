package org.flotilla.raft.message;

/**
 * A follower's answer to a {@link Heartbeat}, echoing its round.
 *
 * @param from the follower
 * @param to the leader
 * @param term the follower's term
 * @param round the round of the heartbeat answered
 * @param quiesced whether the follower quiesced on the heartbeat it answers (one that asked it to);
 *     a quiesced leader that hears {@code false} wakes, so that it does not leave an awake follower
 *     without heartbeats (docs/architecture.md, "Quiescence")
 */
public record HeartbeatResponse(String from, String to, long term, long round, boolean quiesced)
    implements RaftMessage {

  /**
   * Creates the message, checking its fields.
   *
   * @param from the follower
   * @param to the leader
   * @param term the term
   * @param round the round
   * @param quiesced whether the follower quiesced
   */
  public HeartbeatResponse {
    RaftMessage.checkHeader(from, to, term);
    RaftMessage.checkIndex("round", round);
  }

  /**
   * Creates an answer from a follower that did not quiesce.
   *
   * @param from the follower
   * @param to the leader
   * @param term the term
   * @param round the round
   */
  public HeartbeatResponse(String from, String to, long term, long round) {
    this(from, to, term, round, false);
  }
}
