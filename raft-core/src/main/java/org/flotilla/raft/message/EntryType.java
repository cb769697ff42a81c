package org.flotilla.raft.message;

/** The kind of a {@link LogEntry}. */
public enum EntryType {
  /** A command for the user's state machine (wrapped in the runtime's command envelope). */
  COMMAND(0),
  /** The empty entry a new leader appends in its term (Raft §5.4.2, thesis §6.4). */
  NOOP(1),
  /** A cluster configuration; it takes effect on a node as soon as it is in that node's log. */
  CONFIGURATION(2);

  // Codes are written to disk and to the wire: fixed per constant, never derived from order.
  private final int code;

  EntryType(int code) {
    this.code = code;
  }

  /**
   * Returns the type with the given wire code.
   *
   * @param code the value of {@link #code()}
   * @return the type
   * @throws IllegalArgumentException if no type has this code
   */
  public static EntryType fromCode(int code) {
    if (code < 0 || code >= BY_CODE.length || BY_CODE[code] == null) {
      throw new IllegalArgumentException("unknown entry type code " + code);
    }
    return BY_CODE[code];
  }

  private static final EntryType[] BY_CODE = byCode();

  private static EntryType[] byCode() {
    EntryType[] table = new EntryType[values().length];
    for (EntryType t : values()) {
      table[t.code] = t;
    }
    return table;
  }

  /**
   * Returns the stable numeric code of this type, used by storage and wire formats.
   *
   * @return the code
   */
  public int code() {
    return code;
  }
}
