package org.flotilla.raft.storage;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.flotilla.raft.spi.HardState;
import org.flotilla.raft.spi.StorageException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Each file store owns its directory: a second store of the same kind on it, in this JVM or in
 * another process, fails at once with a {@link StorageException} that names the directory and the
 * holder's process id, until the first closes or its process dies.
 */
@Timeout(120)
class DirectoryLockTest {

  private static final long PID = ProcessHandle.current().pid();

  /** The three stores, opened the way a node opens them (small log segments). */
  enum Kind {
    LOG(FileLogStore.LOCK),
    META(FileMetaStore.LOCK),
    SNAPSHOTS(FileSnapshotStore.LOCK);

    final String lockFile;

    Kind(String lockFile) {
      this.lockFile = lockFile;
    }

    AutoCloseable open(Path dir) throws IOException {
      return switch (this) {
        case LOG -> FileLogStore.open(dir, FileLogStore.Options.defaults().withSegmentSize(16384));
        case META -> FileMetaStore.open(dir);
        case SNAPSHOTS -> FileSnapshotStore.open(dir, 2);
      };
    }
  }

  @TempDir Path tmp;

  @ParameterizedTest
  @EnumSource(Kind.class)
  void aSecondStoreInThisProcessFailsUntilTheFirstCloses(Kind kind) throws Exception {
    Path dir = tmp.resolve("store");
    AutoCloseable first = kind.open(dir);
    try {
      assertThat(Files.readString(dir.resolve(kind.lockFile)).trim()).isEqualTo(Long.toString(PID));
      assertThatThrownBy(() -> kind.open(dir))
          .isInstanceOf(StorageException.class)
          .hasMessageContaining(dir.toString())
          .hasMessageContaining("pid " + PID)
          .hasMessageContaining(kind.lockFile);
      // the same directory by another name is the same directory
      Path alias = Files.createSymbolicLink(tmp.resolve("alias"), dir);
      assertThatThrownBy(() -> kind.open(alias))
          .isInstanceOf(StorageException.class)
          .hasMessageContaining(alias.toString())
          .hasMessageContaining("pid " + PID);
    } finally {
      first.close();
    }
    first.close(); // idempotent
    try (AutoCloseable again = kind.open(dir)) {
      assertThat(again).isNotNull();
    }
    assertThat(dir.resolve(kind.lockFile)).exists();
  }

  @ParameterizedTest
  @EnumSource(Kind.class)
  void aStoreInAnotherProcessKeepsThisOneOutUntilItDies(Kind kind) throws Exception {
    Path dir = tmp.resolve("store");
    try (Child child = Child.start(kind, dir)) {
      String ready = child.nextLine();
      assertThat(ready).startsWith("READY ");
      long childPid = child.process.pid();
      assertThat(ready).isEqualTo("READY " + childPid);
      assertThatThrownBy(() -> kind.open(dir))
          .isInstanceOf(StorageException.class)
          .hasMessageContaining(dir.toString())
          .hasMessageContaining("process " + childPid);
      child.kill(); // SIGKILL: nothing is closed, the OS releases the lock
    }
    AutoCloseable store = kind.open(dir);
    try {
      assertThat(Files.readString(dir.resolve(kind.lockFile)).trim()).isEqualTo(Long.toString(PID));
    } finally {
      store.close();
    }
  }

  @Test
  void aStoreInAnotherProcessThatClosesLetsThisOneIn() throws Exception {
    Path dir = tmp.resolve("log");
    try (Child child = Child.start(Kind.LOG, dir)) {
      assertThat(child.nextLine()).startsWith("READY ");
      assertThatThrownBy(() -> Kind.LOG.open(dir)).isInstanceOf(StorageException.class);
      child.process.getOutputStream().close(); // the child closes its store and exits
      assertThat(child.process.waitFor(30, TimeUnit.SECONDS)).isTrue();
      assertThat(child.process.exitValue()).isZero();
    }
    Kind.LOG.open(dir).close();
  }

  /**
   * On POSIX systems closing any descriptor of a file releases every lock the process holds on it,
   * so a refused second opener in this JVM must not touch the lock file the first one holds.
   */
  @ParameterizedTest
  @EnumSource(Kind.class)
  void aRefusedOpenInThisProcessDoesNotLetAnotherProcessIn(Kind kind) throws Exception {
    Path dir = tmp.resolve("store");
    AutoCloseable first = kind.open(dir);
    try {
      for (int i = 0; i < 3; i++) {
        assertThatThrownBy(() -> kind.open(dir)).isInstanceOf(StorageException.class);
      }
      try (Child child = Child.start(kind, dir)) {
        String line = child.nextLine();
        assertThat(line).startsWith("REFUSED ").contains(dir.toString()).contains("process " + PID);
        assertThat(child.process.waitFor(30, TimeUnit.SECONDS)).isTrue();
        assertThat(child.process.exitValue()).isEqualTo(3);
      }
    } finally {
      first.close();
    }
  }

  @Test
  void aNodesThreeStoresMayShareOneDirectory() throws Exception {
    try (FileLogStore log = (FileLogStore) Kind.LOG.open(tmp);
        FileMetaStore meta = FileMetaStore.open(tmp);
        FileSnapshotStore snapshots = FileSnapshotStore.open(tmp, 2)) {
      assertThat(log.lastIndex()).isZero();
      assertThat(meta.load()).isEqualTo(HardState.INITIAL);
      assertThat(snapshots.latest()).isEmpty();
      assertThat(tmp.resolve(FileLogStore.LOCK)).exists();
      assertThat(tmp.resolve(FileMetaStore.LOCK)).exists();
      assertThat(tmp.resolve(FileSnapshotStore.LOCK)).exists();
    }
  }

  @Test
  void anOpenThatFailsReleasesTheDirectory() throws Exception {
    try (FileMetaStore store = FileMetaStore.open(tmp)) {
      store.save(new HardState(3, "n1"));
    }
    Files.write(tmp.resolve(FileMetaStore.FILE), new byte[] {1, 2, 3});
    for (int i = 0; i < 2; i++) {
      assertThatThrownBy(() -> FileMetaStore.open(tmp))
          .isInstanceOf(StorageException.class)
          .hasMessageContaining("is not a Flotilla metadata file");
    }
    Files.delete(tmp.resolve(FileMetaStore.FILE));
    FileMetaStore.open(tmp).close();
  }

  /** A {@link LockChild} JVM, its output read line by line on a thread of its own. */
  private static final class Child implements AutoCloseable {
    final Process process;
    private final BlockingQueue<String> lines = new LinkedBlockingQueue<>();

    private Child(Process process) {
      this.process = process;
      Thread reader =
          new Thread(
              () -> {
                try (BufferedReader in =
                    new BufferedReader(
                        new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
                  String line;
                  while ((line = in.readLine()) != null) {
                    lines.add(line);
                  }
                } catch (IOException e) {
                  lines.add("READ FAILED " + e);
                }
                lines.add("EOF");
              },
              "lock-child-reader");
      reader.setDaemon(true);
      reader.start();
    }

    static Child start(Kind kind, Path dir) throws IOException {
      String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
      return new Child(
          new ProcessBuilder(
                  java,
                  "-Xmx64m",
                  "-XX:TieredStopAtLevel=1",
                  "-cp",
                  System.getProperty("java.class.path"),
                  LockChild.class.getName(),
                  kind.name(),
                  dir.toString())
              .redirectError(ProcessBuilder.Redirect.INHERIT)
              .start());
    }

    String nextLine() throws InterruptedException {
      String line = lines.poll(30, TimeUnit.SECONDS);
      assertThat(line).as("a line from the child within 30 s").isNotNull();
      return line;
    }

    void kill() throws InterruptedException {
      process.destroyForcibly();
      assertThat(process.waitFor(30, TimeUnit.SECONDS)).as("the child dies").isTrue();
    }

    @Override
    public void close() {
      process.destroyForcibly();
      try {
        process.waitFor(30, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }
}
