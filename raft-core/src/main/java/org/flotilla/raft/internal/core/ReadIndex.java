package org.flotilla.raft.internal.core;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import org.flotilla.raft.cluster.Configuration;
import org.flotilla.raft.message.ReadIndexRequest;
import org.flotilla.raft.message.ReadIndexResponse;

/**
 * A leader's linearizable reads (thesis §6.4): read indexes confirmed by heartbeat rounds that
 * concurrent requests share, and the lease that may replace a round (thesis §6.4.1).
 *
 * <p>A read gets the commit index at the time it arrives; it is answered once a quorum has
 * acknowledged a heartbeat round sent after it arrived (which proves this member still led when it
 * read the index), or at once if this member is the only voter or its lease holds. Rounds are
 * numbered; the send tick of each of the last {@value #ROUND_HISTORY} rounds is kept so that an
 * acknowledged round can extend the lease from the tick it was sent (never from when the answer
 * came back). Reads that arrive before the leader has committed an entry of its term wait for it
 * (thesis §6.4 step 1).
 *
 * <p>Owned by a {@link RaftCore} and confined to its driver's thread. Its state is meaningful only
 * while the member leads; every read still pending fails when the member's term or role changes.
 */
final class ReadIndex {

  /** How many heartbeat rounds' send ticks are remembered for leases. */
  static final int ROUND_HISTORY = 64;

  // invariant: rounds up to this one were sent before the leader last woke from quiescence and
  // give no lease (wake()); 0 when it never quiesced in this term
  private long leaseFloor;

  private record PendingRead(long round, long index, long context, String from) {}

  private final RaftCore core;
  private long round;
  private boolean roundSent = true;
  // The send ticks of the last ROUND_HISTORY rounds, by round mod ROUND_HISTORY; null until the
  // first round is sent: only a leader sends rounds, and on a host most replicas are followers (an
  // idle follower's 528 bytes saved). Read as zeros while null, as a fresh array would be.
  private long[] roundSentTick;
  // Sized for one read and grown as reads come: an idle group holds no 16-slot array.
  private final ArrayDeque<PendingRead> pendingReads = new ArrayDeque<>(1);
  private final ArrayList<PendingRead> readsAwaitingCommit = new ArrayList<>();

  ReadIndex(RaftCore core) {
    this.core = core;
  }

  /** Starts round numbering over, for a new leader. */
  void reset() {
    round = 0;
    roundSent = true;
    leaseFloor = 0;
  }

  /**
   * The leader wakes from quiescence: no round sent so far counts for a lease any more, since the
   * ticks not counted while quiesced leave its age unknown (see RaftCore.quiesced). Its answers
   * still confirm reads and count as heard.
   */
  void wake() {
    leaseFloor = round;
  }

  /**
   * Registers a read for {@code context}, asked by {@code from} (this member or a follower that
   * forwarded it). Leader only.
   */
  void request(long context, String from, boolean allowLease) {
    if (!core.committedInTerm()) {
      // thesis §6.4 step 1: the leader must first commit an entry of its term.
      readsAwaitingCommit.add(new PendingRead(0, 0, context, from));
      return;
    }
    long index = core.log.committed();
    // Mutant READ_INDEX_WITHOUT_ROUND answers without confirming leadership (thesis §6.4).
    if (isSingleVoter() || (allowLease && leaseValid()) || Mutations.READ_INDEX_WITHOUT_ROUND) {
      complete(new PendingRead(round, index, context, from));
      return;
    }
    if (roundSent) {
      round++;
      roundSent = false;
    }
    pendingReads.addLast(new PendingRead(round, index, context, from));
  }

  /**
   * Called when the leader has just committed the first entry of its term: the reads that waited
   * for it are registered now. Invariant (§6.4): a read index is served only once the leader has
   * committed an entry of its own term; {@link Replication} calls this only after checking that
   * {@link RaftCore#committedInTerm()} holds.
   */
  void committedInTerm() {
    for (PendingRead r : readsAwaitingCommit) {
      request(r.context(), r.from(), false);
    }
    readsAwaitingCommit.clear();
  }

  private boolean isSingleVoter() {
    Configuration c = core.configuration();
    return !c.isJoint() && c.voters().size() == 1 && c.isVoter(core.id);
  }

  /** Whether this leader's lease holds now (thesis §6.4.1). */
  boolean leaseValid() {
    // A transfer target elected through TimeoutNow ignores leases, so no lease holds while a
    // transfer is under way or within an election timeout of one.
    // A TimeoutNow stays valid at its target for the rest of the term, so none may have been
    // sent in this term.
    if (!core.options.checkQuorum() || core.replication.transferStarted()) {
      return false;
    }
    // A follower's vote refusal lasts at least T - 1 of its ticks after the heartbeat: one tick
    // of margin beyond the configured drift covers tick quantisation.
    // thesis §6.4.1 / §6.2: the lease is measured only from the send ticks of heartbeat rounds a
    // quorum acknowledged (Progress.leaseTick), never from the CheckQuorum schedule. A member's
    // leaseTick <= its lastHeardTick (the acknowledgement was heard no earlier than the round was
    // sent), so a valid lease implies quorumHeardTick() >= leaseStart > now - T: CheckQuorum never
    // steps down a leader whose lease holds (RaftCore.checkInvariants asserts it), and a member
    // that is no longer leader serves no lease read, so stepping down sooner can only end leases
    // sooner.
    if (Mutations.LEASE_WITHOUT_QUORUM) {
      return true; // Mutant: no quorum-acknowledged round needed (thesis §6.4.1).
    }
    long now = core.now;
    CoreOptions options = core.options;
    long oldestValid = now - (options.electionTimeoutTicks() - options.leaseDriftTicks()) + 2;
    long leaseStart =
        Quorum.committedValue(
            core.configuration(),
            m -> {
              if (m.equals(core.id)) {
                return now;
              }
              Progress p = core.replication.progress(m);
              return p == null ? Long.MIN_VALUE : p.leaseTick();
            });
    return leaseStart >= oldestValid;
  }

  /** Whether no read waits: none for a round, none for the term's first commit, no round due. */
  boolean idle() {
    return pendingReads.isEmpty() && readsAwaitingCommit.isEmpty() && roundSent;
  }

  /** Whether a read waits for a heartbeat round that has not been sent yet. */
  boolean roundPending() {
    return !roundSent;
  }

  /**
   * Starts a heartbeat round (a new one unless the current one has not been sent yet) and records
   * its send tick.
   *
   * @return the round number the heartbeats carry
   */
  long startRound() {
    if (roundSent) {
      round++;
    }
    roundSent = true;
    if (roundSentTick == null) {
      roundSentTick = new long[ROUND_HISTORY];
    }
    roundSentTick[(int) (round % ROUND_HISTORY)] = core.now;
    return round;
  }

  /** Records that member {@code p} acknowledged heartbeat round {@code acked}. */
  void acknowledged(Progress p, long acked) {
    if (acked <= round && round - acked < ROUND_HISTORY) {
      long sentTick;
      if (acked <= leaseFloor) {
        sentTick = Long.MIN_VALUE;
      } else {
        sentTick = roundSentTick == null ? 0 : roundSentTick[(int) (acked % ROUND_HISTORY)];
      }
      p.ackRound(acked, sentTick);
    }
  }

  /** Answers the reads whose round a quorum has acknowledged. */
  void release() {
    if (pendingReads.isEmpty()) {
      return;
    }
    long confirmed =
        Quorum.committedValue(
            core.configuration(),
            m -> {
              if (m.equals(core.id)) {
                return round;
              }
              Progress p = core.replication.progress(m);
              return p == null ? 0 : p.ackedRound();
            });
    while (!pendingReads.isEmpty() && pendingReads.peekFirst().round() <= confirmed) {
      complete(pendingReads.pollFirst());
    }
  }

  private void complete(PendingRead r) {
    if (r.from().equals(core.id)) {
      core.readStates.add(new ReadState(r.context(), r.index()));
    } else {
      core.send(new ReadIndexResponse(core.id, r.from(), core.term, r.context(), r.index(), true));
    }
  }

  /** Fails every pending read: this member's role or term changed. */
  void failAll() {
    List<PendingRead> failed = new ArrayList<>(pendingReads);
    failed.addAll(readsAwaitingCommit);
    pendingReads.clear();
    readsAwaitingCommit.clear();
    for (PendingRead r : failed) {
      if (r.from().equals(core.id)) {
        core.readStates.add(new ReadState(r.context(), ReadState.FAILED));
      } else {
        refuse(r.from(), r.context());
      }
    }
  }

  /** Refuses a follower's read request: this member does not lead. */
  void refuse(ReadIndexRequest rir) {
    refuse(rir.from(), rir.requestId());
  }

  private void refuse(String to, long context) {
    core.send(new ReadIndexResponse(core.id, to, core.term, context, 0, false));
  }

  /** Hands a leader's answer to a read this member forwarded to the driver. */
  void answered(ReadIndexResponse rir) {
    core.readStates.add(
        new ReadState(rir.requestId(), rir.success() ? rir.readIndex() : ReadState.FAILED));
  }
}
