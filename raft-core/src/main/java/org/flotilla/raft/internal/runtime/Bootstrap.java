package org.flotilla.raft.internal.runtime;

import java.io.IOException;
import java.io.InputStream;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.function.Supplier;
import java.util.stream.Collectors;
import org.flotilla.raft.RaftNode;
import org.flotilla.raft.cluster.Configuration;
import org.flotilla.raft.cluster.Member;
import org.flotilla.raft.spi.HardState;
import org.flotilla.raft.spi.LogStore;
import org.flotilla.raft.spi.MetaStore;
import org.flotilla.raft.spi.SnapshotMeta;
import org.flotilla.raft.spi.SnapshotStore;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * How a member was told to start, from its builder: as one of a new group's initial members ({@link
 * RaftNode.Builder#bootstrap}), as a member to be added to a running group ({@link
 * RaftNode.Builder#join()}), or neither (a restart that uses what it stored). {@link #resolve}
 * turns that and the member's metadata into the configuration it starts from, and stores it before
 * the member takes part, so that a later start cannot run with another list.
 *
 * <p>The rules (docs/operations.md, "Bootstrapping a group"):
 *
 * <ul>
 *   <li>A stored initial configuration is used. A builder list that differs from it is refused,
 *       naming both; {@code join()} or no list uses it.
 *   <li>A new member (empty storage, nothing stored) stores the builder's list, or {@link
 *       Configuration#EMPTY} for {@code join()}; with neither it is refused.
 *   <li>A member that has run but stores nothing (metadata written before the initial configuration
 *       was stored) takes the builder's list once and stores it, with a warning; with {@code
 *       join()} or no list it is refused, since what it started with is unknown.
 *   <li>A meta store that keeps no initial configuration (its {@link
 *       MetaStore#loadInitialConfiguration()} is unsupported) gets the old behaviour: the builder's
 *       choice on every start, with a warning.
 * </ul>
 *
 * @param given the initial voters and learners the builder gives, or null for none
 * @param join whether the builder asked to join a running group
 */
public record Bootstrap(Configuration given, boolean join) {

  private static final Logger LOG = LoggerFactory.getLogger(Bootstrap.class);

  /**
   * Returns the builder's choice.
   *
   * @param voters the initial voters, or null if none were given
   * @param learners the initial learners
   * @param join whether the member joins a running group
   * @return the choice
   */
  static Bootstrap of(List<Member> voters, List<Member> learners, boolean join) {
    return new Bootstrap(voters == null ? null : Configuration.of(voters, learners), join);
  }

  /**
   * Returns the configuration this member starts from, storing it first if its metadata holds none.
   * Called once, at start, before the member sends or answers anything.
   *
   * @param who the member's name in messages ({@code group/id})
   * @param meta the member's metadata
   * @param hasRun whether the member has run before (a term, log entries or a snapshot)
   * @param saving asked once if it stores the configuration: counts the save and returns what to
   *     run once it is durable (perhaps at once, perhaps on the store's thread); the caller sends
   *     nothing until then
   * @return the initial configuration, {@link Configuration#EMPTY} for a member that joins
   * @throws IllegalStateException if the builder's choice contradicts what is stored, or nothing
   *     says what to start from
   */
  Configuration resolve(String who, MetaStore meta, boolean hasRun, Supplier<Runnable> saving) {
    Optional<Configuration> stored;
    try {
      stored = meta.loadInitialConfiguration();
    } catch (UnsupportedOperationException e) {
      Configuration c = choice();
      if (c == null) {
        throw new IllegalStateException(
            who
                + " cannot start: it was given no configuration (bootstrap or join), and its meta"
                + " store "
                + meta.getClass().getName()
                + " keeps none");
      }
      LOG.warn(
          "{}: the meta store {} does not store the initial configuration: this member starts"
              + " from the one it is given on every start ({}), so a restart with another list"
              + " would run with that list",
          who,
          meta.getClass().getName(),
          describe(c));
      return c;
    }
    if (stored.isPresent()) {
      Configuration s = stored.get();
      if (given != null && !sameMembers(given, s)) {
        throw new IllegalStateException(mismatch(who, s));
      }
      return s;
    }
    Configuration c = choice();
    if (hasRun) {
      if (given == null) {
        throw new IllegalStateException(
            who
                + " cannot start: it has run before, but its metadata holds no initial"
                + " configuration (written by a version that did not store one), so "
                + (join ? "join()" : "a start without members")
                + " cannot tell what it started with. Start it once with the list it was first"
                + " started with (bootstrap or members); that list is then stored");
      }
      LOG.warn(
          "{}: has run before without a stored initial configuration (metadata written by a"
              + " version that did not store one); storing the one it is given now, {}: from now"
              + " on it refuses any other",
          who,
          describe(c));
    } else if (c == null) {
      throw new IllegalStateException(
          who
              + " cannot start: its storage is empty and it was given no configuration: use"
              + " bootstrap(voters) for a member of a new group, or join() for a member to be"
              + " added to a running group");
    }
    meta.saveInitialConfigurationAsync(c, saving.get());
    return c;
  }

  /**
   * Stores the initial configuration of a member seeded from a backup, refusing one that holds
   * another ({@link RaftNode#restoreFromBackup}); does nothing with a store that keeps none.
   *
   * @param meta the member's metadata
   * @param configuration the configuration to store
   * @throws IllegalStateException if the metadata holds another initial configuration
   */
  public static void seed(MetaStore meta, Configuration configuration) {
    Optional<Configuration> stored;
    try {
      stored = meta.loadInitialConfiguration();
    } catch (UnsupportedOperationException e) {
      return;
    }
    if (stored.isPresent() && !sameMembers(stored.get(), configuration)) {
      throw new IllegalStateException(
          "cannot restore into a member that was started with "
              + describe(stored.get())
              + ", not "
              + describe(configuration));
    }
    meta.saveInitialConfiguration(configuration);
  }

  /** The builder's list, EMPTY for join(), or null for neither. */
  private Configuration choice() {
    return given != null ? given : join ? Configuration.EMPTY : null;
  }

  private String mismatch(String who, Configuration stored) {
    if (stored.isEmpty()) {
      return who
          + " cannot start: it joined a running group (it was first started with join(), and has"
          + " no initial configuration of its own), but it is now given "
          + describe(given)
          + ". Start it with join() or without members; membership changes go through the"
          + " leader";
    }
    return who
        + " cannot start: it was first started with "
        + describe(stored)
        + " (stored in its metadata), but it is now given "
        + describe(given)
        + ". A member's initial configuration never changes: start it with the same list, or"
        + " without members to use the stored one; membership changes go through the leader"
        + " (addMember, removeMember)";
  }

  /** Whether two simple configurations have the same voters and learners, in any order. */
  private static boolean sameMembers(Configuration a, Configuration b) {
    return Set.copyOf(a.voters()).equals(Set.copyOf(b.voters()))
        && Set.copyOf(a.learners()).equals(Set.copyOf(b.learners()));
  }

  /** Names the voters and learners with their addresses (and priorities other than the default). */
  static String describe(Configuration c) {
    if (c.isEmpty()) {
      return "no configuration (join)";
    }
    String s = "voters " + members(c.voters());
    return c.learners().isEmpty() ? s : s + " and learners " + members(c.learners());
  }

  private static String members(List<Member> members) {
    return members.stream()
        .map(
            m ->
                m.id()
                    + (m.address().isEmpty() ? "" : "@" + m.address())
                    + (m.priority() == Member.DEFAULT_PRIORITY
                        ? ""
                        : "(priority " + m.priority() + ")"))
        .collect(Collectors.joining(", ", "[", "]"));
  }

  /**
   * Seeds the empty storage of one member of a new group from a backup: see {@link
   * org.flotilla.raft.RaftNode#restoreFromBackup}.
   *
   * @param backup the snapshot to start from
   * @param voters the voters of the new group
   * @param log the member's log, which must be empty
   * @param meta the member's term and vote, which must be unset
   * @param snapshots the member's snapshot store, which must be empty
   * @return what the seeded snapshot covers
   * @throws IOException if the backup cannot be read or does not match its checksum
   */
  public static SnapshotMeta restoreFromBackup(
      SnapshotStore.Stored backup,
      List<Member> voters,
      LogStore log,
      MetaStore meta,
      SnapshotStore snapshots)
      throws IOException {
    SnapshotMeta source = backup.meta();
    Configuration configuration = Configuration.ofVoters(voters);
    if (log.lastIndex() != 0 || log.baseIndex() != 0) {
      throw new IllegalStateException(
          "cannot restore into a log that is not empty (entries ("
              + log.baseIndex()
              + ", "
              + log.lastIndex()
              + "]): a backup seeds only a member that has never run");
    }
    HardState hs = meta.load();
    if (hs.hasVoted() || hs.term() > source.term()) {
      throw new IllegalStateException(
          "cannot restore into a member that has run (term "
              + hs.term()
              + (hs.hasVoted() ? ", voted for " + hs.votedFor() : "")
              + "; the backup is of term "
              + source.term()
              + ")");
    }
    if (snapshots.latest().isPresent()) {
      throw new IllegalStateException(
          "cannot restore into a snapshot store that holds a snapshot ("
              + snapshots.latest().get().meta().index()
              + "): a backup seeds only a member that has never run");
    }
    Bootstrap.seed(meta, configuration);
    meta.save(new HardState(source.term(), ""));
    SnapshotMeta seeded = new SnapshotMeta(source.index(), source.term(), configuration);
    try (SnapshotStore.Sink sink = snapshots.create(seeded);
        InputStream in = backup.open()) {
      in.transferTo(sink.output());
      if (sink.size() != backup.size() || sink.checksum() != backup.checksum()) {
        throw new IOException(
            "backup at index "
                + source.index()
                + " read back as "
                + sink.size()
                + " bytes with checksum "
                + Integer.toHexString(sink.checksum())
                + ", expected "
                + backup.size()
                + " bytes with checksum "
                + Integer.toHexString(backup.checksum()));
      }
      sink.commit();
    }
    return seeded;
  }
}
