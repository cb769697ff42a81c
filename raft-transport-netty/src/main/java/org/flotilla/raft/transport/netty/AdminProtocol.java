package org.flotilla.raft.transport.netty;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import org.flotilla.raft.CommandRejectedException;
import org.flotilla.raft.NodeStatus;
import org.flotilla.raft.NodeStoppedException;
import org.flotilla.raft.NotLeaderException;
import org.flotilla.raft.OutcomeUnknownException;
import org.flotilla.raft.OverloadedException;
import org.flotilla.raft.RaftException;
import org.flotilla.raft.RaftNode;
import org.flotilla.raft.Result;
import org.flotilla.raft.cluster.Member;
import org.flotilla.raft.cluster.Role;
import org.flotilla.raft.transport.netty.proto.Wire;

/**
 * The administrative requests an operator's tool sends on an admin connection (see {@code
 * Hello.admin} in wire.proto): serving them on a member, and the conversions both ends share.
 *
 * <p>Each request becomes one call of the node's public API ({@link RaftNode#status()}, {@link
 * RaftNode#addLearner}, {@link RaftNode#promote}, {@link RaftNode#removeMember}, {@link
 * RaftNode#transferLeadership}, {@link RaftNode#takeSnapshot()}), so an admin request has exactly
 * the semantics, checks and failures of that call; each failure travels as a code that the client
 * turns back into the same exception type. Stateless; callable from any thread.
 */
final class AdminProtocol {

  static final String NOT_LEADER = "NOT_LEADER";
  static final String REJECTED = "REJECTED";
  static final String OVERLOADED = "OVERLOADED";
  static final String STOPPED = "STOPPED";
  static final String OUTCOME_UNKNOWN = "OUTCOME_UNKNOWN";
  static final String INVALID = "INVALID";

  private AdminProtocol() {}

  /**
   * Serves one request on {@code node}.
   *
   * @return completed with the response, never exceptionally
   */
  static CompletableFuture<Wire.AdminResponse> serve(RaftNode node, Wire.AdminRequest r) {
    long id = r.getRequestId();
    CompletableFuture<Long> op;
    try {
      if (r.getOp() == Wire.AdminRequest.Op.STATUS) {
        return CompletableFuture.completedFuture(
            Wire.AdminResponse.newBuilder()
                .setRequestId(id)
                .setOk(true)
                .setStatus(toWire(node.status()))
                .build());
      }
      op =
          switch (r.getOp()) {
            case ADD_LEARNER -> {
              if (!r.hasMember()) {
                throw new IllegalArgumentException("ADD_LEARNER needs a member");
              }
              Wire.Member m = r.getMember();
              yield node.addLearner(new Member(m.getId(), m.getAddress(), m.getPriority()))
                  .thenApply(Result::index);
            }
            case PROMOTE -> node.promote(target(r)).thenApply(Result::index);
            case REMOVE -> node.removeMember(target(r)).thenApply(Result::index);
            case TRANSFER_LEADER -> node.transferLeadership(target(r)).thenApply(v -> 0L);
            case SNAPSHOT -> node.takeSnapshot();
            case STATUS, UNRECOGNIZED ->
                throw new IllegalArgumentException("unknown admin operation " + r.getOpValue());
          };
    } catch (RuntimeException e) {
      return CompletableFuture.completedFuture(failure(id, e));
    }
    return op.handle(
        (index, e) ->
            e != null
                ? failure(id, e)
                : Wire.AdminResponse.newBuilder()
                    .setRequestId(id)
                    .setOk(true)
                    .setIndex(index)
                    .build());
  }

  private static String target(Wire.AdminRequest r) {
    if (r.getTarget().isEmpty()) {
      throw new IllegalArgumentException(r.getOp() + " needs a target member id");
    }
    return r.getTarget();
  }

  /** The response for a failed request: the exception's kind as a code, and its message. */
  static Wire.AdminResponse failure(long requestId, Throwable failure) {
    Throwable e =
        failure instanceof CompletionException c && c.getCause() != null ? c.getCause() : failure;
    String code;
    Wire.AdminResponse.Builder b = Wire.AdminResponse.newBuilder().setRequestId(requestId);
    if (e instanceof NotLeaderException nle) {
      code = NOT_LEADER;
      nle.leader().ifPresent(l -> b.setLeader(WireCodec.toWire(l)));
    } else if (e instanceof OutcomeUnknownException
        || (e instanceof NodeStoppedException s && s.outcomeUnknown())) {
      code = OUTCOME_UNKNOWN;
    } else if (e instanceof NodeStoppedException) {
      code = STOPPED;
    } else if (e instanceof OverloadedException) {
      code = OVERLOADED;
    } else if (e instanceof IllegalArgumentException) {
      code = INVALID;
    } else {
      code = REJECTED;
    }
    return b.setOk(false)
        .setError(code)
        .setMessage(e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage())
        .build();
  }

  /**
   * The exception a failed response stands for, of the type the member's call failed with.
   *
   * @param member the id of the member that answered
   */
  static RuntimeException toException(String member, Wire.AdminResponse r) {
    String message = member + ": " + r.getMessage();
    return switch (r.getError()) {
      case NOT_LEADER -> {
        Member leader = null;
        if (r.hasLeader()) {
          leader = WireCodec.members(List.of(r.getLeader())).get(0);
        }
        yield new NotLeaderException(member, leader);
      }
      case OUTCOME_UNKNOWN -> new OutcomeUnknownException(message);
      case STOPPED -> new NodeStoppedException(message, null, false);
      case OVERLOADED -> new OverloadedException(message);
      case INVALID -> new IllegalArgumentException(message);
      case REJECTED -> new CommandRejectedException(message);
      default -> new RaftException(message + " (" + r.getError() + ")");
    };
  }

  // ---------------------------------------------------------------- status

  static Wire.NodeStatus toWire(NodeStatus s) {
    Wire.NodeStatus.Builder b =
        Wire.NodeStatus.newBuilder()
            .setId(s.id())
            .setRole(s.role().name())
            .setTerm(s.term())
            .setLeader(s.leader().orElse(""))
            .setCommitIndex(s.commitIndex())
            .setAppliedIndex(s.appliedIndex())
            .setLastIndex(s.lastIndex())
            .setSnapshotIndex(s.snapshotIndex())
            .setConfiguration(WireCodec.toWire(s.configuration()));
    for (NodeStatus.PeerStatus p : s.peers()) {
      b.addPeers(
          Wire.PeerStatus.newBuilder()
              .setId(p.id())
              .setVoter(p.voter())
              .setMatchIndex(p.matchIndex())
              .setNextIndex(p.nextIndex())
              .setState(p.state())
              .setRecentlyActive(p.recentlyActive())
              .setLastContactMillis(p.lastContactMillis()));
    }
    for (NodeStatus.SnapshotTransfer t : s.snapshotTransfers()) {
      b.addSnapshotTransfers(
          Wire.SnapshotTransfer.newBuilder()
              .setPeer(t.peer())
              .setSending(t.sending())
              .setSnapshotIndex(t.snapshotIndex())
              .setBytesDone(t.bytesDone())
              .setBytesTotal(t.bytesTotal()));
    }
    s.failure()
        .ifPresent(
            f ->
                b.setFailureReason(f.reason())
                    .setFailureIndex(f.index())
                    .setFailureCause(String.valueOf(f.cause())));
    return b.build();
  }

  /**
   * A status from the wire. A failure's cause arrives as text: it becomes a {@link RaftException}
   * with that text as its message.
   *
   * @throws IllegalArgumentException if a field is invalid (an unknown role, a bad member)
   */
  static NodeStatus toRecord(Wire.NodeStatus w) {
    List<NodeStatus.PeerStatus> peers = new ArrayList<>();
    for (Wire.PeerStatus p : w.getPeersList()) {
      peers.add(
          new NodeStatus.PeerStatus(
              p.getId(),
              p.getVoter(),
              p.getMatchIndex(),
              p.getNextIndex(),
              p.getState(),
              p.getRecentlyActive(),
              p.getLastContactMillis()));
    }
    List<NodeStatus.SnapshotTransfer> transfers = new ArrayList<>();
    for (Wire.SnapshotTransfer t : w.getSnapshotTransfersList()) {
      transfers.add(
          new NodeStatus.SnapshotTransfer(
              t.getPeer(),
              t.getSending(),
              t.getSnapshotIndex(),
              t.getBytesDone(),
              t.getBytesTotal()));
    }
    Optional<NodeStatus.Failure> failure =
        w.getFailureReason().isEmpty()
            ? Optional.empty()
            : Optional.of(
                new NodeStatus.Failure(
                    w.getFailureReason(),
                    w.getFailureIndex(),
                    new RaftException(w.getFailureCause())));
    return new NodeStatus(
        w.getId(),
        Role.valueOf(w.getRole()),
        w.getTerm(),
        w.getLeader().isEmpty() ? Optional.empty() : Optional.of(w.getLeader()),
        w.getCommitIndex(),
        w.getAppliedIndex(),
        w.getLastIndex(),
        w.getSnapshotIndex(),
        WireCodec.toRecord(w.getConfiguration()),
        peers,
        transfers,
        failure);
  }
}
