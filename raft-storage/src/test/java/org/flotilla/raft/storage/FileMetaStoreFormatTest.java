package org.flotilla.raft.storage;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.zip.CRC32C;
import org.flotilla.raft.cluster.Configuration;
import org.flotilla.raft.cluster.Member;
import org.flotilla.raft.spi.HardState;
import org.flotilla.raft.spi.StorageException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The bytes of the metadata file, as docs/storage-format.md describes them: version 1 files (term
 * and vote, written before the initial configuration was stored) are still read, and version 2
 * files carry the initial configuration. The files here are built from the documented layout, not
 * by the store's own encoder.
 */
@Timeout(30)
class FileMetaStoreFormatTest {

  private static final Configuration INITIAL =
      Configuration.ofVoters(
          List.of(
              Member.of("n1", "10.0.0.1:7000"),
              Member.of("n2", "10.0.0.2:7000"),
              Member.of("n3", "10.0.0.3:7000")));

  @TempDir Path dir;

  /** A version 1 file, as every metadata file was written before version 2. */
  private static byte[] version1(long term, String vote) {
    byte[] v = vote.getBytes(StandardCharsets.UTF_8);
    ByteBuffer b = ByteBuffer.allocate(24 + v.length);
    b.putInt(0x464C4D54).putInt(1).putLong(term).putInt(v.length).put(v);
    b.putInt(crc(b.array(), 20 + v.length));
    return b.array();
  }

  private static int crc(byte[] bytes, int length) {
    CRC32C crc = new CRC32C();
    crc.update(bytes, 0, length);
    return (int) crc.getValue();
  }

  @Test
  void aVersion1FileIsReadAsHoldingNoInitialConfiguration() throws Exception {
    Files.write(dir.resolve("meta"), version1(5, "n2"));
    try (FileMetaStore store = FileMetaStore.open(dir)) {
      assertThat(store.load()).isEqualTo(new HardState(5, "n2"));
      assertThat(store.loadInitialConfiguration()).isEmpty();
      // Until an initial configuration is stored, the file stays version 1, byte for byte.
      store.save(new HardState(6, "n3"));
    }
    assertThat(Files.readAllBytes(dir.resolve("meta"))).isEqualTo(version1(6, "n3"));
  }

  /**
   * Storing the initial configuration in a version 1 file (a member that ran before it was stored)
   * turns it into version 2, keeping the term and vote; the configuration survives later saves.
   */
  @Test
  void storingTheInitialConfigurationWritesVersion2AndKeepsTheTermAndVote() throws Exception {
    Files.write(dir.resolve("meta"), version1(5, "n2"));
    try (FileMetaStore store = FileMetaStore.open(dir)) {
      store.saveInitialConfiguration(INITIAL);
    }
    byte[] bytes = Files.readAllBytes(dir.resolve("meta"));
    ByteBuffer b = ByteBuffer.wrap(bytes);
    byte[] config = new byte[INITIAL.encode().remaining()];
    INITIAL.encode().get(config);
    assertThat(b.getInt(0)).isEqualTo(0x464C4D54);
    assertThat(b.getInt(4)).as("format version").isEqualTo(2);
    assertThat(b.getLong(8)).as("term").isEqualTo(5);
    assertThat(b.getInt(16)).as("vote length").isEqualTo(2);
    assertThat(new String(bytes, 20, 2, StandardCharsets.UTF_8)).isEqualTo("n2");
    assertThat(b.getInt(22)).as("configuration length").isEqualTo(config.length);
    assertThat(ByteBuffer.wrap(bytes, 26, config.length)).isEqualTo(ByteBuffer.wrap(config));
    assertThat(bytes).hasSize(26 + config.length + 4);
    assertThat(b.getInt(26 + config.length)).isEqualTo(crc(bytes, 26 + config.length));

    try (FileMetaStore store = FileMetaStore.open(dir)) {
      assertThat(store.load()).isEqualTo(new HardState(5, "n2"));
      assertThat(store.loadInitialConfiguration()).contains(INITIAL);
      store.save(new HardState(7, ""));
    }
    try (FileMetaStore store = FileMetaStore.open(dir)) {
      assertThat(store.load()).isEqualTo(new HardState(7, ""));
      assertThat(store.loadInitialConfiguration()).contains(INITIAL);
    }
  }

  /** Any flipped byte of a version 2 file is refused, naming the file. */
  @Test
  void aCorruptVersion2FileIsRefusedNamingTheFile() throws Exception {
    try (FileMetaStore store = FileMetaStore.open(dir)) {
      store.save(new HardState(5, "n1"));
      store.saveInitialConfiguration(INITIAL);
    }
    Path file = dir.resolve("meta");
    byte[] bytes = Files.readAllBytes(file);
    for (int i = 0; i < bytes.length; i++) {
      byte[] flipped = bytes.clone();
      flipped[i] ^= 0x10;
      Files.write(file, flipped);
      assertThatThrownBy(() -> FileMetaStore.open(dir).close())
          .as("flipped byte %d", i)
          .isInstanceOf(StorageException.class)
          .hasMessageContaining(file.toString());
    }
    for (int length : new int[] {bytes.length - 1, 25, 24}) {
      Files.write(file, java.util.Arrays.copyOf(bytes, length));
      assertThatThrownBy(() -> FileMetaStore.open(dir).close())
          .as("truncated to %d bytes", length)
          .isInstanceOf(StorageException.class)
          .hasMessageContaining(file.toString());
    }
  }
}
