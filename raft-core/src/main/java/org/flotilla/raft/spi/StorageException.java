package org.flotilla.raft.spi;

/**
 * A storage failure that the node cannot recover from by itself: an I/O error, a failed {@code
 * fsync}, or corruption of data that may have been acknowledged. The node stops when it sees one.
 */
public class StorageException extends RuntimeException {

  private static final long serialVersionUID = 1L;

  /**
   * Creates the exception.
   *
   * @param message what failed, naming the file and offset where known
   */
  public StorageException(String message) {
    super(message);
  }

  /**
   * Creates the exception.
   *
   * @param message what failed, naming the file and offset where known
   * @param cause the underlying failure
   */
  public StorageException(String message, Throwable cause) {
    super(message, cause);
  }
}
