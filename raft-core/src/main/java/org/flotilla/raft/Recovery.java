package org.flotilla.raft;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.flotilla.raft.cluster.Configuration;
import org.flotilla.raft.cluster.Member;
import org.flotilla.raft.message.EntryType;
import org.flotilla.raft.message.LogEntry;
import org.flotilla.raft.spi.HardState;
import org.flotilla.raft.spi.LogStore;
import org.flotilla.raft.spi.MetaStore;
import org.flotilla.raft.spi.SnapshotMeta;
import org.flotilla.raft.spi.SnapshotStore;
import org.flotilla.raft.spi.StorageException;

/**
 * The explicitly unsafe way back for a group that lost its quorum for good: more than half of its
 * voters destroyed, so no leader can ever be elected again. Like etcd's {@code --force-new-cluster}
 * and hashicorp/raft's {@code RecoverCluster}, it rewrites a surviving member's configuration to
 * the voters given, on its stopped storage; started again, the survivors elect a leader among
 * themselves (docs/operations.md, "A group that lost its quorum").
 *
 * <p><strong>Acknowledged writes may be lost.</strong> An entry committed with the votes of members
 * that are gone, and not yet on any survivor, is gone too; an entry on some survivor and not yet
 * committed may be committed now. Use it only when the lost members cannot come back; never while
 * any old member might still run with its old configuration (two groups would then accept writes).
 */
public final class Recovery {

  private static final Duration DURABLE_WAIT = Duration.ofSeconds(30);

  private Recovery() {}

  /**
   * Rewrites a stopped member's configuration to {@code voters}. It appends one configuration
   * entry, in a term above any the member has seen, after the last entry of its log (after its
   * newest snapshot, if the log ends before that), and saves that term with no vote. Run it on
   * every survivor with the same voters before starting any of them; the survivor with the most
   * up-to-date log becomes leader and its log, forced configuration included, replaces the others'
   * where they differ. Two survivors that append at the same index in the same term append the same
   * entry, since the voters are the same, so the logs stay consistent.
   *
   * @param voters the voters from now on (the survivors, perhaps with new members to add later as
   *     learners); must include this member if it is to take part
   * @param log the member's log store, open and not in use by a node
   * @param meta the member's meta store
   * @param snapshots the member's snapshot store
   * @return the index of the configuration entry appended
   * @throws IllegalArgumentException if {@code voters} is empty or lists an id twice
   * @throws StorageException if the stores fail, or the entry is not durable within 30 s
   */
  public static long forceMembers(
      List<Member> voters, LogStore log, MetaStore meta, SnapshotStore snapshots) {
    Configuration forced = Configuration.ofVoters(voters);
    SnapshotMeta snapshot;
    try {
      snapshot = snapshots.latest().map(SnapshotStore.Stored::meta).orElse(null);
    } catch (java.io.IOException e) {
      throw new StorageException("cannot read the newest snapshot: " + e, e);
    }
    if (snapshot != null
        && (log.lastIndex() < snapshot.index() || log.term(snapshot.index()) != snapshot.term())) {
      // As a node does at start: the log goes on after the snapshot it cannot continue.
      log.reset(snapshot.index(), snapshot.term());
    }
    HardState hs = meta.load();
    long last = log.lastIndex();
    long term = Math.max(hs.term(), log.term(last)) + 1;
    CompletableFuture<Void> durable = new CompletableFuture<>();
    log.setListener(
        new LogStore.DurabilityListener() {
          @Override
          public void durable(long index, long entryTerm) {
            if (index > last) {
              durable.complete(null);
            }
          }

          @Override
          public void failed(Throwable cause) {
            durable.completeExceptionally(cause);
          }
        });
    log.append(List.of(new LogEntry(last + 1, term, EntryType.CONFIGURATION, forced.encode())));
    try {
      durable.get(DURABLE_WAIT.toMillis(), TimeUnit.MILLISECONDS);
    } catch (ExecutionException e) {
      throw new StorageException("the log store failed: " + e.getCause(), e.getCause());
    } catch (TimeoutException e) {
      throw new StorageException("the configuration entry was not durable within 30 s", e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new StorageException("interrupted waiting for the configuration entry", e);
    }
    // The entry's term, with no vote: a member's term is never below its log's last term.
    meta.save(new HardState(term, ""));
    return last + 1;
  }
}
