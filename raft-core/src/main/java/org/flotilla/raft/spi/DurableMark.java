package org.flotilla.raft.spi;

/**
 * The last entry a log store has ever reported durable, as the store recorded it: a member may have
 * acknowledged every entry up to here to a leader, so a log that ends before it has lost entries
 * that other members may count on (a lost disk write, a torn or zeroed tail).
 *
 * <p>Compared by Raft's up-to-date order (§5.4.1): a log covers the mark if its last term is higher
 * than the mark's term, or equal with a last index at least the mark's index. A member whose log
 * does not cover its mark grants votes only to candidates whose logs cover it and does not
 * campaign, until a leader has brought its log back over the mark (Protocol-Aware Recovery,
 * Alagappan et al., FAST 2018).
 *
 * @param index the index of the entry, at least 0
 * @param term the term of the entry at {@code index}, at least 0
 */
public record DurableMark(long index, long term) {

  /** No record: a store that keeps no mark, or a new log. */
  public static final DurableMark NONE = new DurableMark(0, 0);

  /**
   * Creates the mark, checking its fields.
   *
   * @param index the index
   * @param term the term
   */
  public DurableMark {
    if (index < 0 || term < 0) {
      throw new IllegalArgumentException("negative durable mark " + index + "@" + term);
    }
  }

  /**
   * Tells whether a log whose last entry is {@code (lastIndex, lastTerm)} covers this mark in
   * Raft's up-to-date order.
   *
   * @param lastIndex the log's last index
   * @param lastTerm the term of the log's last entry
   * @return true if the log is at least as up to date as the mark
   */
  public boolean coveredBy(long lastIndex, long lastTerm) {
    return lastTerm > term || (lastTerm == term && lastIndex >= index);
  }

  /**
   * Returns the later of this mark and {@code (index, term)} in up-to-date order.
   *
   * @param index the index of a newly durable entry
   * @param term its term
   * @return the later mark
   */
  public DurableMark max(long index, long term) {
    return coveredBy(index, term) && (index != this.index || term != this.term)
        ? new DurableMark(index, term)
        : this;
  }
}
