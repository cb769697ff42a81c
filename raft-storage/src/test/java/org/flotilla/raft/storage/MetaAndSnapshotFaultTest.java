package org.flotilla.raft.storage;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.stream.Stream;
import org.flotilla.raft.cluster.Configuration;
import org.flotilla.raft.cluster.Member;
import org.flotilla.raft.spi.HardState;
import org.flotilla.raft.spi.SnapshotMeta;
import org.flotilla.raft.spi.SnapshotStore;
import org.flotilla.raft.spi.StorageException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** Fault tests of {@link FileMetaStore} and {@link FileSnapshotStore}. */
@Timeout(60)
class MetaAndSnapshotFaultTest {

  private static final Configuration CONFIG = Configuration.ofVoters(List.of(Member.of("n1")));

  @TempDir Path dir;

  @Test
  void crashedMetadataWriteLeavesThePreviousState() throws Exception {
    try (FileMetaStore store = FileMetaStore.open(dir)) {
      store.save(new HardState(5, "n1"));
    }
    // a crash in the middle of the next save: half a temporary copy, never renamed
    byte[] next = FileMetaStore.encode(new HardState(6, "n2")).array();
    Files.write(dir.resolve(FileMetaStore.TMP), java.util.Arrays.copyOf(next, next.length / 2));
    try (FileMetaStore store = FileMetaStore.open(dir)) {
      assertThat(store.load()).isEqualTo(new HardState(5, "n1"));
    }
    assertThat(dir.resolve(FileMetaStore.TMP)).doesNotExist();
  }

  @Test
  void failedMetadataSyncIsFatalAndKeepsTheOldState() throws Exception {
    FaultyChannel.Faults faults = new FaultyChannel.Faults();
    try (FileMetaStore store = FileMetaStore.open(dir, faults.factory())) {
      store.save(new HardState(1, "n1"));
      faults.failForce = true;
      assertThatThrownBy(() -> store.save(new HardState(2, "n2")))
          .isInstanceOf(StorageException.class)
          .hasStackTraceContaining("injected fsync failure");
      faults.failForce = false;
      assertThatThrownBy(() -> store.save(new HardState(3, "n3")))
          .isInstanceOf(StorageException.class)
          .hasMessageContaining("has failed");
      assertThat(store.load()).isEqualTo(new HardState(1, "n1"));
    }
    try (FileMetaStore store = FileMetaStore.open(dir)) {
      assertThat(store.load()).isEqualTo(new HardState(1, "n1"));
    }
  }

  @Test
  void corruptMetadataIsRefusedNamingTheFile() throws Exception {
    try (FileMetaStore store = FileMetaStore.open(dir)) {
      store.save(new HardState(5, "n1"));
    }
    Path file = dir.resolve(FileMetaStore.FILE);
    byte[] bytes = Files.readAllBytes(file);
    for (int i = 0; i < bytes.length; i++) {
      byte[] flipped = bytes.clone();
      flipped[i] ^= 0x10;
      Files.write(file, flipped);
      assertThatThrownBy(() -> FileMetaStore.open(dir))
          .as("flipped byte %d", i)
          .isInstanceOf(StorageException.class)
          .hasMessageContaining(file.toString());
    }
  }

  @Test
  void unknownMetadataVersionIsAClearError() throws Exception {
    try (FileMetaStore store = FileMetaStore.open(dir)) {
      store.save(new HardState(5, "n1"));
    }
    Path file = dir.resolve(FileMetaStore.FILE);
    byte[] bytes = Files.readAllBytes(file);
    bytes[7] = 3;
    Files.write(file, bytes);
    assertThatThrownBy(() -> FileMetaStore.open(dir))
        .isInstanceOf(StorageException.class)
        .hasMessageContaining("unknown format version 3")
        .hasMessageContaining(file.toString());
  }

  @Test
  void snapshotWhoseRenameNeverHappenedIsInvisibleAndDeleted() throws Exception {
    FileSnapshotStore store = FileSnapshotStore.open(dir, 2);
    try (SnapshotStore.Sink sink = store.create(new SnapshotMeta(10, 1, CONFIG))) {
      sink.output().write(new byte[] {1, 2, 3});
      sink.commit();
    }
    // written and even forced, but the node died before the rename
    SnapshotStore.Sink unfinished = store.create(new SnapshotMeta(20, 1, CONFIG));
    unfinished.output().write(new byte[100_000]);
    store.crash(); // the directory lock goes with the process; nothing else is closed
    try (FileSnapshotStore reopened = FileSnapshotStore.open(dir, 2)) {
      assertThat(reopened.latest().orElseThrow().meta().index()).isEqualTo(10);
      try (Stream<Path> files = Files.list(dir)) {
        assertThat(files.map(p -> p.getFileName().toString())).noneMatch(n -> n.endsWith(".tmp"));
      }
    }
  }

  @Test
  void corruptSnapshotDataFailsTheReaderAtTheEnd() throws Exception {
    FileSnapshotStore store = FileSnapshotStore.open(dir, 2);
    SnapshotStore.Stored stored;
    try (SnapshotStore.Sink sink = store.create(new SnapshotMeta(10, 1, CONFIG))) {
      sink.output().write(new byte[200_000]);
      stored = sink.commit();
    }
    Path file;
    try (Stream<Path> files = Files.list(dir)) {
      file = files.filter(p -> p.toString().endsWith(".snap")).findFirst().orElseThrow();
    }
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
      ch.write(ByteBuffer.wrap(new byte[] {7}), 100_000);
    }
    try (InputStream in = stored.open()) {
      assertThatThrownBy(in::readAllBytes)
          .isInstanceOf(IOException.class)
          .hasMessageContaining("checksum mismatch");
    }
  }

  @Test
  void unknownSnapshotVersionIsAClearError() throws Exception {
    FileSnapshotStore store = FileSnapshotStore.open(dir, 2);
    try (SnapshotStore.Sink sink = store.create(new SnapshotMeta(10, 1, CONFIG))) {
      sink.commit();
    }
    Path file;
    try (Stream<Path> files = Files.list(dir)) {
      file = files.filter(p -> p.toString().endsWith(".snap")).findFirst().orElseThrow();
    }
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
      ch.write(ByteBuffer.wrap(new byte[] {0, 0, 0, 3}), 4);
    }
    assertThatThrownBy(store::latest)
        .isInstanceOf(StorageException.class)
        .hasMessageContaining("unknown format version 3")
        .hasMessageContaining(file.toString());
  }

  @Test
  void aBackupCopiedOutOfTheDirectoryIsReadAndCheckedAsItIsStreamed() throws Exception {
    byte[] data = new byte[50_000];
    for (int i = 0; i < data.length; i++) {
      data[i] = (byte) (i * 31);
    }
    FileSnapshotStore store = FileSnapshotStore.open(dir.resolve("member"), 2);
    try (SnapshotStore.Sink sink = store.create(new SnapshotMeta(42, 3, CONFIG))) {
      sink.output().write(data);
      sink.commit();
    }
    Path original;
    try (Stream<Path> files = Files.list(dir.resolve("member"))) {
      original = files.filter(p -> p.toString().endsWith(".snap")).findFirst().orElseThrow();
    }
    Path backup = Files.copy(original, dir.resolve("backup.snap"));

    SnapshotStore.Stored read = FileSnapshotStore.readBackup(backup);
    assertThat(read.meta()).isEqualTo(new SnapshotMeta(42, 3, CONFIG));
    assertThat(read.size()).isEqualTo(data.length);
    try (InputStream in = read.open()) {
      assertThat(in.readAllBytes()).isEqualTo(data);
    }

    try (FileChannel ch = FileChannel.open(backup, StandardOpenOption.WRITE)) {
      ch.write(ByteBuffer.wrap(new byte[] {(byte) 0xAA}), 20_000);
    }
    try (InputStream in = FileSnapshotStore.readBackup(backup).open()) {
      assertThatThrownBy(in::readAllBytes)
          .isInstanceOf(IOException.class)
          .hasMessageContaining("checksum mismatch");
    }
    Files.write(dir.resolve("torn.snap"), Files.readAllBytes(original), StandardOpenOption.CREATE);
    try (FileChannel ch = FileChannel.open(dir.resolve("torn.snap"), StandardOpenOption.WRITE)) {
      ch.truncate(ch.size() - 5);
    }
    assertThatThrownBy(() -> FileSnapshotStore.readBackup(dir.resolve("torn.snap")))
        .isInstanceOf(StorageException.class)
        .hasMessageContaining("torn.snap");
    assertThatThrownBy(() -> FileSnapshotStore.readBackup(dir.resolve("missing.snap")))
        .isInstanceOf(IOException.class);
  }
}
