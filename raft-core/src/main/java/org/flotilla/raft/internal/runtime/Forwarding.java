package org.flotilla.raft.internal.runtime;

import java.nio.ByteBuffer;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import org.flotilla.raft.CommandRejectedException;
import org.flotilla.raft.NodeStoppedException;
import org.flotilla.raft.NotLeaderException;
import org.flotilla.raft.OutcomeUnknownException;
import org.flotilla.raft.OverloadedException;
import org.flotilla.raft.Result;
import org.flotilla.raft.cluster.Role;
import org.flotilla.raft.internal.runtime.Commands.PendingCommand;
import org.flotilla.raft.message.CommandEnvelope;
import org.flotilla.raft.message.ForwardRequest;
import org.flotilla.raft.message.ForwardResponse;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Commands forwarded to the leader ({@code RaftOptions.forwardToLeader}), both ways: a follower
 * sends a {@link ForwardRequest} and completes the caller's future from the leader's {@link
 * ForwardResponse} once the entry is applied locally; the leader proposes a follower's request and
 * answers once it was applied there.
 *
 * <p>Threading: every field and method is confined to the node's event loop.
 */
final class Forwarding {

  private static final Logger LOG = LoggerFactory.getLogger(Forwarding.class);

  /** How many followers' recent forwarded request ids a member remembers (the least recent go). */
  private static final int MAX_FORWARDING_FOLLOWERS = 256;

  /** A command this follower forwarded to the leader, awaiting its answer. */
  private record Forwarded(PendingCommand command, String leader, long tick) {}

  private final NodeRuntime node;
  // commands forwarded to the leader, by request id
  private final Map<Long, Forwarded> forwarded = new HashMap<>();
  // The high 32 bits are drawn at each start, so that a restarted member's ids differ from those of
  // its earlier life, which a leader may still remember as seen.
  private long nextForwardId = 1;
  // forwarded request ids recently seen, per follower (LRU over followers)
  private final Map<String, ForwardWindow> forwardSeen =
      new LinkedHashMap<>(16, 0.75f, true) {
        private static final long serialVersionUID = 1L;

        @Override
        protected boolean removeEldestEntry(Map.Entry<String, ForwardWindow> eldest) {
          return size() > MAX_FORWARDING_FOLLOWERS;
        }
      };

  Forwarding(NodeRuntime node) {
    this.node = node;
  }

  /** Starts a life of the node: request ids from now on carry {@code epoch} in their high bits. */
  void start(int epoch) {
    nextForwardId = ((long) epoch << 32) + 1;
  }

  /** A follower forwards a command to the leader it knows. */
  void forward(PendingCommand p, ByteBuffer payload, String leader, long tick) {
    long requestId = nextForwardId++;
    forwarded.put(requestId, new Forwarded(p, leader, tick));
    node.send(
        new ForwardRequest(
            node.id, leader, node.core.term(), requestId, payload.asReadOnlyBuffer()));
  }

  /**
   * The forwarded request ids one follower sent recently: the last {@link #SIZE} of them, so that a
   * copy of a request the network delivers twice is recognised.
   */
  private static final class ForwardWindow {
    static final int SIZE = 1024;
    private final LinkedHashSet<Long> ids = new LinkedHashSet<>();

    /** Records an id; returns false if it was seen already. */
    boolean firstSight(long requestId) {
      if (!ids.add(requestId)) {
        return false;
      }
      if (ids.size() > SIZE) {
        Iterator<Long> oldest = ids.iterator();
        oldest.next();
        oldest.remove();
      }
      return true;
    }
  }

  /**
   * The leader proposes a follower's forwarded command and answers once it was applied here.
   *
   * <p>Invariant: a request is proposed and answered at most once. A copy of it (a network may
   * deliver a message twice) is dropped unanswered: proposing it again would apply the command
   * twice, and refusing it (when overloaded, or no longer leader) could reach the follower before
   * the first copy's answer and tell it, wrongly, that the command was not applied.
   */
  void onRequest(ForwardRequest r) {
    if (!forwardSeen
        .computeIfAbsent(r.from(), f -> new ForwardWindow())
        .firstSight(r.requestId())) {
      LOG.debug(
          "{}: dropped a copy of forwarded request {} from {}", node.id, r.requestId(), r.from());
      return;
    }
    ByteBuffer payload = ByteBuffer.allocate(r.payload().remaining());
    payload.put(r.payload().duplicate()).flip();
    PendingCommand p = new PendingCommand(new CompletableFuture<>(), payload.remaining());
    CompletableFuture<?> unused =
        p.future.whenComplete(
            (result, error) -> {
              // p.term was set on the loop before the entry could apply; read it there too.
              if (!node.post(() -> node.send(response(r, p.term, result, error)))) {
                LOG.debug(
                    "{}: loop queue full; {} will time out its forwarded command",
                    node.id,
                    r.from());
              }
            });
    if (node.core.role() != Role.LEADER) {
      node.completeExceptionally(p.future, node.notLeader());
      return;
    }
    try {
      // A malformed envelope would stop every member's apply thread: refuse it here.
      CommandEnvelope.decode(payload);
    } catch (RuntimeException e) {
      node.completeExceptionally(
          p.future,
          new CommandRejectedException("malformed forwarded command from " + r.from() + ": " + e));
      return;
    }
    if (payload.remaining() > node.options.maxEntryBytes()) {
      // The follower checked against its own limit; this leader's may be lower.
      node.completeExceptionally(
          p.future,
          node.commands.tooLarge(
              "a command forwarded by " + r.from() + " (" + payload.remaining() + " bytes)",
              payload.remaining()));
      return;
    }
    if (node.commands.reserve(payload.remaining(), p.future) != null) {
      node.commands.propose(p, payload);
    }
  }

  private ForwardResponse response(
      ForwardRequest r, long entryTerm, Result result, Throwable error) {
    long term = node.core.term();
    if (error == null) {
      return new ForwardResponse(
          node.id,
          r.from(),
          term,
          r.requestId(),
          ForwardResponse.Status.APPLIED,
          result.index(),
          entryTerm,
          result.value(),
          "",
          null);
    }
    ForwardResponse.Status status =
        error instanceof NotLeaderException
            ? ForwardResponse.Status.NOT_LEADER
            : error instanceof OverloadedException
                ? ForwardResponse.Status.OVERLOADED
                : error instanceof CommandRejectedException
                    ? ForwardResponse.Status.REJECTED
                    : ForwardResponse.Status.UNKNOWN;
    String why = error.getMessage() == null ? error.toString() : error.getMessage();
    CommandRejectedException.Reason rejection =
        status == ForwardResponse.Status.REJECTED
            ? ((CommandRejectedException) error).reason()
            : null;
    return new ForwardResponse(
        node.id, r.from(), term, r.requestId(), status, 0, 0, null, why, rejection);
  }

  /** The follower completes a forwarded command as a local one: once applied here. */
  void onResponse(ForwardResponse r) {
    Forwarded fw = forwarded.remove(r.requestId());
    if (fw == null) {
      return;
    }
    PendingCommand p = fw.command();
    String via = "forwarded to " + r.from() + ": ";
    switch (r.status()) {
      case APPLIED -> {
        p.term = r.entryTerm();
        node.commands.chain(r.index(), p);
        // Applied here already? Then the apply thread will not see it: settle the chain now.
        if (node.applier.appliedIndex() >= r.index() && node.commands.remove(r.index(), p)) {
          node.commands.settle(p, r.index(), r.entryTerm(), r.result(), Sessions.Status.APPLIED);
        }
      }
      case NOT_LEADER -> node.completeExceptionally(p.future, node.notLeader());
      case OVERLOADED ->
          node.completeExceptionally(p.future, new OverloadedException(via + r.error()));
      case REJECTED ->
          node.completeExceptionally(
              p.future, new CommandRejectedException(r.rejection(), via + r.error()));
      case UNKNOWN ->
          node.completeExceptionally(
              p.future, new OutcomeUnknownException(via + "outcome unknown: " + r.error()));
    }
  }

  /** Whether no forwarded command waits for the leader's answer (event loop). */
  boolean idle() {
    return forwarded.isEmpty();
  }

  /** A forwarded command without an answer for ten election timeouts has an unknown outcome. */
  void expire(long ticks) {
    long limit = 10L * Ticks.election(node.options);
    for (Iterator<Forwarded> it = forwarded.values().iterator(); it.hasNext(); ) {
      Forwarded fw = it.next();
      if (ticks - fw.tick() > limit) {
        it.remove();
        node.completeExceptionally(
            fw.command().future,
            new OutcomeUnknownException(
                node.id
                    + ": no answer from "
                    + fw.leader()
                    + " to a forwarded command within ten election timeouts; its outcome is"
                    + " unknown"));
      }
    }
  }

  /** The node stopped: every forwarded command still waiting fails with the reason. */
  void failAll(NodeStoppedException reason) {
    for (Forwarded fw : forwarded.values()) {
      node.completeExceptionally(fw.command().future, reason);
    }
    forwarded.clear();
  }
}
