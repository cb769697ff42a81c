package org.flotilla.raft.internal.runtime;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import org.flotilla.raft.message.CommandEnvelope;

/**
 * Client sessions for exactly-once commands (thesis §6.3).
 *
 * <p>Every command entry carries a {@link CommandEnvelope}. The leader writes its log time (see
 * below) into the envelope when it proposes the entry; that timestamp is what sessions expire by,
 * so every member expires the same sessions at the same log index whatever its own clock says.
 *
 * <p>The table keeps, per client, the last sequence number applied and its result. A command whose
 * sequence number was already applied is not applied again: the retry gets the first result. The
 * table is part of every snapshot.
 *
 * <p>A session opens with sequence number 1. A command of a client the table does not know, with a
 * higher sequence number, is refused and not applied: its session expired (or was evicted), so the
 * table can no longer tell a retry from a new command, and applying it could apply a command twice.
 * The table holds at most {@code maxSessions} clients. When it is full, a command that would open a
 * new session is refused and not applied ({@link Status#SESSIONS_FULL}), the same on every member
 * because the order is the log's. Sessions leave the table only by expiring: evicting a live one
 * would let a retry of its first command (sequence 1) open it again and apply that command twice.
 *
 * <p>The log time never comes from a member's wall clock directly: the runtime stamps commands with
 * a clock that starts, when a member becomes leader, at the highest log time it has seen and then
 * advances with the leader's monotonic clock. A leader whose wall clock runs ahead therefore cannot
 * expire every session at once; time between leaders is not counted, so sessions may live longer
 * than {@code timeoutMillis}, never shorter.
 *
 * <p>Not thread-safe; confined to the node's apply thread (the envelope codec is stateless and used
 * from any thread).
 */
public final class Sessions {

  /** The version of the session table's snapshot format. */
  static final int VERSION = 1;

  private static final int SNAPSHOT_MAGIC = 0x464C5353; // "FLSS"

  private final long timeoutMillis;
  private final int maxSessions;
  // insertion order = order of last use, oldest first (entries are re-inserted when used)
  private final LinkedHashMap<String, Session> table = new LinkedHashMap<>();
  private long logTime;

  private record Session(long sequence, ByteBuffer result, long lastUsed) {}

  /** What {@link #apply} did with a command. */
  enum Status {
    /** Applied now (a new command, or one outside any session). */
    APPLIED,
    /** A retry of the client's last applied command: not applied again, the first result. */
    DUPLICATE,
    /** Older than the client's last applied command: not applied, no result kept. */
    SUPERSEDED,
    /** The client has no session and the sequence number is not 1: not applied. */
    NO_SESSION,
    /** The command would open a session and the table is full: not applied. */
    SESSIONS_FULL
  }

  /** What {@link #apply} decided, and the result if there is one. */
  record Outcome(ByteBuffer result, Status status) {}

  Sessions(long timeoutMillis, int maxSessions) {
    this.timeoutMillis = timeoutMillis;
    this.maxSessions = maxSessions;
  }

  /**
   * Applies a command through the session table.
   *
   * @param e the decoded envelope
   * @param apply the state machine's apply, called only if the command is new
   * @return the result and what was done
   */
  Outcome apply(CommandEnvelope e, java.util.function.Function<ByteBuffer, ByteBuffer> apply) {
    logTime = Math.max(logTime, e.timestamp());
    String clientId = e.clientId().orElse(null);
    expire();
    if (clientId == null) {
      return new Outcome(apply.apply(e.command()), Status.APPLIED);
    }
    Session s = table.get(clientId);
    if (s == null && e.sequence() != 1) {
      return new Outcome(null, Status.NO_SESSION);
    }
    if (s == null && table.size() >= maxSessions) {
      // Invariant: a session leaves the table only by expiring, never to make room, so a retry of
      // a first command within sessionTimeout always finds its session (see the class comment).
      return new Outcome(null, Status.SESSIONS_FULL);
    }
    // Mutations.sessionsApplyDuplicates: the bug of applying a client's retry again
    if (s != null && e.sequence() <= s.sequence() && !Mutations.sessionsApplyDuplicates) {
      if (e.sequence() == s.sequence()) {
        return new Outcome(s.result() == null ? null : s.result().duplicate(), Status.DUPLICATE);
      }
      return new Outcome(null, Status.SUPERSEDED);
    }
    ByteBuffer result = apply.apply(e.command());
    ByteBuffer copy = null;
    if (result != null) {
      byte[] bytes = new byte[result.remaining()];
      result.duplicate().get(bytes);
      copy = ByteBuffer.wrap(bytes).asReadOnlyBuffer();
    }
    table.remove(clientId);
    table.put(clientId, new Session(e.sequence(), copy, logTime));
    return new Outcome(result, Status.APPLIED);
  }

  /** The highest command timestamp applied (or restored from a snapshot), in log milliseconds. */
  long logTime() {
    return logTime;
  }

  private void expire() {
    for (Iterator<Session> it = table.values().iterator(); it.hasNext(); ) {
      Session s = it.next();
      if (s.lastUsed() + timeoutMillis >= logTime) {
        return;
      }
      it.remove();
    }
  }

  int size() {
    return table.size();
  }

  void writeTo(DataOutputStream out) throws IOException {
    out.writeInt(SNAPSHOT_MAGIC);
    out.writeInt(VERSION);
    out.writeLong(logTime);
    out.writeInt(table.size());
    for (Map.Entry<String, Session> e : table.entrySet()) {
      out.writeUTF(e.getKey());
      out.writeLong(e.getValue().sequence());
      out.writeLong(e.getValue().lastUsed());
      ByteBuffer r = e.getValue().result();
      out.writeInt(r == null ? -1 : r.remaining());
      if (r != null) {
        byte[] bytes = new byte[r.remaining()];
        r.duplicate().get(bytes);
        out.write(bytes);
      }
    }
  }

  /** Returns a copy of the table for writing on another thread. */
  Sessions copy() {
    Sessions c = new Sessions(timeoutMillis, maxSessions);
    c.logTime = logTime;
    c.table.putAll(table);
    return c;
  }

  void readFrom(DataInputStream in) throws IOException {
    int magic = in.readInt();
    if (magic != SNAPSHOT_MAGIC) {
      throw new IOException("not a Flotilla snapshot: bad session table magic " + magic);
    }
    int version = in.readInt();
    if (version != VERSION) {
      throw new IOException("unknown session table version " + version);
    }
    table.clear();
    logTime = in.readLong();
    int n = in.readInt();
    if (n < 0) {
      throw new IOException("corrupt session table: " + n + " sessions");
    }
    for (int i = 0; i < n; i++) {
      String id = in.readUTF();
      long seq = in.readLong();
      long used = in.readLong();
      int len = in.readInt();
      ByteBuffer r = null;
      if (len >= 0) {
        byte[] bytes = new byte[len];
        in.readFully(bytes);
        r = ByteBuffer.wrap(bytes).asReadOnlyBuffer();
      }
      table.put(id, new Session(seq, r, used));
    }
  }
}
