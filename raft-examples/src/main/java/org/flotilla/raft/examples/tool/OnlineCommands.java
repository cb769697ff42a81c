package org.flotilla.raft.examples.tool;

import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.flotilla.raft.NodeStatus;
import org.flotilla.raft.NotLeaderException;
import org.flotilla.raft.cluster.Configuration;
import org.flotilla.raft.cluster.Member;
import org.flotilla.raft.cluster.Role;
import org.flotilla.raft.transport.netty.NettyAdminClient;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * The tool's online commands: each talks to members over their Raft port. A command that needs the
 * leader goes to the member given and, if that member is not the leader, once more to the leader it
 * names.
 */
final class OnlineCommands {

  private OnlineCommands() {}

  /** Options every online command takes: where to find the group. */
  abstract static class Online extends FlotillaTool.Sub {
    @Option(
        names = {"-m", "--member"},
        split = ",",
        paramLabel = "HOST:PORT",
        description =
            "The Raft address of a member (repeat, or separate with commas; the first that"
                + " answers is used).")
    List<String> members;

    /** Runs {@code call} against the first member that answers. */
    <T> T onAny(NettyAdminClient admin, AdminCall<T> call) throws IOException {
      IOException last = null;
      for (String address : members) {
        try {
          return call.on(address);
        } catch (IOException e) {
          last = e;
          err().println("flotilla: " + e.getMessage() + "; trying the next member");
        }
      }
      throw new IOException("no member answered (" + String.join(", ", members) + ")", last);
    }

    /** Runs {@code call} on the leader: a member given, then the leader it names. */
    <T> T onLeader(NettyAdminClient admin, AdminCall<T> call) throws IOException {
      try {
        return onAny(admin, call);
      } catch (NotLeaderException e) {
        Optional<Member> leader = e.leader();
        if (leader.isEmpty()) {
          throw e;
        }
        err().println("flotilla: sending it to the leader, " + leader.get().id());
        return call.on(leader.get().address());
      }
    }

    @Override
    public Integer call() throws IOException {
      if (members == null || members.isEmpty()) {
        throw new picocli.CommandLine.ParameterException(
            spec.commandLine(), "give the Raft address of a member: --member HOST:PORT");
      }
      try (NettyAdminClient admin = tool.client()) {
        run(admin);
      }
      return FlotillaTool.EXIT_OK;
    }

    abstract void run(NettyAdminClient admin) throws IOException;
  }

  /** One request to one member. */
  @FunctionalInterface
  interface AdminCall<T> {
    T on(String address) throws IOException;
  }

  @Command(
      name = "status",
      description = {
        "Shows every member of the group: role, term, leader, commit and applied index, and, as"
            + " the leader sees them, each follower's lag and last contact."
      })
  static final class Status extends Online {
    @Override
    void run(NettyAdminClient admin) throws IOException {
      NodeStatus first = onAny(admin, admin::status);
      Configuration c = first.configuration();
      // The members that answered; the others are reported on standard error as they fail.
      Map<String, NodeStatus> reached = new LinkedHashMap<>();
      NodeStatus leader = null;
      for (Member m : c.all()) {
        try {
          NodeStatus s = m.id().equals(first.id()) ? first : admin.status(m.address());
          reached.put(m.id(), s);
          if (s.role() == Role.LEADER && (leader == null || s.term() > leader.term())) {
            leader = s;
          }
        } catch (IOException | RuntimeException e) {
          err().println("flotilla: " + m.id() + ": " + e.getMessage());
        }
      }
      Table t =
          new Table(
              "ID", "ADDRESS", "VOTER", "ROLE", "TERM", "LEADER", "COMMIT", "APPLIED", "LAST",
              "LAG", "CONTACT");
      for (Member m : c.all()) {
        String voter = c.isVoter(m.id()) ? "yes" : "learner";
        String lag = leader != null && m.id().equals(leader.id()) ? "0" : "-";
        String contact = "-";
        for (NodeStatus.PeerStatus p :
            leader == null ? List.<NodeStatus.PeerStatus>of() : leader.peers()) {
          if (p.id().equals(m.id())) {
            lag = Long.toString(Math.max(0, leader.lastIndex() - p.matchIndex()));
            contact = p.lastContactMillis() < 0 ? "never" : p.lastContactMillis() + "ms";
          }
        }
        NodeStatus s = reached.get(m.id());
        if (s == null) {
          t.row(m.id(), m.address(), voter, "UNREACHABLE", "-", "-", "-", "-", "-", lag, contact);
          continue;
        }
        t.row(
            m.id(),
            m.address(),
            voter,
            s.role().name(),
            Long.toString(s.term()),
            s.leader().orElse("-"),
            Long.toString(s.commitIndex()),
            Long.toString(s.appliedIndex()),
            Long.toString(s.lastIndex()),
            lag,
            contact);
      }
      t.print(out());
      if (leader == null) {
        out().println("No member reports itself leader.");
      }
      for (NodeStatus s : reached.values()) {
        s.failure().ifPresent(f -> out().println(s.id() + " FAILED: " + f.reason()));
        for (NodeStatus.SnapshotTransfer x : s.snapshotTransfers()) {
          out()
              .printf(
                  "%s %s snapshot %d %s %s: %d of %d bytes%n",
                  s.id(),
                  x.sending() ? "sending" : "receiving",
                  x.snapshotIndex(),
                  x.sending() ? "to" : "from",
                  x.peer(),
                  x.bytesDone(),
                  x.bytesTotal());
        }
      }
    }
  }

  @Command(name = "members", description = "Lists the group's members as a member sees them.")
  static final class Members extends Online {
    @Override
    void run(NettyAdminClient admin) throws IOException {
      NodeStatus s = onAny(admin, admin::status);
      Configuration c = s.configuration();
      Table t = new Table("ID", "ADDRESS", "ROLE", "PRIORITY");
      for (Member m : c.all()) {
        String role = c.isVoter(m.id()) ? "voter" : "learner";
        if (c.promotable().contains(m.id())) {
          role += " (promoted once caught up)";
        }
        t.row(m.id(), m.address(), role, Integer.toString(m.priority()));
      }
      t.print(out());
      if (c.isJoint()) {
        out().println("A change of voters is under way (joint configuration).");
      }
    }
  }

  @Command(
      name = "add-learner",
      description = "Adds a member as a learner (it receives the log but does not vote yet).")
  static final class AddLearner extends Online {
    @Parameters(index = "0", paramLabel = "ID", description = "The new member's id.")
    String id;

    @Parameters(index = "1", paramLabel = "HOST:PORT", description = "Its Raft address.")
    String address;

    @Override
    void run(NettyAdminClient admin) throws IOException {
      Member m = Member.of(id, address);
      long index = onLeader(admin, a -> admin.addLearner(a, m));
      out().println("added " + id + " as a learner (configuration entry " + index + ")");
    }
  }

  @Command(name = "promote", description = "Makes a learner a voter.")
  static final class Promote extends Online {
    @Parameters(paramLabel = "ID", description = "The learner's id.")
    String id;

    @Override
    void run(NettyAdminClient admin) throws IOException {
      long index = onLeader(admin, a -> admin.promote(a, id));
      out().println("promoted " + id + " (configuration entry " + index + ")");
    }
  }

  @Command(name = "remove", description = "Removes a member from the group.")
  static final class Remove extends Online {
    @Parameters(paramLabel = "ID", description = "The member's id.")
    String id;

    @Override
    void run(NettyAdminClient admin) throws IOException {
      long index = onLeader(admin, a -> admin.removeMember(a, id));
      out().println("removed " + id + " (configuration entry " + index + ")");
    }
  }

  @Command(name = "transfer-leader", description = "Hands leadership to a voter.")
  static final class TransferLeader extends Online {
    @Parameters(paramLabel = "ID", description = "The voter to lead.")
    String id;

    @Override
    void run(NettyAdminClient admin) throws IOException {
      onLeader(
          admin,
          a -> {
            admin.transferLeadership(a, id);
            return null;
          });
      out().println(id + " leads");
    }
  }

  @Command(
      name = "snapshot",
      description = {
        "Makes the members given take a snapshot now; 'snapshot list' and 'snapshot verify' read"
            + " a stopped member's snapshot files."
      },
      subcommands = {
        OfflineCommands.Snapshots.ListFiles.class,
        OfflineCommands.Snapshots.Verify.class
      })
  static final class Snapshot extends Online {
    @Override
    void run(NettyAdminClient admin) throws IOException {
      List<String> failed = new ArrayList<>();
      for (String address : members) {
        try {
          out().println(address + ": snapshot at index " + admin.takeSnapshot(address));
        } catch (IOException | RuntimeException e) {
          failed.add(address);
          err().println("flotilla: " + address + ": " + e.getMessage());
        }
      }
      if (!failed.isEmpty()) {
        throw new IOException("no snapshot on " + String.join(", ", failed));
      }
    }
  }
}
