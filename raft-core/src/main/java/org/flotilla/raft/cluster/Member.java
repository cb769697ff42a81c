package org.flotilla.raft.cluster;

import java.util.regex.Pattern;

/**
 * A member of a Raft group: its id, the address its transport listens on, and its election
 * priority.
 *
 * @param id the member's unique id: 1 to 64 characters of letters, digits, '.', '_' or '-'
 * @param address the transport address, for example {@code 127.0.0.1:7001}; may be empty for
 *     transports that need none
 * @param priority the election priority, 0 to 100; a caught-up member of higher priority is
 *     preferred as leader. All members default to the same priority.
 */
public record Member(String id, String address, int priority) {

  /** The priority members get unless one is given. */
  public static final int DEFAULT_PRIORITY = 1;

  private static final Pattern ID = Pattern.compile("[A-Za-z0-9._-]{1,64}");

  /**
   * Creates a member, checking its fields.
   *
   * @param id the id
   * @param address the address (null is taken as empty)
   * @param priority the priority
   */
  public Member {
    if (id == null || !ID.matcher(id).matches()) {
      throw new IllegalArgumentException(
          "member id must be 1-64 characters of [A-Za-z0-9._-]: '" + id + "'");
    }
    if (address == null) {
      address = "";
    }
    if (address.length() > 255) {
      throw new IllegalArgumentException("member address longer than 255 characters: " + id);
    }
    if (priority < 0 || priority > 100) {
      throw new IllegalArgumentException(
          "member priority must be in [0, 100]: " + priority + " for " + id);
    }
  }

  /**
   * Creates a member with the default priority.
   *
   * @param id the id
   * @param address the address
   * @return the member
   */
  public static Member of(String id, String address) {
    return new Member(id, address, DEFAULT_PRIORITY);
  }

  /**
   * Creates a member with no address and the default priority.
   *
   * @param id the id
   * @return the member
   */
  public static Member of(String id) {
    return new Member(id, "", DEFAULT_PRIORITY);
  }
}
