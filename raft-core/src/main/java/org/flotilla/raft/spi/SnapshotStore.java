package org.flotilla.raft.spi;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.Optional;

/**
 * Durable storage of state-machine snapshots.
 *
 * <p>A snapshot is written through a {@link Sink}: bytes go to a temporary place, and {@link
 * Sink#commit()} makes the whole snapshot durable and visible atomically. A crash before commit
 * leaves no trace that {@link #latest()} would return. The store keeps a bounded number of the
 * newest snapshots and deletes older ones.
 *
 * <p>Threading: {@link #latest()} and {@link #create(SnapshotMeta)} may be called from any thread;
 * one sink or reader is used by one thread at a time. Implementations are thread-safe.
 */
public interface SnapshotStore extends AutoCloseable {

  /**
   * Returns the newest committed snapshot, if any: the one with the highest index, even if another
   * was committed after it. The runtime relies on it: at start it restores this snapshot, and a
   * leader streams it to a follower that needs entries the log no longer holds; an older one could
   * leave the log with a gap after it. The SPI's conformance suite checks it ({@code
   * latestIsTheHighestIndexEvenIfCommittedEarlier}).
   *
   * @return the snapshot
   * @throws IOException if the store cannot be read
   */
  Optional<Stored> latest() throws IOException;

  /**
   * Starts writing a new snapshot.
   *
   * @param meta what the snapshot covers
   * @return the sink to write it to
   * @throws IOException if it cannot be started
   */
  Sink create(SnapshotMeta meta) throws IOException;

  /** Releases the store's resources. */
  @Override
  void close();

  /** A committed snapshot. */
  interface Stored {

    /**
     * Returns what the snapshot covers.
     *
     * @return the metadata
     */
    SnapshotMeta meta();

    /**
     * Returns the snapshot's size in bytes.
     *
     * @return the size
     */
    long size();

    /**
     * Returns the CRC32C of the snapshot's bytes.
     *
     * @return the checksum
     */
    int checksum();

    /**
     * Opens the snapshot's bytes for reading from the start. The stream stays readable even if the
     * store deletes the snapshot meanwhile.
     *
     * @return a new stream; the caller closes it
     * @throws IOException if it cannot be opened
     */
    InputStream open() throws IOException;
  }

  /** A snapshot being written. Not thread-safe. */
  interface Sink extends AutoCloseable {

    /**
     * Returns what the snapshot will cover.
     *
     * @return the metadata
     */
    SnapshotMeta meta();

    /**
     * Returns the stream to write the snapshot's bytes to. Closing the stream does not commit.
     *
     * @return the stream
     */
    OutputStream output();

    /**
     * Returns how many bytes were written so far.
     *
     * @return the size
     */
    long size();

    /**
     * Returns the CRC32C of the bytes written so far.
     *
     * @return the checksum
     */
    int checksum();

    /**
     * Makes the snapshot durable and visible atomically (write, sync, rename).
     *
     * @return the committed snapshot
     * @throws IOException if it cannot be committed; nothing is then visible
     */
    Stored commit() throws IOException;

    /** Abandons the snapshot, if not committed, and releases its resources. */
    @Override
    void close();
  }
}
