package org.flotilla.raft.message;

/**
 * A message between two members of one Raft group.
 *
 * <p>Every message names its sender and receiver and carries the sender's term. Records validate
 * their fields on construction, so a message decoded from bytes that reaches the core is
 * well-formed (though it may still be stale or from a stranger, which the core handles).
 */
public sealed interface RaftMessage
    permits AppendEntries,
        AppendEntriesResponse,
        Heartbeat,
        HeartbeatResponse,
        RequestVote,
        RequestVoteResponse,
        InstallSnapshot,
        InstallSnapshotResponse,
        TimeoutNow,
        ReadIndexRequest,
        ReadIndexResponse,
        ForwardRequest,
        ForwardResponse {

  /**
   * Returns the sender's member id.
   *
   * @return the sender
   */
  String from();

  /**
   * Returns the receiver's member id.
   *
   * @return the receiver
   */
  String to();

  /**
   * Returns the sender's term (for a pre-vote request: the term it would campaign in).
   *
   * @return the term
   */
  long term();

  /**
   * Returns an estimate of the message's size on the wire, for flow control and queue bounds.
   *
   * @return bytes
   */
  default int sizeInBytes() {
    return 64;
  }

  /**
   * Checks the fields every message has.
   *
   * @param from the sender
   * @param to the receiver
   * @param term the term
   * @throws IllegalArgumentException if a field is missing or negative
   */
  static void checkHeader(String from, String to, long term) {
    if (from == null || from.isEmpty()) {
      throw new IllegalArgumentException("message without sender");
    }
    if (to == null || to.isEmpty()) {
      throw new IllegalArgumentException("message without receiver");
    }
    if (term < 0) {
      throw new IllegalArgumentException("negative term " + term);
    }
  }

  /**
   * Checks that an index is not negative.
   *
   * @param name the field's name, for the message
   * @param value the value
   * @throws IllegalArgumentException if the value is negative
   */
  static void checkIndex(String name, long value) {
    if (value < 0) {
      throw new IllegalArgumentException(name + " is negative: " + value);
    }
  }
}
