package org.flotilla.raft.internal.core;

import java.util.ArrayDeque;

/**
 * The leader's view of one follower's (or learner's) log, and the flow control of what it sends
 * there (thesis §4.2.1 and etcd-raft's progress tracker).
 *
 * <ul>
 *   <li>{@code PROBE}: the leader does not know where the follower's log matches; it sends one
 *       AppendEntries and waits for the answer before sending again.
 *   <li>{@code REPLICATE}: the logs match up to {@code match}; the leader pipelines AppendEntries
 *       optimistically, up to a window of {@code maxInflight} messages.
 *   <li>{@code SNAPSHOT}: the follower needs entries the leader has compacted; a snapshot is being
 *       streamed and no AppendEntries are sent.
 * </ul>
 *
 * <p>Invariant: {@code 0 <= match < next}. Not thread-safe; confined to the core's thread.
 */
public final class Progress {

  /** The replication state of a follower. */
  public enum State {
    /** One message at a time until the match point is found. */
    PROBE,
    /** Pipelined replication. */
    REPLICATE,
    /** A snapshot is being sent. */
    SNAPSHOT
  }

  private final String id;
  private State state = State.PROBE;
  // invariant: match < next
  private long match;
  private long next;
  private boolean probeSent;
  private long pendingSnapshot;
  // thesis §6.2 CheckQuorum: the tick of the member's last response in the leader's term; until
  // the first one, the tick the leader began tracking it (its election, or the member's addition),
  // which gives every member one election timeout to answer.
  private long lastHeardTick;
  // invariant: true iff the member answered at least once in this term and lastHeardTick is
  // within the last election timeout, as of the leader's latest tick or response
  private boolean recentActive;
  // whether the member answered at all since this leader began tracking it
  private boolean heardInTerm;
  private long ackedRound;
  private long leaseTick = Long.MIN_VALUE;
  private long lastProgressTick;
  private final int maxInflight;
  // last index of each AppendEntries in flight, ascending
  // Sized for one append and grown as they go out (bounded by maxInflightAppends): an idle group's
  // leader holds no 16-slot array per follower.
  private final ArrayDeque<Long> inflight = new ArrayDeque<>(1);

  Progress(String id, long next, int maxInflight, long now) {
    this.id = id;
    this.next = next;
    this.maxInflight = maxInflight;
    this.lastProgressTick = now;
    this.lastHeardTick = now;
  }

  /**
   * Returns the follower's id.
   *
   * @return the id
   */
  public String id() {
    return id;
  }

  /**
   * Returns the replication state.
   *
   * @return the state
   */
  public State state() {
    return state;
  }

  /**
   * Returns the highest index known to be stored on the follower.
   *
   * @return the match index
   */
  public long match() {
    return match;
  }

  /**
   * Returns the next index to send.
   *
   * @return the next index
   */
  public long next() {
    return next;
  }

  /**
   * Tells whether the member answered within the last election timeout, as of the leader's latest
   * tick or message.
   *
   * @return true if it did
   */
  public boolean recentActive() {
    return recentActive;
  }

  /**
   * {@return the ticks since the member last answered in this term as of tick {@code now}, or -1 if
   * it has not answered}
   *
   * @param now the leader's current tick
   */
  public long ticksSinceHeard(long now) {
    return heardInTerm ? now - lastHeardTick : -1;
  }

  /** Records an answer from the member at tick {@code now}. */
  void heard(long now) {
    heardInTerm = true;
    lastHeardTick = now;
    recentActive = true;
  }

  /**
   * Starts the member's CheckQuorum window over at {@code now} and forgets the lease its
   * acknowledgements gave, for a leader waking from quiescence: the ticks it did not count while
   * quiesced say nothing of how long ago the member answered, so no round sent before counts for a
   * lease, and the member has one election timeout from now to answer again.
   */
  void restartWindow(long now) {
    lastHeardTick = now;
    leaseTick = Long.MIN_VALUE;
  }

  /**
   * Returns the tick of the member's last answer in this term, or of when the leader began tracking
   * it if it has not answered yet.
   */
  long lastHeardTick() {
    return lastHeardTick;
  }

  /** Clears {@link #recentActive()} once {@code window} ticks have passed since the last answer. */
  void expireActivity(long now, int window) {
    if (lastHeardTick <= now - window) {
      recentActive = false;
    }
  }

  long ackedRound() {
    return ackedRound;
  }

  long leaseTick() {
    return leaseTick;
  }

  void ackRound(long round, long sentTick) {
    if (round > ackedRound) {
      ackedRound = round;
    }
    if (sentTick > leaseTick) {
      leaseTick = sentTick;
    }
  }

  long pendingSnapshot() {
    return pendingSnapshot;
  }

  long lastProgressTick() {
    return lastProgressTick;
  }

  /** Tells whether the leader may send an AppendEntries now. */
  boolean canSend() {
    return switch (state) {
      case PROBE -> !probeSent;
      case REPLICATE -> inflight.size() < maxInflight;
      case SNAPSHOT -> false;
    };
  }

  /** Records an AppendEntries whose last index is {@code last}. */
  void sent(long last, boolean hadEntries, long now) {
    switch (state) {
      case PROBE -> probeSent = true;
      case REPLICATE -> {
        if (hadEntries) {
          if (inflight.isEmpty()) {
            lastProgressTick = now;
          }
          inflight.addLast(last);
          next = last + 1;
        }
      }
      case SNAPSHOT -> throw new IllegalStateException("append sent to " + id + " in snapshot");
    }
  }

  /** Allows the next probe (after a heartbeat answer). */
  void resumeProbe() {
    probeSent = false;
  }

  /**
   * Records a successful answer up to {@code index}.
   *
   * @return true if the match index advanced
   */
  boolean maybeUpdate(long index, long now) {
    boolean updated = false;
    if (index > match) {
      match = index;
      updated = true;
      lastProgressTick = now;
    }
    if (next < index + 1) {
      next = index + 1;
    }
    while (!inflight.isEmpty() && inflight.peekFirst() <= index) {
      inflight.pollFirst();
    }
    probeSent = false;
    return updated;
  }

  /**
   * Handles a rejection of the AppendEntries at {@code rejected}, moving {@code next} back to
   * {@code hint} (never below {@code match + 1}).
   *
   * @return false if the rejection is stale and was ignored
   */
  boolean maybeDecrement(long rejected, long hint) {
    if (state != State.SNAPSHOT && rejected <= match) {
      // The follower no longer holds entries it acknowledged: its disk lost a write it had
      // reported durable (found at a restart), or this is a reordered rejection older than its
      // acknowledgements. Either way what it holds below the hint is a prefix of what matched (a
      // log loses only a tail: corruption elsewhere stops the member), so the match drops to there
      // and replication starts over from probing. Lowering match is always safe: it only delays
      // commitment; keeping it would never re-send the lost entries.
      match = Math.max(0, Math.min(match, Math.min(hint, rejected) - 1));
      becomeProbe();
      return true;
    }
    if (state == State.REPLICATE) {
      becomeProbe();
      next = Math.max(match + 1, Math.min(hint, rejected));
      return true;
    }
    if (state == State.SNAPSHOT) {
      return false;
    }
    // PROBE: only the answer to the probe in flight counts.
    if (next - 1 != rejected) {
      return false;
    }
    next = Math.max(match + 1, Math.min(hint, rejected));
    probeSent = false;
    return true;
  }

  void becomeProbe() {
    if (state == State.SNAPSHOT) {
      next = Math.max(match + 1, pendingSnapshot + 1);
      pendingSnapshot = 0;
    } else {
      next = match + 1;
    }
    state = State.PROBE;
    probeSent = false;
    inflight.clear();
  }

  void becomeReplicate() {
    state = State.REPLICATE;
    next = match + 1;
    probeSent = false;
    inflight.clear();
  }

  void becomeSnapshot(long snapshotIndex, long now) {
    state = State.SNAPSHOT;
    pendingSnapshot = snapshotIndex;
    lastProgressTick = now;
    inflight.clear();
  }

  /** Records that a snapshot transfer is still making progress. */
  void snapshotProgress(long now) {
    lastProgressTick = now;
  }

  int inflightCount() {
    return inflight.size();
  }

  @Override
  public String toString() {
    return id
        + "{"
        + state
        + " match="
        + match
        + " next="
        + next
        + " inflight="
        + inflight.size()
        + "}";
  }
}
