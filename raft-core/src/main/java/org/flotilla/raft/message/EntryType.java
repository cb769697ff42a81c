package org.flotilla.raft.message;

/** The kind of a {@link LogEntry}. */
public enum EntryType {
  /** A command for the user's state machine (wrapped in the runtime's command envelope). */
  COMMAND,
  /** The empty entry a new leader appends in its term (Raft §5.4.2, thesis §6.4). */
  NOOP,
  /** A cluster configuration; it takes effect on a node as soon as it is in that node's log. */
  CONFIGURATION;

  private static final EntryType[] VALUES = values();

  /**
   * Returns the type with the given wire code.
   *
   * @param code the value of {@link #code()}
   * @return the type
   * @throws IllegalArgumentException if no type has this code
   */
  public static EntryType fromCode(int code) {
    if (code < 0 || code >= VALUES.length) {
      throw new IllegalArgumentException("unknown entry type code " + code);
    }
    return VALUES[code];
  }

  /**
   * Returns the stable numeric code of this type, used by storage and wire formats.
   *
   * @return the code
   */
  @SuppressWarnings("EnumOrdinal") // the declaration order is the documented, stable wire code
  public int code() {
    return ordinal();
  }
}
