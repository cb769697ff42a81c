package org.flotilla.raft.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.List;
import java.util.Optional;
import java.util.SplittableRandom;
import java.util.zip.CRC32C;
import org.flotilla.raft.cluster.Configuration;
import org.flotilla.raft.cluster.Member;
import org.flotilla.raft.spi.SnapshotMeta;
import org.flotilla.raft.spi.SnapshotStore;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The contract of {@link SnapshotStore}, written once and run against every implementation. A
 * subclass's {@link #open()} opens a store that keeps the newest {@link #RETAIN} snapshots, over
 * the same storage each time it is called within one test (empty at the first call).
 */
@Timeout(60)
public abstract class SnapshotStoreConformanceTest {

  /** How many snapshots the store under test must keep. */
  protected static final int RETAIN = 2;

  /** A configuration for snapshot metadata. */
  protected static final Configuration CONFIG =
      new Configuration(
          List.of(Member.of("n1", "127.0.0.1:7001"), Member.of("n2", "127.0.0.1:7002")),
          List.of(Member.of("n3", "127.0.0.1:7003")),
          List.of(Member.of("l1", "127.0.0.1:7004")));

  /** The store under test. */
  protected SnapshotStore store;

  /**
   * Opens the store over this test's storage, keeping the newest {@link #RETAIN} snapshots.
   *
   * @return the store
   * @throws Exception if it cannot be opened
   */
  protected abstract SnapshotStore open() throws Exception;

  /**
   * Returns how many committed snapshots the store holds now.
   *
   * @return the count
   * @throws Exception if it cannot be counted
   */
  protected abstract int storedCount() throws Exception;

  @BeforeEach
  void openStore() throws Exception {
    store = open();
  }

  @AfterEach
  void closeStore() {
    store.close();
  }

  /**
   * Closes the store and opens it again over the same storage.
   *
   * @throws Exception if it cannot be reopened
   */
  protected void reopen() throws Exception {
    store.close();
    store = open();
  }

  /**
   * Returns deterministic pseudo-random bytes.
   *
   * @param size how many
   * @param seed the seed
   * @return the bytes
   */
  protected static byte[] bytes(int size, long seed) {
    byte[] b = new byte[size];
    new SplittableRandom(seed).nextBytes(b);
    return b;
  }

  /**
   * Writes and commits a snapshot.
   *
   * @param index the index it covers
   * @param term the term at that index
   * @param content its bytes
   * @return the committed snapshot
   * @throws IOException if it fails
   */
  protected SnapshotStore.Stored write(long index, long term, byte[] content) throws IOException {
    try (SnapshotStore.Sink sink = store.create(new SnapshotMeta(index, term, CONFIG))) {
      OutputStream out = sink.output();
      for (int off = 0; off < content.length; off += 1000) {
        out.write(content, off, Math.min(1000, content.length - off));
      }
      return sink.commit();
    }
  }

  private static byte[] read(SnapshotStore.Stored stored) throws IOException {
    try (InputStream in = stored.open()) {
      return in.readAllBytes();
    }
  }

  private static int crc(byte[] b) {
    CRC32C crc = new CRC32C();
    crc.update(b);
    return (int) crc.getValue();
  }

  @Test
  void newStoreHasNoSnapshot() throws Exception {
    assertThat(store.latest()).isEmpty();
  }

  @Test
  void committedSnapshotIsLatestWithItsBytesAndChecksum() throws Exception {
    byte[] content = bytes(10_000, 1);
    SnapshotStore.Stored stored = write(10, 2, content);
    assertThat(stored.meta()).isEqualTo(new SnapshotMeta(10, 2, CONFIG));
    assertThat(stored.size()).isEqualTo(content.length);
    assertThat(stored.checksum()).isEqualTo(crc(content));
    Optional<SnapshotStore.Stored> latest = store.latest();
    assertThat(latest).isPresent();
    assertThat(latest.get().meta()).isEqualTo(stored.meta());
    assertThat(read(latest.get())).isEqualTo(content);
  }

  @Test
  void sinkReportsSizeAndChecksumOfWhatWasWritten() throws Exception {
    byte[] content = bytes(5000, 2);
    try (SnapshotStore.Sink sink = store.create(new SnapshotMeta(3, 1, CONFIG))) {
      assertThat(sink.meta().index()).isEqualTo(3);
      sink.output().write(content, 0, 2000);
      sink.output().write(content[2000]);
      sink.output().write(content, 2001, content.length - 2001);
      assertThat(sink.size()).isEqualTo(content.length);
      assertThat(sink.checksum()).isEqualTo(crc(content));
      assertThat(sink.commit().checksum()).isEqualTo(crc(content));
    }
  }

  @Test
  void emptySnapshotRoundTrips() throws Exception {
    write(1, 1, new byte[0]);
    reopen();
    assertThat(store.latest()).isPresent();
    assertThat(read(store.latest().get())).isEmpty();
  }

  @Test
  void uncommittedSnapshotIsInvisible() throws Exception {
    write(5, 1, bytes(100, 3));
    try (SnapshotStore.Sink sink = store.create(new SnapshotMeta(9, 1, CONFIG))) {
      sink.output().write(bytes(100, 4));
    }
    assertThat(store.latest().get().meta().index()).isEqualTo(5);
    reopen();
    assertThat(store.latest().get().meta().index()).isEqualTo(5);
    assertThat(storedCount()).isEqualTo(1);
  }

  @Test
  void sinkCannotBeWrittenAfterCommit() throws Exception {
    try (SnapshotStore.Sink sink = store.create(new SnapshotMeta(3, 1, CONFIG))) {
      sink.output().write(1);
      sink.commit();
      assertThatThrownBy(() -> sink.output().write(2)).isInstanceOf(IOException.class);
    }
  }

  @Test
  void keepsOnlyTheNewestSnapshots() throws Exception {
    for (int i = 1; i <= 5; i++) {
      write(i * 10L, i, bytes(100, i));
    }
    assertThat(store.latest().get().meta().index()).isEqualTo(50);
    assertThat(storedCount()).isEqualTo(RETAIN);
    reopen();
    assertThat(store.latest().get().meta().index()).isEqualTo(50);
    assertThat(read(store.latest().get())).isEqualTo(bytes(100, 5));
  }

  @Test
  void openStreamStaysReadableAfterTheSnapshotIsDeleted() throws Exception {
    byte[] first = bytes(200_000, 7);
    SnapshotStore.Stored stored = write(10, 1, first);
    try (InputStream in = stored.open()) {
      byte[] head = in.readNBytes(1000);
      for (int i = 2; i <= 2 + RETAIN; i++) {
        write(i * 10L, 1, bytes(10, i));
      }
      byte[] rest = in.readAllBytes();
      assertThat(head.length + rest.length).isEqualTo(first.length);
      assertThat(rest[rest.length - 1]).isEqualTo(first[first.length - 1]);
    }
  }

  @Test
  void snapshotSurvivesReopenWithItsMetadata() throws Exception {
    byte[] content = bytes(3_000_000, 9);
    write(123_456, 42, content);
    reopen();
    SnapshotStore.Stored latest = store.latest().orElseThrow();
    assertThat(latest.meta()).isEqualTo(new SnapshotMeta(123_456, 42, CONFIG));
    assertThat(latest.size()).isEqualTo(content.length);
    assertThat(latest.checksum()).isEqualTo(crc(content));
    assertThat(read(latest)).isEqualTo(content);
  }

  @Test
  void latestIsTheHighestIndexEvenIfCommittedEarlier() throws Exception {
    write(100, 3, bytes(10, 1));
    write(50, 2, bytes(10, 2));
    assertThat(store.latest().get().meta().index()).isEqualTo(100);
  }
}
