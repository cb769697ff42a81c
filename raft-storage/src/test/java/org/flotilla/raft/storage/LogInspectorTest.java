package org.flotilla.raft.storage;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.flotilla.raft.storage.FileLogStoreFaultTest.SMALL;
import static org.flotilla.raft.storage.FileLogStoreFaultTest.entries;
import static org.flotilla.raft.storage.FileLogStoreFaultTest.overwrite;
import static org.flotilla.raft.storage.FileLogStoreFaultTest.readByte;
import static org.flotilla.raft.storage.FileLogStoreFaultTest.recordOffset;
import static org.flotilla.raft.storage.FileLogStoreFaultTest.writeLog;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.flotilla.raft.message.LogEntry;
import org.flotilla.raft.spi.StorageException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link LogInspector} finds exactly what {@link FileLogStore#open} acts on (a log it calls sound
 * opens; an error it reports makes open refuse), dumps the entries, and changes no byte.
 */
class LogInspectorTest {

  @TempDir Path tmp;

  @Test
  void aCleanLogVerifiesAndDumpsEveryEntry() throws Exception {
    Path dir = tmp.resolve("log");
    writeLog(dir, 2000, SMALL);
    Map<Path, String> before = contents(dir);
    List<Long> progress = new ArrayList<>();
    try (LogInspector log = LogInspector.open(dir)) {
      LogInspector.Report r = log.verify(progress::add);
      assertThat(r.ok()).isTrue();
      assertThat(r.errors()).isEmpty();
      assertThat(r.warnings()).isEmpty();
      assertThat(r.baseIndex()).isZero();
      assertThat(r.lastIndex()).isEqualTo(2000);
      assertThat(r.segments()).hasSizeGreaterThan(3);
      assertThat(r.durableMark()).hasValueSatisfying(m -> assertThat(m.index()).isEqualTo(2000));
      assertThat(progress).isSorted().last().isEqualTo(log.totalBytes());

      List<LogEntry> all = new ArrayList<>();
      assertThat(log.entries(1, 2000, all::add)).isEqualTo(2000);
      assertThat(all).isEqualTo(entries(1, 2000, 1));
      List<LogEntry> some = new ArrayList<>();
      assertThat(log.entries(1500, 1600, some::add)).isEqualTo(101);
      assertThat(some).isEqualTo(entries(1500, 1600, 1));
    }
    assertThat(contents(dir)).as("no byte changed").containsExactlyInAnyOrderEntriesOf(before);
  }

  @Test
  void anErrorItReportsIsWhatMakesOpenRefuseTheLog() throws Exception {
    Path dir = tmp.resolve("log");
    writeLog(dir, 20, SMALL);
    Path file = dir.resolve(Segment.fileName(1));
    long middle = recordOffset(10);
    overwrite(file, middle + 30, new byte[] {(byte) (readByte(file, middle + 30) ^ 1)});
    Map<Path, String> before = contents(dir);
    try (LogInspector log = LogInspector.open(dir)) {
      LogInspector.Report r = log.verify(bytes -> {});
      assertThat(r.ok()).isFalse();
      assertThat(r.errors())
          .singleElement()
          .asString()
          .contains(file.toString(), "offset " + middle, "not a torn write");
      List<LogEntry> valid = new ArrayList<>();
      assertThat(log.entries(1, 20, valid::add)).as("the entries before the damage").isEqualTo(9);
    }
    assertThat(contents(dir)).containsExactlyInAnyOrderEntriesOf(before);
    assertThatThrownBy(() -> FileLogStore.open(dir, SMALL).close())
        .isInstanceOf(StorageException.class)
        .hasMessageContaining("offset " + middle);
  }

  @Test
  void aTornTailIsAWarningThatOpenRepairs() throws Exception {
    Path dir = tmp.resolve("log");
    writeLog(dir, 20, SMALL);
    Path file = dir.resolve(Segment.fileName(1));
    long tail = recordOffset(21);
    overwrite(file, tail, new byte[] {1, 2, 3, 4, 5, 6, 7, 8, 9});
    long size = Files.size(file);
    try (LogInspector log = LogInspector.open(dir)) {
      LogInspector.Report r = log.verify(bytes -> {});
      assertThat(r.ok()).isTrue();
      assertThat(r.lastIndex()).isEqualTo(20);
      assertThat(r.warnings())
          .singleElement()
          .asString()
          .contains(file.toString(), "offset " + tail, "would be truncated");
    }
    assertThat(Files.size(file)).as("nothing truncated by the inspector").isEqualTo(size);
    try (FileLogStore store = FileLogStore.open(dir, SMALL)) {
      assertThat(store.lastIndex()).isEqualTo(20);
    }
  }

  @Test
  void aLogThatAStoreHasOpenIsRefused() throws Exception {
    Path dir = tmp.resolve("log");
    writeLog(dir, 5, SMALL);
    try (FileLogStore store = FileLogStore.open(dir, SMALL)) {
      assertThat(store.lastIndex()).isEqualTo(5);
      assertThatThrownBy(() -> LogInspector.open(dir).close())
          .isInstanceOf(StorageException.class)
          .hasMessageContaining("in use");
    }
    try (LogInspector log = LogInspector.open(dir)) {
      assertThat(log.verify(bytes -> {}).lastIndex()).isEqualTo(5);
    }
    assertThatThrownBy(() -> LogInspector.open(tmp.resolve("none")))
        .isInstanceOf(StorageException.class)
        .hasMessageContaining("no log directory");
  }

  private static Map<Path, String> contents(Path dir) throws IOException {
    Map<Path, String> files = new HashMap<>();
    try (Stream<Path> list = Files.list(dir)) {
      for (Path p : (Iterable<Path>) list::iterator) {
        if (!p.getFileName().toString().equals(FileLogStore.LOCK)) {
          files.put(p, HexFormat.of().formatHex(Files.readAllBytes(p)));
        }
      }
    }
    return files;
  }
}
