package org.flotilla.raft;

/**
 * The command was refused because its log entry would not fit in one message: its encoded size is
 * above {@link RaftOptions#maxEntryBytes()}. Nothing was proposed. Unlike other refusals, retrying
 * the same command cannot succeed; an HTTP front end answers it with 413.
 */
public final class CommandTooLargeException extends CommandRejectedException {

  private static final long serialVersionUID = 1L;

  /** The encoded size of the refused entry, in bytes. */
  private final long size;

  /** The largest entry the member accepts, in bytes. */
  private final long limit;

  /**
   * Creates the exception.
   *
   * @param message what was refused, with both sizes
   * @param size the encoded size of the refused entry, in bytes
   * @param limit the largest entry accepted, in bytes
   */
  public CommandTooLargeException(String message, long size, long limit) {
    super(Reason.TOO_LARGE, message);
    this.size = size;
    this.limit = limit;
  }

  /**
   * Returns the encoded size of the refused entry.
   *
   * @return bytes
   */
  public long size() {
    return size;
  }

  /**
   * Returns the largest entry the member accepts ({@link RaftOptions#maxEntryBytes()}).
   *
   * @return bytes
   */
  public long limit() {
    return limit;
  }
}
