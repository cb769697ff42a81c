package org.flotilla.raft.spi;

/**
 * The state a node must persist before it answers anyone (Raft Figure 2): its current term and the
 * candidate it voted for in that term. Stored as one atomic record, so that a crash can never leave
 * a new term with an old vote.
 *
 * @param term the current term, at least 0
 * @param votedFor the id voted for in {@code term}, or the empty string for none
 */
public record HardState(long term, String votedFor) {

  /** The state of a node that has never voted. */
  public static final HardState INITIAL = new HardState(0, "");

  /**
   * Creates the state, checking its fields.
   *
   * @param term the term
   * @param votedFor the vote, null taken as none
   */
  public HardState {
    if (term < 0) {
      throw new IllegalArgumentException("negative term " + term);
    }
    if (votedFor == null) {
      votedFor = "";
    }
  }

  /**
   * Tells whether the node voted in its current term.
   *
   * @return true if it did
   */
  public boolean hasVoted() {
    return !votedFor.isEmpty();
  }
}
