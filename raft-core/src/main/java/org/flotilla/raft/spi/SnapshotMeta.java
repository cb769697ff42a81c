package org.flotilla.raft.spi;

import org.flotilla.raft.cluster.Configuration;

/**
 * What a snapshot covers: the log up to {@code index} (whose entry has {@code term}), with the
 * configuration in force at that index.
 *
 * @param index the last index covered, at least 1
 * @param term the term of the entry at {@code index}
 * @param configuration the configuration at {@code index}
 */
public record SnapshotMeta(long index, long term, Configuration configuration) {

  /**
   * Creates the metadata, checking its fields.
   *
   * @param index the index
   * @param term the term
   * @param configuration the configuration
   */
  public SnapshotMeta {
    if (index < 1 || term < 1) {
      throw new IllegalArgumentException(
          "snapshot index and term must be >= 1: " + index + "@" + term);
    }
    if (configuration == null) {
      throw new IllegalArgumentException("snapshot without configuration");
    }
  }
}
