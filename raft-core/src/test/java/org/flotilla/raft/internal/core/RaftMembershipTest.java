package org.flotilla.raft.internal.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.flotilla.raft.internal.core.CoreNetwork.bytes;

import java.util.ArrayList;
import java.util.List;
import org.flotilla.raft.cluster.Configuration;
import org.flotilla.raft.cluster.Member;
import org.flotilla.raft.cluster.Role;
import org.flotilla.raft.message.AppendEntries;
import org.flotilla.raft.message.EntryType;
import org.flotilla.raft.message.LogEntry;
import org.flotilla.raft.message.RequestVote;
import org.flotilla.raft.message.RequestVoteResponse;
import org.flotilla.raft.message.TimeoutNow;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;

/** Membership changes (Raft §6, joint consensus) and learners (thesis §4.2.1). */
class RaftMembershipTest {

  private static final int T = CoreOptions.DEFAULTS.electionTimeoutTicks();

  static Configuration voters(String... ids) {
    List<Member> m = new ArrayList<>();
    for (String id : ids) {
      m.add(Member.of(id));
    }
    return Configuration.ofVoters(m);
  }

  static AppendEntries appendConfig(
      String from, String to, long term, long prev, long prevTerm, long index, Configuration c) {
    return new AppendEntries(
        from,
        to,
        term,
        prev,
        prevTerm,
        0,
        List.of(new LogEntry(index, term, EntryType.CONFIGURATION, c.encode())));
  }

  @Nested
  @DisplayName("§6 Cluster membership changes (joint consensus)")
  class JointConsensus {

    /**
     * "The leader first creates the C_old,new configuration entry in its log ... Once C_old,new has
     * been committed ... it is now safe for the leader to create a log entry describing C_new and
     * replicate it to the cluster."
     */
    @Test
    void voterChangeGoesThroughTheJointConfigurationThenTheNewOneAutomatically() {
      CoreNetwork net = new CoreNetwork(CoreOptions.DEFAULTS, voters("n1", "n2", "n3"), "n4");
      net.elect("n1");
      RaftCore n1 = net.core("n1");
      Configuration target = voters("n1", "n2", "n3", "n4");
      long index = n1.proposeConfiguration(target);
      assertThat(index).isEqualTo(2);
      assertThat(n1.configuration().isJoint()).isTrue();
      assertThat(n1.configuration().voters()).isEqualTo(target.voters());
      assertThat(n1.configuration().outgoing()).isEqualTo(voters("n1", "n2", "n3").voters());
      net.stabilize();
      assertThat(n1.configuration()).isEqualTo(target);
      assertThat(n1.configurationIndex()).isEqualTo(3);
      assertThat(n1.commitIndex()).isEqualTo(3);
      assertThat(net.node("n1").applied)
          .extracting(LogEntry::type)
          .containsExactly(EntryType.NOOP, EntryType.CONFIGURATION, EntryType.CONFIGURATION);
      net.tickAll(1);
      assertThat(net.core("n4").configuration()).isEqualTo(target);
      assertThat(net.core("n4").role()).isEqualTo(Role.FOLLOWER);
      assertThat(net.termsOf("n4")).isEqualTo(net.termsOf("n1"));
    }

    /** One change at a time: while a change is in flight another one is refused. */
    @Test
    void secondChangeIsRejectedWhileOneIsInProgress() {
      CoreNetwork net = new CoreNetwork(CoreOptions.DEFAULTS, voters("n1", "n2", "n3"), "n4");
      net.elect("n1");
      RaftCore n1 = net.core("n1");
      assertThat(n1.proposeConfiguration(voters("n1", "n2", "n3", "n4"))).isPositive();
      assertThat(n1.proposeConfiguration(voters("n1", "n2")))
          .isEqualTo(RaftCore.REJECTED_CHANGE_IN_PROGRESS);
      for (int i = 0; i < 10 && n1.configuration().isJoint(); i++) {
        for (String id : List.of("n1", "n2", "n3", "n4")) {
          net.ready(id);
        }
        net.deliverAll();
      }
      // C_old,new is committed now and C_new appended, but not committed yet.
      assertThat(n1.configuration().isJoint()).isFalse();
      assertThat(n1.configurationIndex()).isGreaterThan(n1.commitIndex());
      assertThat(n1.proposeConfiguration(voters("n1", "n2")))
          .isEqualTo(RaftCore.REJECTED_CHANGE_IN_PROGRESS);
      net.stabilize();
      assertThat(n1.proposeConfiguration(voters("n1", "n2", "n3"))).isPositive();
    }

    /** A new leader changes nothing before it has committed an entry of its term. */
    @Test
    void changeIsRejectedBeforeTheLeaderCommittedInItsTerm() {
      CoreNetwork net = CoreNetwork.voters(3, CoreOptions.DEFAULTS);
      RaftThesisTest.untilLeader(net, "n1");
      assertThat(net.core("n1").proposeConfiguration(voters("n1", "n2")))
          .isEqualTo(RaftCore.REJECTED_CHANGE_IN_PROGRESS);
    }

    /** The target must be a simple configuration, and only a leader changes membership. */
    @Test
    void jointTargetOrNonLeaderIsRejected() {
      CoreNetwork net = CoreNetwork.voters(3, CoreOptions.DEFAULTS);
      net.elect("n1");
      Configuration joint =
          new Configuration(
              voters("n1", "n2").voters(), voters("n1", "n2", "n3").voters(), List.of());
      assertThat(net.core("n1").proposeConfiguration(joint)).isEqualTo(RaftCore.REJECTED_INVALID);
      assertThat(net.core("n2").proposeConfiguration(voters("n1", "n2")))
          .isEqualTo(RaftCore.REJECTED_NOT_LEADER);
    }

    /**
     * "A server always uses the latest configuration in its log, regardless of whether the entry is
     * committed."
     */
    @Test
    void followerUsesAConfigurationAsSoonAsItIsAppended() {
      CoreNetwork net = CoreNetwork.voters(3, CoreNetwork.plain());
      Configuration next = voters("n1", "n2");
      net.core("n3").step(appendConfig("n9", "n3", 1, 0, 0, 1, next));
      assertThat(net.core("n3").commitIndex()).isZero();
      assertThat(net.core("n3").configuration()).isEqualTo(next);
      assertThat(net.core("n3").role()).isEqualTo(Role.LEARNER);
      assertThat(net.core("n3").leader()).isEqualTo("n9");
      assertThat(net.core("n3").configurationIndex()).isEqualTo(1);
    }

    /**
     * The flip side of using uncommitted configurations: when the entry is truncated as a conflict,
     * the member goes back to the configuration before it.
     */
    @Test
    void configurationRevertsWhenItsEntryIsTruncated() {
      CoreNetwork net = CoreNetwork.voters(3, CoreNetwork.plain());
      RaftCore n2 = net.core("n2");
      n2.step(appendConfig("n9", "n2", 1, 0, 0, 1, voters("n1", "n3")));
      assertThat(n2.role()).isEqualTo(Role.LEARNER);
      n2.step(new AppendEntries("n3", "n2", 2, 0, 0, 0, List.of(LogEntry.noop(1, 2))));
      assertThat(n2.configuration()).isEqualTo(CoreNetwork.config(3));
      assertThat(n2.configurationIndex()).isZero();
      assertThat(n2.role()).isEqualTo(Role.FOLLOWER);
      assertThat(n2.leader()).isEqualTo("n3");
    }

    /**
     * "Agreement (for elections and entry commitment) requires separate majorities from both the
     * old and new configurations."
     */
    @Test
    void jointConfigurationCommitsOnlyWithBothMajorities() {
      CoreNetwork net = new CoreNetwork(CoreOptions.DEFAULTS, voters("n1", "n2", "n3"), "n4", "n5");
      net.elect("n1");
      net.cut("n1", "n4");
      net.cut("n1", "n5");
      long index = net.core("n1").proposeConfiguration(voters("n1", "n4", "n5"));
      net.stabilize();
      assertThat(net.core("n1").commitIndex()).isLessThan(index);
      assertThat(net.core("n1").progress().get("n2").match()).isEqualTo(index);
      net.heal();
      net.tickAll(3);
      assertThat(net.core("n1").configuration()).isEqualTo(voters("n1", "n4", "n5"));
      assertThat(net.core("n1").commitIndex()).isEqualTo(index + 1);
      assertThat(net.leaders()).containsExactly("n1");
    }

    /** In the joint phase a candidate needs votes from a majority of both halves. */
    @Test
    void jointElectionNeedsBothMajorities() {
      CoreNetwork net = CoreNetwork.voters(5, CoreNetwork.plain());
      Configuration joint =
          new Configuration(
              voters("n1", "n4", "n5").voters(), voters("n1", "n2", "n3").voters(), List.of());
      for (String id : List.of("n1", "n2", "n3", "n4", "n5")) {
        net.core(id).step(appendConfig("n9", id, 1, 0, 0, 1, joint));
        net.ready(id);
      }
      net.dropAll();
      net.cut("n1", "n4");
      net.cut("n1", "n5");
      assertThat(net.campaign("n1")).isEqualTo(Role.CANDIDATE);
      net.heal();
      net.tick("n1", 3 * T);
      net.stabilize();
      assertThat(net.core("n1").role()).isEqualTo(Role.LEADER);
    }

    /**
     * "The leader ... steps down (returns to follower state) once it has committed the C_new log
     * entry" when it is not part of C_new.
     */
    @Test
    void removedLeaderStepsDownOnceTheNewConfigurationCommits() {
      CoreNetwork net = CoreNetwork.voters(3, CoreOptions.DEFAULTS);
      net.elect("n1");
      RaftCore n1 = net.core("n1");
      long index = n1.proposeConfiguration(voters("n2", "n3"));
      assertThat(n1.role()).isEqualTo(Role.LEADER);
      net.stabilize();
      assertThat(n1.commitIndex()).isEqualTo(index + 1);
      assertThat(n1.role()).isNotEqualTo(Role.LEADER);
      net.tickAll(5 * T);
      assertThat(net.leaders()).hasSize(1).doesNotContain("n1");
      assertThat(n1.role()).isEqualTo(Role.LEARNER);
    }
  }

  /**
   * The only voter of an uncommitted C<sub>new</sub> lost it in a crash (found by simulator seed
   * 12858): it has a shorter log than the two members that kept C<sub>new</sub>, which makes them
   * learners. It cannot win their votes, so they, voters of the committed configuration, must
   * campaign: one wins by the vote of C<sub>new</sub>'s voter, commits C<sub>new</sub> and steps
   * down, and the voter takes over.
   */
  @Test
  void membersThatAnUncommittedConfigurationDemotedStillCampaign() {
    CoreNetwork net = CoreNetwork.voters(3, CoreOptions.DEFAULTS);
    List<Member> all = List.of(Member.of("n1"), Member.of("n2"), Member.of("n3"));
    Configuration joint =
        new Configuration(List.of(Member.of("n3")), all, List.of(Member.of("n1"), Member.of("n2")));
    Configuration onlyN3 = joint.leaveJoint();
    List<LogEntry> log =
        List.of(
            LogEntry.noop(1, 1),
            new LogEntry(2, 1, EntryType.CONFIGURATION, joint.encode()),
            new LogEntry(3, 1, EntryType.CONFIGURATION, onlyN3.encode()));
    net.load("n1", new org.flotilla.raft.spi.HardState(1, "n1"), log);
    net.load("n2", new org.flotilla.raft.spi.HardState(1, "n1"), log);
    net.load("n3", new org.flotilla.raft.spi.HardState(1, "n1"), log.subList(0, 2));
    assertThat(net.core("n1").role()).isEqualTo(Role.LEARNER);
    assertThat(net.core("n3").role()).isEqualTo(Role.FOLLOWER);

    net.tickAll(20 * T);

    assertThat(net.leaders()).containsExactly("n3");
    for (String id : List.of("n1", "n2", "n3")) {
      assertThat(net.core(id).configuration()).isEqualTo(onlyN3);
      assertThat(net.core(id).commitIndex()).isGreaterThanOrEqualTo(3);
    }
  }

  /**
   * A member that an uncommitted configuration removes must still hear from the others: the removed
   * leader commits the entry that removes it only when their acknowledgements reach it.
   */
  @Test
  void aRemovedMemberStaysReachableUntilItsRemovalCommits() {
    CoreNetwork net = CoreNetwork.voters(3, CoreOptions.DEFAULTS);
    net.elect("n1");
    RaftCore n2 = net.core("n2");
    long version = n2.configurationsVersion();
    Configuration withoutN1 = voters("n2", "n3");
    n2.step(
        appendConfig(
            "n1", "n2", n2.term(), n2.lastIndex(), n2.term(), n2.lastIndex() + 1, withoutN1));
    assertThat(n2.configuration()).isEqualTo(withoutN1);
    assertThat(n2.configurationsVersion()).isNotEqualTo(version);
    assertThat(n2.reachableMembers())
        .extracting(Member::id)
        .containsExactlyInAnyOrder("n1", "n2", "n3");
    version = n2.configurationsVersion();
    // The leader's commit index reaches the entry: the old configuration is dropped.
    n2.step(
        new AppendEntries(
            "n1", "n2", n2.term(), n2.lastIndex(), n2.term(), n2.lastIndex(), List.of()));
    assertThat(n2.commitIndex()).isEqualTo(n2.lastIndex());
    assertThat(n2.configurationsVersion()).isNotEqualTo(version);
    assertThat(n2.reachableMembers()).extracting(Member::id).containsExactlyInAnyOrder("n2", "n3");
  }

  @Nested
  @DisplayName("thesis §4.2.1 Learners (non-voting members)")
  class Learners {

    private Configuration withLearner() {
      return Configuration.of(List.of(Member.of("n1"), Member.of("n2")), List.of(Member.of("n3")));
    }

    /** Learners receive the log but "are not considered for majorities". */
    @Test
    void learnerGetsTheLogButIsNotCountedForCommit() {
      CoreNetwork net = new CoreNetwork(CoreOptions.DEFAULTS, withLearner());
      net.elect("n1");
      net.cut("n1", "n2");
      long index = net.core("n1").propose(List.of(bytes("a")));
      net.stabilize();
      assertThat(net.core("n3").lastIndex()).isEqualTo(index);
      assertThat(net.core("n1").progress().get("n3").match()).isEqualTo(index);
      assertThat(net.core("n1").commitIndex()).isLessThan(index);
      net.heal();
      // The lost append is noticed when the pipelined follower stalls (an election timeout).
      net.tickAll(T + 2);
      assertThat(net.core("n1").commitIndex()).isEqualTo(index);
    }

    /** A learner never starts an election, whatever the time without a leader. */
    @Test
    void learnerNeverCampaigns() {
      CoreNetwork net = new CoreNetwork(CoreOptions.DEFAULTS, withLearner());
      assertThat(net.core("n3").role()).isEqualTo(Role.LEARNER);
      net.tick("n3", 10 * T);
      net.core("n3").step(new TimeoutNow("n1", "n3", 0));
      net.ready("n3");
      assertThat(net.core("n3").role()).isEqualTo(Role.LEARNER);
      assertThat(net.core("n3").term()).isZero();
      assertThat(net.inflight()).isEmpty();
    }

    /** A candidate asks only voters, and a learner's vote does not count. */
    @Test
    void learnerIsNotAskedAndItsVoteDoesNotCount() {
      CoreNetwork net = new CoreNetwork(CoreNetwork.plain(), withLearner());
      net.tick("n1", 3 * T);
      assertThat(net.take(RequestVote.class)).extracting(RequestVote::to).containsOnly("n2");
      net.core("n1").step(new RequestVoteResponse("n3", "n1", 1, true, false));
      assertThat(net.core("n1").role()).isEqualTo(Role.CANDIDATE);
    }

    /** Adding or removing learners only needs no joint phase: the target is appended directly. */
    @Test
    void learnerChangeIsAppendedDirectly() {
      CoreNetwork net = new CoreNetwork(CoreOptions.DEFAULTS, voters("n1", "n2", "n3"), "n4");
      net.elect("n1");
      Configuration target =
          Configuration.of(voters("n1", "n2", "n3").voters(), List.of(Member.of("n4")));
      long index = net.core("n1").proposeConfiguration(target);
      assertThat(net.core("n1").configuration()).isEqualTo(target);
      net.stabilize();
      net.tickAll(1);
      assertThat(net.core("n1").commitIndex()).isEqualTo(index);
      assertThat(net.core("n4").role()).isEqualTo(Role.LEARNER);
      assertThat(net.termsOf("n4")).isEqualTo(net.termsOf("n1"));
    }

    /** Promoting a learner to voter is a voter change, so it goes through joint consensus. */
    @Test
    void promotingALearnerGoesThroughJointConsensus() {
      CoreNetwork net = new CoreNetwork(CoreOptions.DEFAULTS, withLearner());
      net.elect("n1");
      Configuration target = voters("n1", "n2", "n3");
      net.core("n1").proposeConfiguration(target);
      assertThat(net.core("n1").configuration().isJoint()).isTrue();
      net.stabilize();
      net.tickAll(1);
      assertThat(net.core("n1").configuration()).isEqualTo(target);
      assertThat(net.core("n3").role()).isEqualTo(Role.FOLLOWER);
    }
  }

  @Nested
  @DisplayName("Joining with no configuration of its own (RaftNode.Builder.join())")
  class Joining {

    /**
     * A member that joins starts from the empty configuration: whatever the time without a leader,
     * and even when told to (TimeoutNow), it never campaigns, so it can never become a group of
     * one.
     */
    @Test
    void aMemberWithNoConfigurationNeverCampaigns() {
      CoreNetwork net = new CoreNetwork(CoreNetwork.plain(), voters("n1", "n2", "n3"));
      net.join("n4");
      RaftCore n4 = net.core("n4");
      assertThat(n4.configuration()).isEqualTo(Configuration.EMPTY);
      assertThat(n4.role()).isEqualTo(Role.LEARNER);
      net.tick("n4", 10 * T);
      n4.step(new TimeoutNow("n1", "n4", 0));
      net.ready("n4");
      assertThat(n4.role()).isEqualTo(Role.LEARNER);
      assertThat(n4.term()).isZero();
      assertThat(net.inflight()).isEmpty();
    }

    /**
     * The leader adds the member; its first message brings the log, and with it the configuration
     * that names the member: it catches up and, promoted, votes and counts like any voter.
     */
    @Test
    void theLeaderThatAddsItBringsItTheLogAndTheConfiguration() {
      CoreNetwork net = new CoreNetwork(CoreOptions.DEFAULTS, voters("n1", "n2", "n3"));
      net.join("n4");
      net.elect("n1");
      RaftCore n1 = net.core("n1");
      n1.propose(List.of(bytes("a"), bytes("b")));
      net.stabilize();
      Configuration target = voters("n1", "n2", "n3", "n4");
      n1.proposeConfiguration(target);
      net.stabilize();
      net.tickAll(1);
      RaftCore n4 = net.core("n4");
      assertThat(n4.configuration()).isEqualTo(target);
      assertThat(n4.role()).isEqualTo(Role.FOLLOWER);
      assertThat(n4.lastIndex()).isEqualTo(n1.lastIndex());
      assertThat(net.termsOf("n4")).isEqualTo(net.termsOf("n1"));
    }

    /** The empty configuration is never a change's target: a group without voters is dead. */
    @Test
    void noLeaderProposesTheEmptyConfiguration() {
      CoreNetwork net = CoreNetwork.voters(3, CoreOptions.DEFAULTS);
      net.elect("n1");
      assertThat(net.core("n1").proposeConfiguration(Configuration.EMPTY))
          .isEqualTo(RaftCore.REJECTED_INVALID);
    }
  }
}
