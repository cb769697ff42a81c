package org.flotilla.raft.examples;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.atomic.AtomicReferenceArray;

/**
 * What one server of a sharded cluster knows of every group: its voters, learners, leader and term,
 * as the servers holding it last reported them (each server's {@code GET /status}, polled about
 * once a second, and this server's own replicas), and which servers answered lately. Requests for a
 * group this server does not hold are routed with it ({@link #route}), and the leaders are spread
 * with it ({@link #plan}).
 *
 * <p>It is a cache, never needed for safety: a stale entry sends a request to a server that no
 * longer holds the group or no longer leads it, which answers 503 (retry) or forwards it once to
 * the leader it knows; a stale plan makes a leadership transfer that is refused or undone by the
 * next pass.
 *
 * <p>Which report wins: a higher term always; in the same term, the leader's own report over a
 * follower's (the leader knows the newest configuration), and a newer report over an older one from
 * the same kind of member.
 *
 * <p>Thread-safe: written by the server's admin thread only; read from any thread (each entry is
 * immutable, published through atomic arrays).
 */
final class ShardDirectory {

  /**
   * One group as a member reported it.
   *
   * @param voters the voters' ids, in configuration order (the first is the preferred leader)
   * @param learners the learners' ids
   * @param leader the leader the reporter knew, or null
   * @param term the reporter's term
   * @param fromLeader whether the reporter was the leader
   */
  record Entry(
      List<String> voters, List<String> learners, String leader, long term, boolean fromLeader) {}

  private final String self;
  private final List<String> servers;
  private final int replicas;
  private final long liveNanos;
  private final AtomicReferenceArray<Entry> entries;

  /** Per server (in {@code servers} order), when it last answered; 0 for never. */
  private final AtomicLongArray heard;

  /**
   * Creates an empty directory.
   *
   * @param self this server's id
   * @param servers every server's id, in {@code --members} order
   * @param shards the number of groups
   * @param replicas replicas per group, for the initial placement
   * @param liveNanos how recently a server must have answered to count as live
   */
  ShardDirectory(String self, List<String> servers, int shards, int replicas, long liveNanos) {
    this.self = self;
    this.servers = List.copyOf(servers);
    this.replicas = replicas;
    this.liveNanos = liveNanos;
    this.entries = new AtomicReferenceArray<>(shards);
    this.heard = new AtomicLongArray(servers.size());
  }

  /**
   * Returns the servers of a group's initial placement: {@code replicas} consecutive servers of the
   * {@code --members} order, starting at the group's number, wrapping around. So each server is the
   * first (preferred leader) of every N-th group, and holds about {@code K * R / N} groups.
   *
   * @param group the group's number
   * @param servers every server's id, in order
   * @param replicas replicas per group
   * @return the servers' ids, the first being the preferred leader
   */
  static List<String> placement(int group, List<String> servers, int replicas) {
    List<String> out = new ArrayList<>(replicas);
    for (int j = 0; j < replicas; j++) {
      out.add(servers.get((group + j) % servers.size()));
    }
    return out;
  }

  /** The number of groups. */
  int shards() {
    return entries.length();
  }

  /** Admin thread: records a report of a group, if it wins over the one held (class comment). */
  void report(int group, Entry e) {
    Entry cur = entries.get(group);
    if (cur == null
        || e.term() > cur.term()
        || (e.term() == cur.term() && (e.fromLeader() || !cur.fromLeader()))) {
      entries.set(group, e);
    }
  }

  /** Admin thread: records that a server answered at {@code nanos}. */
  void heard(String server, long nanos) {
    int i = servers.indexOf(server);
    if (i >= 0) {
      heard.set(i, nanos);
    }
  }

  /**
   * Admin thread: records that a server did not answer (unreachable, or an error): it is not live
   * from now until it answers again, rather than until the live window has passed.
   */
  void lost(String server) {
    int i = servers.indexOf(server);
    if (i >= 0 && !server.equals(self)) {
      heard.set(i, 0);
    }
  }

  /**
   * Returns the group's entry, or null if no server has reported it yet.
   *
   * @param group the group's number
   * @return the entry
   */
  Entry entry(int group) {
    return entries.get(group);
  }

  /**
   * Returns whether a server answered within the live window before {@code now}; this server is
   * always live.
   */
  boolean live(String server, long now) {
    if (server.equals(self)) {
      return true;
    }
    int i = servers.indexOf(server);
    long t = i < 0 ? 0 : heard.get(i);
    return t != 0 && now - t <= liveNanos;
  }

  /**
   * Returns the servers to send a request for a group to, best first: its leader if live, then its
   * live voters, then its other voters, then its initial placement. Never this server.
   *
   * @param group the group's number
   * @param now {@link System#nanoTime()}
   * @return the candidates, possibly empty
   */
  List<String> route(int group, long now) {
    Entry e = entries.get(group);
    List<String> out = new ArrayList<>();
    if (e != null) {
      if (e.leader() != null && live(e.leader(), now)) {
        out.add(e.leader());
      }
      for (String v : e.voters()) {
        if (!out.contains(v) && live(v, now)) {
          out.add(v);
        }
      }
      // Then the voters not heard from lately (this server may just have started, or its polls
      // are late): trying one that is down costs a refused connection.
      for (String v : e.voters()) {
        if (!out.contains(v)) {
          out.add(v);
        }
      }
    }
    for (String p : placement(group, servers, replicas)) {
      if (!out.contains(p)) {
        out.add(p);
      }
    }
    // Never this server: it holds no replica of the group (or it would serve it), whatever an old
    // report of its own says.
    out.remove(self);
    return out;
  }

  /**
   * Plans who should lead each group: every group's voters, in configuration order, are tried in
   * turn, and the first live one leading fewer than its share ({@code ceil(K / live servers)}) gets
   * it; if all have their share, the live voter with the fewest does. With every server live and
   * the initial placement, that is each group's first server: K/N groups each. The plan depends
   * only on the directory, so servers with the same view plan alike.
   *
   * @param now {@link System#nanoTime()}
   * @return group number to the planned leader, for the groups with a report and a live voter
   */
  Map<Integer, String> plan(long now) {
    List<String> live = servers.stream().filter(s -> live(s, now)).toList();
    int share = (entries.length() + live.size() - 1) / live.size();
    Map<String, Integer> count = new HashMap<>();
    Map<Integer, String> plan = new TreeMap<>();
    for (int g = 0; g < entries.length(); g++) {
      Entry e = entries.get(g);
      if (e == null) {
        continue;
      }
      String pick = null;
      for (String v : e.voters()) {
        if (live.contains(v) && count.getOrDefault(v, 0) < share) {
          pick = v;
          break;
        }
      }
      if (pick == null) {
        for (String v : e.voters()) {
          if (live.contains(v)
              && (pick == null || count.getOrDefault(v, 0) < count.getOrDefault(pick, 0))) {
            pick = v;
          }
        }
      }
      if (pick != null) {
        plan.put(g, pick);
        count.merge(pick, 1, Integer::sum);
      }
    }
    return plan;
  }
}
