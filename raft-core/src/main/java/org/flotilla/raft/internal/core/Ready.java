package org.flotilla.raft.internal.core;

import java.util.List;
import org.flotilla.raft.message.InstallSnapshot;
import org.flotilla.raft.message.LogEntry;
import org.flotilla.raft.message.RaftMessage;
import org.flotilla.raft.spi.HardState;
import org.flotilla.raft.spi.SnapshotMeta;

/**
 * One batch of work the core hands to its driver (etcd-raft's {@code Ready}).
 *
 * <p>The driver must, in this order: (1) if {@code snapshot} is set, reset the log store to it and
 * restore the state machine from the stored snapshot; (2) append {@code entries} to the log store
 * (visible at once, durable later, reported back through {@link RaftCore#persisted(long, long)});
 * (3) if {@code hardState} is set, save it durably; (4) only then send {@code messages}, and start
 * streaming the newest stored snapshot to each follower in {@code snapshotsToSend}; (5) apply
 * {@code committedEntries} in order; (6) complete the reads in {@code readStates} once the applied
 * index reaches theirs. Steps (1) to (3) must finish before the core is called again.
 *
 * @param hardState the term and vote to persist, or null if unchanged
 * @param entries entries to append; the first replaces any entry at its index and after
 * @param snapshot a snapshot received from the leader to install, or null
 * @param messages messages to send, after {@code hardState} is durable
 * @param snapshotsToSend followers that need a snapshot because the entries they lack are
 *     compacted: each a notice naming the follower and the snapshot's index, term and
 *     configuration, with no data. The driver streams the stored snapshot (in chunks, as {@code
 *     InstallSnapshot} messages it builds) and feeds the follower's answers back through {@link
 *     RaftCore#step}; the core sends that follower no entries until the last answer arrives.
 * @param committedEntries entries to apply, in order
 * @param readStates read indexes that became safe (or failed)
 * @param commitIndex the commit index after this batch
 */
public record Ready(
    HardState hardState,
    List<LogEntry> entries,
    SnapshotMeta snapshot,
    List<RaftMessage> messages,
    List<InstallSnapshot> snapshotsToSend,
    List<LogEntry> committedEntries,
    List<ReadState> readStates,
    long commitIndex) {

  /**
   * Tells whether the batch holds no work.
   *
   * @return true if empty
   */
  public boolean isEmpty() {
    return hardState == null
        && entries.isEmpty()
        && snapshot == null
        && messages.isEmpty()
        && snapshotsToSend.isEmpty()
        && committedEntries.isEmpty()
        && readStates.isEmpty();
  }
}
