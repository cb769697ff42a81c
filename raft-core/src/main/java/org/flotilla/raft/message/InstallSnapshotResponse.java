package org.flotilla.raft.message;

/**
 * A receiver's acknowledgement of {@link InstallSnapshot} chunks.
 *
 * @param from the receiver of the snapshot
 * @param to the leader
 * @param term the receiver's term
 * @param snapshotIndex the index of the snapshot being received
 * @param nextOffset the offset of the next byte the receiver expects; the leader resumes from there
 *     after a loss or reconnect
 * @param done whether the whole snapshot was received, verified and installed
 * @param rejected whether the receiver gave up on this transfer (for example its checksum failed or
 *     it could not write the chunk); the leader restarts the transfer from offset 0
 */
public record InstallSnapshotResponse(
    String from,
    String to,
    long term,
    long snapshotIndex,
    long nextOffset,
    boolean done,
    boolean rejected)
    implements RaftMessage {

  /**
   * Creates the message, checking its fields.
   *
   * @param from the receiver
   * @param to the leader
   * @param term the term
   * @param snapshotIndex the snapshot index
   * @param nextOffset the next offset
   * @param done the completion flag
   * @param rejected the rejection flag
   */
  public InstallSnapshotResponse {
    RaftMessage.checkHeader(from, to, term);
    RaftMessage.checkIndex("snapshotIndex", snapshotIndex);
    RaftMessage.checkIndex("nextOffset", nextOffset);
  }
}
