package org.flotilla.raft.internal.core;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.flotilla.raft.cluster.Configuration;
import org.flotilla.raft.cluster.Member;
import org.flotilla.raft.message.EntryType;
import org.flotilla.raft.message.LogEntry;
import org.flotilla.raft.spi.LogReader;

/**
 * The configurations a member's log holds after the newest committed one, with that one first. A
 * configuration takes effect as soon as it is in the log (§6, thesis §4.1), so the last one is in
 * force; the older ones are kept until a newer one commits, because the members they name must
 * still be reachable (see {@link RaftCore#reachableMembers()}).
 *
 * <p>Owned by a {@link RaftCore} and confined to its driver's thread.
 */
final class ConfigHistory {

  private record ConfigAt(long index, Configuration configuration) {}

  // invariant: configs is not empty and sorted by index; configs.get(last) is in force and
  // configs.get(0) is the newest configuration known committed (or the snapshot's / bootstrap one)
  private final ArrayList<ConfigAt> configs = new ArrayList<>();
  // Bumped whenever configs changes, so the runtime can tell when reachableMembers() changed.
  private long version;

  ConfigHistory(long index, Configuration initial) {
    configs.add(new ConfigAt(index, initial));
  }

  /** Reads the configuration entries of the log after the snapshot, at start. */
  void recover(LogReader store, long snapshotIndex) {
    long from = Math.max(store.firstIndex(), snapshotIndex + 1);
    long last = store.lastIndex();
    while (from <= last) {
      List<LogEntry> batch = store.entries(from, last + 1, 4 << 20);
      for (LogEntry e : batch) {
        if (e.type() == EntryType.CONFIGURATION) {
          configs.add(new ConfigAt(e.index(), Configuration.decode(e.payload())));
        }
      }
      from += batch.size();
    }
  }

  /** The configuration in force: the newest in the log. */
  Configuration inForce() {
    return configs.get(configs.size() - 1).configuration();
  }

  /** The index of the configuration in force (0 for the bootstrap configuration). */
  long inForceIndex() {
    return configs.get(configs.size() - 1).index();
  }

  /** The oldest configuration kept: the newest one known committed. */
  Configuration committed() {
    return configs.get(0).configuration();
  }

  /** A number that changes whenever the list changes. */
  long version() {
    return version;
  }

  /** Every member of every configuration kept, with the newest address of each. */
  List<Member> members() {
    Map<String, Member> byId = new LinkedHashMap<>();
    for (int i = configs.size() - 1; i >= 0; i--) {
      for (Member m : configs.get(i).configuration().all()) {
        byId.putIfAbsent(m.id(), m);
      }
    }
    return List.copyOf(byId.values());
  }

  /**
   * Records entries just appended to the log: configurations at or after the first of them were
   * replaced (a follower's log truncated), and those among them take effect.
   *
   * @return true if the list changed
   */
  boolean appended(List<LogEntry> entries) {
    long first = entries.get(0).index();
    boolean changed = false;
    while (configs.size() > 1 && configs.get(configs.size() - 1).index() >= first) {
      configs.remove(configs.size() - 1);
      changed = true;
    }
    for (LogEntry e : entries) {
      if (e.type() == EntryType.CONFIGURATION) {
        configs.add(new ConfigAt(e.index(), Configuration.decode(e.payload())));
        changed = true;
      }
    }
    if (changed) {
      version++;
    }
    return changed;
  }

  /**
   * Drops configurations older than the newest committed one.
   *
   * @return true if any was dropped
   */
  boolean prune(long committed) {
    boolean pruned = false;
    while (configs.size() > 1 && configs.get(1).index() <= committed) {
      configs.remove(0);
      version++;
      pruned = true;
    }
    return pruned;
  }

  /** Replaces the list by a snapshot's configuration (§7: the log was reset to the snapshot). */
  void restore(long index, Configuration c) {
    configs.clear();
    configs.add(new ConfigAt(index, c));
    version++;
  }
}
