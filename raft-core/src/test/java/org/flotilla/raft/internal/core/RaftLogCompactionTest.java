package org.flotilla.raft.internal.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.flotilla.raft.internal.core.CoreNetwork.bytes;

import java.util.List;
import java.util.SplittableRandom;
import org.flotilla.raft.cluster.Configuration;
import org.flotilla.raft.cluster.Member;
import org.flotilla.raft.memory.MemoryLogStore;
import org.flotilla.raft.message.EntryType;
import org.flotilla.raft.message.InstallSnapshot;
import org.flotilla.raft.message.InstallSnapshotResponse;
import org.flotilla.raft.message.LogEntry;
import org.flotilla.raft.message.RaftMessage;
import org.flotilla.raft.spi.HardState;
import org.flotilla.raft.spi.SnapshotMeta;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;

/** Log compaction and InstallSnapshot (Raft §7). */
class RaftLogCompactionTest {

  private static final int T = CoreOptions.DEFAULTS.electionTimeoutTicks();

  static InstallSnapshot snapshot(
      String to, long term, long index, long snapTerm, Configuration c) {
    return new InstallSnapshot("n1", to, term, index, snapTerm, c, 0, 0, 0, null, true);
  }

  /** A 3-member network where n3 missed entries 2..6 and n1 compacted them into a snapshot. */
  static CoreNetwork compactedBehindN3() {
    CoreNetwork net = CoreNetwork.voters(3, CoreOptions.DEFAULTS);
    net.elect("n1");
    net.isolate("n3");
    RaftCore n1 = net.core("n1");
    n1.propose(List.of(bytes("a"), bytes("b"), bytes("c"), bytes("d"), bytes("e")));
    net.stabilize();
    assertThat(n1.commitIndex()).isEqualTo(6);
    n1.snapshotTaken(new SnapshotMeta(6, 1, CoreNetwork.config(3)));
    net.node("n1").store.compact(6);
    return net;
  }

  @Nested
  @DisplayName("§7 Log compaction")
  class LogCompaction {

    /**
     * "The leader must occasionally send snapshots to followers that lag behind. This happens when
     * the leader has already discarded the next log entry that it needs to send to a follower."
     */
    @Test
    void followerBehindTheFirstIndexIsSentTheSnapshot() {
      CoreNetwork net = compactedBehindN3();
      net.heal();
      net.drainDelivered();
      net.tickAll(T + 2);
      List<RaftMessage> seen = net.drainDelivered();
      assertThat(seen)
          .filteredOn(m -> m instanceof InstallSnapshot)
          .singleElement()
          .satisfies(m -> assertThat(((InstallSnapshot) m).snapshotIndex()).isEqualTo(6));
      assertThat(net.node("n3").installed).extracting(SnapshotMeta::index).containsExactly(6L);
      assertThat(net.core("n3").commitIndex()).isEqualTo(6);
      net.core("n1").propose(List.of(bytes("f")));
      net.tickAll(2);
      assertThat(net.core("n3").lastIndex()).isEqualTo(7);
      assertThat(net.core("n3").commitIndex()).isEqualTo(7);
      assertThat(net.node("n3").applied).extracting(LogEntry::index).containsExactly(1L, 7L);
    }

    /**
     * "When a follower receives a snapshot with this RPC, it must decide what to do with its
     * existing log entries ... the follower discards its entire log; it is all superseded by the
     * snapshot."
     */
    @Test
    void installSnapshotReplacesTheFollowersLog() {
      CoreNetwork net = CoreNetwork.voters(3, CoreOptions.DEFAULTS);
      net.load("n2", 1, 1, 1);
      Configuration c =
          Configuration.ofVoters(
              List.of(Member.of("n1"), Member.of("n2"), Member.of("n3"), Member.of("n4")));
      net.core("n2").step(snapshot("n2", 3, 10, 3, c));
      Ready r = net.ready("n2");
      assertThat(r.snapshot()).isEqualTo(new SnapshotMeta(10, 3, c));
      RaftCore n2 = net.core("n2");
      assertThat(n2.commitIndex()).isEqualTo(10);
      assertThat(n2.appliedIndex()).isEqualTo(10);
      assertThat(n2.lastIndex()).isEqualTo(10);
      assertThat(n2.termAt(10)).isEqualTo(3);
      assertThat(n2.configuration()).isEqualTo(c);
      assertThat(n2.latestSnapshot().index()).isEqualTo(10);
      assertThat(RaftPaperTest.of(r, org.flotilla.raft.message.AppendEntriesResponse.class))
          .singleElement()
          .satisfies(a -> assertThat(a.success() && a.matchIndex() == 10).isTrue());
      assertThat(net.node("n2").store.baseIndex()).isEqualTo(10);
    }

    /**
     * "If instead the follower receives a snapshot that describes a prefix of its log ... then log
     * entries covered by the snapshot are deleted but entries following the snapshot are still
     * valid and must be retained."
     */
    @Test
    void snapshotOfAPrefixKeepsTheEntriesAfterIt() {
      CoreNetwork net = CoreNetwork.voters(3, CoreOptions.DEFAULTS);
      net.load("n2", 1, 1, 1, 1);
      net.core("n2").step(snapshot("n2", 1, 2, 1, CoreNetwork.config(3)));
      Ready r = net.ready("n2");
      assertThat(r.snapshot()).isNull();
      assertThat(net.core("n2").commitIndex()).isEqualTo(2);
      assertThat(net.termsOf("n2")).containsExactly(1L, 1L, 1L);
    }

    /** A snapshot older than the commit index changes nothing. */
    @Test
    void staleSnapshotIsIgnored() {
      CoreNetwork net = CoreNetwork.voters(3, CoreOptions.DEFAULTS);
      net.load("n2", 1, 1, 1, 1);
      net.core("n2").step(RaftPaperTest.append("n1", "n2", 1, 3, 1, 3));
      net.core("n2").step(snapshot("n2", 1, 2, 1, CoreNetwork.config(1)));
      assertThat(net.ready("n2").snapshot()).isNull();
      assertThat(net.core("n2").configuration()).isEqualTo(CoreNetwork.config(3));
    }

    /** Chunks before the last are the driver's business; only the last one decides. */
    @Test
    void onlyTheLastChunkInstallsTheSnapshot() {
      CoreNetwork net = CoreNetwork.voters(3, CoreOptions.DEFAULTS);
      net.core("n2")
          .step(
              new InstallSnapshot(
                  "n1", "n2", 1, 5, 1, CoreNetwork.config(3), 9, 0, 0, null, false));
      Ready r = net.ready("n2");
      assertThat(r.snapshot()).isNull();
      assertThat(r.messages()).isEmpty();
      assertThat(net.core("n2").leader()).isEqualTo("n1");
    }

    /** The leader's snapshot state ends with the receiver's done or rejected answer. */
    @Test
    void snapshotResponsesEndTheSnapshotState() {
      CoreNetwork net = compactedBehindN3();
      net.heal();
      RaftCore n1 = net.core("n1");
      net.node("n3").autoSync = true;
      for (int i = 0;
          i < 3 * T && n1.progress().get("n3").state() != Progress.State.SNAPSHOT;
          i++) {
        n1.tick();
        net.ready("n1");
        net.take(InstallSnapshot.class);
        net.deliverAll();
        net.ready("n3");
        net.ready("n2");
        net.deliverAll();
      }
      assertThat(n1.progress().get("n3").state()).isEqualTo(Progress.State.SNAPSHOT);
      n1.step(new InstallSnapshotResponse("n3", "n1", 1, 6, 100, false, false));
      assertThat(n1.progress().get("n3").state()).isEqualTo(Progress.State.SNAPSHOT);
      n1.step(new InstallSnapshotResponse("n3", "n1", 1, 6, 200, true, false));
      assertThat(n1.progress().get("n3").state()).isEqualTo(Progress.State.PROBE);
      assertThat(n1.progress().get("n3").match()).isEqualTo(6);
    }

    /** A leader whose snapshot transfer is cut off by the driver starts over from a probe. */
    @Test
    void snapshotFailedByTheDriverReturnsToProbe() {
      CoreNetwork net = compactedBehindN3();
      net.heal();
      RaftCore n1 = net.core("n1");
      for (int i = 0;
          i < 3 * T && n1.progress().get("n3").state() != Progress.State.SNAPSHOT;
          i++) {
        n1.tick();
        net.ready("n1");
        net.take(InstallSnapshot.class);
        net.deliverAll();
        net.ready("n3");
        net.ready("n2");
        net.deliverAll();
      }
      assertThat(n1.progress().get("n3").state()).isEqualTo(Progress.State.SNAPSHOT);
      n1.snapshotFailed("n3");
      assertThat(n1.progress().get("n3").state()).isEqualTo(Progress.State.PROBE);
      assertThat(n1.progress().get("n3").next()).isEqualTo(7);
    }

    /** A member that needs a compacted entry when no snapshot exists is a driver bug. */
    @Test
    void compactionWithoutASnapshotIsReported() {
      CoreNetwork net = CoreNetwork.voters(3, CoreOptions.DEFAULTS);
      net.elect("n1");
      net.isolate("n3");
      net.core("n1").propose(List.of(bytes("a"), bytes("b")));
      net.stabilize();
      net.node("n1").store.compact(3);
      net.heal();
      assertThatThrownBy(() -> net.tickAll(2 * T + 2))
          .isInstanceOf(IllegalStateException.class)
          .hasMessageContaining("no snapshot exists");
    }

    /** A member restarted from a snapshot starts with its index committed and its configuration. */
    @Test
    void restartFromASnapshotRestoresCommitAndConfiguration() {
      MemoryLogStore store = new MemoryLogStore();
      store.reset(5, 2);
      store.append(List.of(new LogEntry(6, 2, EntryType.COMMAND, bytes("x"))));
      Configuration c = CoreNetwork.config(5);
      RaftCore core =
          new RaftCore(
              "n1",
              CoreOptions.DEFAULTS,
              CoreNetwork.config(3),
              store,
              new HardState(2, ""),
              new SnapshotMeta(5, 2, c),
              new SplittableRandom(1));
      assertThat(core.commitIndex()).isEqualTo(5);
      assertThat(core.appliedIndex()).isEqualTo(5);
      assertThat(core.lastIndex()).isEqualTo(6);
      assertThat(core.persistedIndex()).isEqualTo(6);
      assertThat(core.configuration()).isEqualTo(c);
      assertThat(core.configurationIndex()).isEqualTo(5);
    }

    /** A log compacted beyond the newest snapshot cannot be recovered from. */
    @Test
    void logCompactedBeyondTheSnapshotIsRefused() {
      MemoryLogStore store = new MemoryLogStore();
      store.reset(5, 2);
      assertThatThrownBy(
              () ->
                  new RaftCore(
                      "n1",
                      CoreOptions.DEFAULTS,
                      CoreNetwork.config(3),
                      store,
                      HardState.INITIAL,
                      null,
                      new SplittableRandom(1)))
          .isInstanceOf(IllegalStateException.class)
          .hasMessageContaining("5");
    }

    /** Configuration entries in the log are recovered on restart. */
    @Test
    void restartRecoversConfigurationsFromTheLog() {
      MemoryLogStore store = new MemoryLogStore();
      Configuration c = CoreNetwork.config(2);
      store.append(
          List.of(
              LogEntry.noop(1, 1),
              new LogEntry(2, 1, EntryType.CONFIGURATION, c.encode()),
              new LogEntry(3, 1, EntryType.COMMAND, bytes("x"))));
      RaftCore core =
          new RaftCore(
              "n1",
              CoreOptions.DEFAULTS,
              CoreNetwork.config(3),
              store,
              new HardState(1, ""),
              null,
              new SplittableRandom(1));
      assertThat(core.configuration()).isEqualTo(c);
      assertThat(core.configurationIndex()).isEqualTo(2);
    }
  }
}
