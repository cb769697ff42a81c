package org.flotilla.raft.message;

import java.nio.ByteBuffer;

/**
 * A command a follower forwards to the leader, when {@code RaftOptions.forwardToLeader} is set. The
 * runtime handles it; the protocol core never sees it.
 *
 * @param from the follower
 * @param to the member the follower believes leads
 * @param term the follower's term
 * @param requestId the follower's id for the request, echoed in the response
 * @param payload the command as the follower's runtime encoded it (the session envelope included);
 *     read-only to the receiver, which copies it before changing it
 */
public record ForwardRequest(String from, String to, long term, long requestId, ByteBuffer payload)
    implements RaftMessage {

  /**
   * Creates the message, checking its fields.
   *
   * @param from the follower
   * @param to the leader
   * @param term the term
   * @param requestId the request id
   * @param payload the encoded command
   */
  public ForwardRequest {
    RaftMessage.checkHeader(from, to, term);
    if (payload == null) {
      throw new IllegalArgumentException("forwarded command without payload");
    }
  }

  @Override
  public int sizeInBytes() {
    return 64 + payload.remaining();
  }
}
