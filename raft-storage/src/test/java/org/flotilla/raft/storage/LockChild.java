package org.flotilla.raft.storage;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import org.flotilla.raft.spi.StorageException;

/**
 * The child process of {@link DirectoryLockTest}: opens one store on a directory and holds it until
 * its standard input closes. Prints {@code READY <pid>} once the store is open, or {@code REFUSED
 * <message>} (and exits with status 3) if the open failed with {@link StorageException}.
 */
final class LockChild {
  private LockChild() {}

  /**
   * Opens the store and holds it.
   *
   * @param args the store's kind ({@link DirectoryLockTest.Kind}) and its directory
   * @throws IOException if standard input cannot be read
   */
  public static void main(String[] args) throws IOException {
    PrintStream out = new PrintStream(System.out, true, StandardCharsets.UTF_8);
    AutoCloseable store;
    try {
      store = DirectoryLockTest.Kind.valueOf(args[0]).open(Path.of(args[1]));
    } catch (StorageException e) {
      out.println("REFUSED " + e.getMessage());
      System.exit(3);
      return;
    }
    out.println("READY " + ProcessHandle.current().pid());
    while (System.in.read() >= 0) {
      // hold the store until the parent closes our input (or kills us)
    }
    try {
      store.close();
    } catch (Exception e) {
      out.println("CLOSE FAILED " + e);
      System.exit(4);
    }
  }
}
