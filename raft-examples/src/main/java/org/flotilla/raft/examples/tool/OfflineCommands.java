package org.flotilla.raft.examples.tool;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.flotilla.raft.Recovery;
import org.flotilla.raft.cluster.Configuration;
import org.flotilla.raft.cluster.Member;
import org.flotilla.raft.examples.KvCommandDecoder;
import org.flotilla.raft.message.CommandEnvelope;
import org.flotilla.raft.message.EntryType;
import org.flotilla.raft.message.LogEntry;
import org.flotilla.raft.spi.HardState;
import org.flotilla.raft.spi.SnapshotStore;
import org.flotilla.raft.storage.FileLogStore;
import org.flotilla.raft.storage.FileMetaStore;
import org.flotilla.raft.storage.FileSnapshotStore;
import org.flotilla.raft.storage.LogInspector;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * The tool's offline commands: each reads (and {@code recover} rewrites) a stopped member's data
 * directory. The stores' directory locks refuse a directory a running member has open.
 */
final class OfflineCommands {

  private OfflineCommands() {}

  /** Where a member's stores are: a data directory, or each store's directory. */
  static final class Dirs {
    @Option(
        names = {"-d", "--data-dir"},
        paramLabel = "DIR",
        description =
            "The member's data directory, holding log/, meta/ and snapshots/ (as flotilla-kv"
                + " lays it out).")
    Path dataDir;

    @Option(names = "--log-dir", paramLabel = "DIR", description = "The log's directory.")
    Path logDir;

    @Option(
        names = "--meta-dir",
        paramLabel = "DIR",
        description = "The term and vote's directory.")
    Path metaDir;

    @Option(names = "--snapshot-dir", paramLabel = "DIR", description = "The snapshots' directory.")
    Path snapshotDir;

    @Spec(Spec.Target.MIXEE)
    CommandLine.Model.CommandSpec spec;

    Path log() {
      return pick(logDir, "log");
    }

    Path meta() {
      return pick(metaDir, "meta");
    }

    Path snapshots() {
      return pick(snapshotDir, "snapshots");
    }

    private Path pick(Path explicit, String sub) {
      if (explicit != null) {
        return explicit;
      }
      if (dataDir == null) {
        throw new CommandLine.ParameterException(
            spec.commandLine(), "give --data-dir (or --" + sub + "-dir)");
      }
      return dataDir.resolve(sub);
    }
  }

  // ---------------------------------------------------------------- log

  @Command(
      name = "log",
      description = "Reads a stopped member's log.",
      subcommands = {Log.Dump.class, Log.Verify.class})
  static final class Log {

    @Command(
        name = "verify",
        description = {
          "Checks every record of the log as a member's start would (checksums, index and term"
              + " continuity, segment headers), without changing a byte. Exit status 1 if the log"
              + " would not open."
        })
    static final class Verify extends FlotillaTool.Base {
      @Mixin Dirs dirs;

      @Option(
          names = "--progress",
          negatable = true,
          description =
              "Show a progress bar on standard error (default: when the log is over 64 MiB).")
      Boolean progress;

      @Override
      public Integer call() {
        try (LogInspector log = LogInspector.open(dirs.log())) {
          long total = log.totalBytes();
          boolean show = progress != null ? progress : total > (64L << 20);
          ProgressBar bar = show ? new ProgressBar(err(), "verifying", total) : null;
          LogInspector.Report r =
              log.verify(
                  done -> {
                    if (bar != null) {
                      bar.update(done);
                    }
                  });
          if (bar != null) {
            bar.done();
          }
          out()
              .printf(
                  "log %s: entries (%d, %d] in %d segments, %d bytes%n",
                  dirs.log(), r.baseIndex(), r.lastIndex(), r.segments().size(), total);
          r.durableMark()
              .ifPresent(
                  m -> out().printf("last reported durable: entry %d@%d%n", m.index(), m.term()));
          for (String w : r.warnings()) {
            out().println("warning: " + w);
          }
          for (String e : r.errors()) {
            out().println("ERROR: " + e);
          }
          out().println(r.ok() ? "OK" : "CORRUPT: a member would not start on this log");
          return r.ok() ? FlotillaTool.EXIT_OK : FlotillaTool.EXIT_FAILED;
        }
      }
    }

    @Command(
        name = "dump",
        description = {
          "Prints the log's entries: index, term, type, size and, with --decode, the payload."
        })
    static final class Dump extends FlotillaTool.Base {
      @Mixin Dirs dirs;

      @Option(names = "--from", defaultValue = "1", description = "First index (default 1).")
      long from;

      @Option(
          names = "--to",
          defaultValue = "" + Long.MAX_VALUE,
          description = "Last index (default: the last entry).")
      long to;

      @Option(
          names = "--decode",
          defaultValue = "none",
          paramLabel = "DECODER",
          description = {
            "How to show a command's payload: none, hex, text (UTF-8), kv (flotilla-kv's"
                + " commands), or the name of a class on the class path implementing"
                + " java.util.function.Function<java.nio.ByteBuffer, String> (add its jar with"
                + " FLOTILLA_CLASSPATH). Configurations are always decoded."
          })
      String decode;

      @Override
      public Integer call() {
        Function<ByteBuffer, String> decoder = decoder(decode);
        try (LogInspector log = LogInspector.open(dirs.log())) {
          Table t = new Table("INDEX", "TERM", "TYPE", "BYTES", "SESSION", "PAYLOAD");
          long n = log.entries(from, to, e -> t.row(describe(e, decoder)));
          t.print(out());
          err().println(n + " entries");
        }
        return FlotillaTool.EXIT_OK;
      }

      private static String[] describe(LogEntry e, Function<ByteBuffer, String> decoder) {
        String session = "-";
        String payload = "-";
        if (e.type() == EntryType.CONFIGURATION) {
          payload = describeConfiguration(Configuration.decode(e.payload()));
        } else if (e.type() == EntryType.COMMAND) {
          try {
            CommandEnvelope env = CommandEnvelope.decode(e.payload());
            session = env.clientId().map(c -> c + "#" + env.sequence()).orElse("-");
            payload = decoder == null ? "" : decoder.apply(env.command());
          } catch (IllegalArgumentException ex) {
            payload = "(not a command envelope: " + ex.getMessage() + ")";
          }
        }
        return new String[] {
          Long.toString(e.index()),
          Long.toString(e.term()),
          e.type().name(),
          Integer.toString(e.payload().remaining()),
          session,
          payload
        };
      }
    }
  }

  static String describeConfiguration(Configuration c) {
    String voters = c.voters().stream().map(Member::id).collect(Collectors.joining(","));
    StringBuilder sb = new StringBuilder("voters [").append(voters).append(']');
    if (c.isJoint()) {
      sb.append(" joint with [")
          .append(c.outgoing().stream().map(Member::id).collect(Collectors.joining(",")))
          .append(']');
    }
    if (!c.learners().isEmpty()) {
      sb.append(" learners [")
          .append(c.learners().stream().map(Member::id).collect(Collectors.joining(",")))
          .append(']');
    }
    return sb.toString();
  }

  /** The decoder a {@code --decode} value names; null for none. */
  static Function<ByteBuffer, String> decoder(String name) {
    return switch (name) {
      case "none" -> null;
      case "hex" ->
          b -> {
            byte[] bytes = new byte[b.remaining()];
            b.duplicate().get(bytes);
            return HexFormat.of().formatHex(bytes);
          };
      case "text" -> OfflineCommands::text;
      case "kv" -> new KvCommandDecoder();
      default -> load(name);
    };
  }

  @SuppressWarnings("unchecked")
  private static Function<ByteBuffer, String> load(String name) {
    try {
      Class<?> c = Class.forName(name);
      if (!Function.class.isAssignableFrom(c)) {
        throw new IllegalArgumentException(
            name + " does not implement java.util.function.Function<ByteBuffer, String>");
      }
      return (Function<ByteBuffer, String>) c.getDeclaredConstructor().newInstance();
    } catch (ReflectiveOperationException e) {
      throw new IllegalArgumentException(
          "no decoder '"
              + name
              + "': not none, hex, text or kv, and no class of that name with a public"
              + " no-argument constructor on the class path ("
              + e
              + ")",
          e);
    }
  }

  private static String text(ByteBuffer b) {
    try {
      return StandardCharsets.UTF_8
          .newDecoder()
          .onMalformedInput(CodingErrorAction.REPORT)
          .decode(b.duplicate())
          .toString();
    } catch (CharacterCodingException e) {
      return "(not UTF-8: " + b.remaining() + " bytes)";
    }
  }

  // ---------------------------------------------------------------- meta

  @Command(
      name = "meta",
      description = "Reads a stopped member's term and vote.",
      subcommands = {Meta.Show.class})
  static final class Meta {
    @Command(
        name = "show",
        description = "Prints the member's term, vote and initial configuration.")
    static final class Show extends FlotillaTool.Base {
      @Mixin Dirs dirs;

      @Override
      public Integer call() {
        try (FileMetaStore meta = FileMetaStore.open(dirs.meta())) {
          HardState hs = meta.load();
          out().println("term: " + hs.term());
          out().println("voted for: " + (hs.hasVoted() ? hs.votedFor() : "(nobody in this term)"));
          out()
              .println(
                  "initial configuration: "
                      + meta.loadInitialConfiguration()
                          .map(OfflineCommands::describeConfiguration)
                          .orElse("(none stored)"));
        }
        return FlotillaTool.EXIT_OK;
      }
    }
  }

  // ---------------------------------------------------------------- snapshots

  /**
   * {@code snapshot list} and {@code snapshot verify}: subcommands of the online {@code snapshot}.
   */
  static final class Snapshots {

    private Snapshots() {}

    static List<Path> files(Path dir) {
      List<Path> files = new ArrayList<>();
      try (DirectoryStream<Path> s = Files.newDirectoryStream(dir, "snapshot-*.snap")) {
        s.forEach(files::add);
      } catch (IOException e) {
        throw new IllegalArgumentException("cannot list snapshots in " + dir + ": " + e, e);
      }
      files.sort(null);
      return files;
    }

    @Command(name = "list", description = "Lists the snapshots: index, term, size, configuration.")
    static final class ListFiles extends FlotillaTool.Base {
      @Mixin Dirs dirs;

      @Override
      public Integer call() throws IOException {
        Table t = new Table("FILE", "INDEX", "TERM", "BYTES", "CONFIGURATION");
        for (Path f : files(dirs.snapshots())) {
          SnapshotStore.Stored s = FileSnapshotStore.readBackup(f);
          t.row(
              f.getFileName().toString(),
              Long.toString(s.meta().index()),
              Long.toString(s.meta().term()),
              Long.toString(s.size()),
              describeConfiguration(s.meta().configuration()));
        }
        t.print(out());
        return FlotillaTool.EXIT_OK;
      }
    }

    @Command(
        name = "verify",
        description = "Reads every snapshot whole and checks it against its checksum.")
    static final class Verify extends FlotillaTool.Base {
      @Mixin Dirs dirs;

      @Override
      public Integer call() {
        int bad = 0;
        List<Path> files = files(dirs.snapshots());
        for (Path f : files) {
          try {
            SnapshotStore.Stored s = FileSnapshotStore.readBackup(f);
            try (InputStream in = s.open()) {
              in.transferTo(java.io.OutputStream.nullOutputStream());
            }
            out().println("OK " + f.getFileName() + " (" + s.size() + " bytes)");
          } catch (IOException | RuntimeException e) {
            bad++;
            out().println("CORRUPT " + f.getFileName() + ": " + e.getMessage());
          }
        }
        out().println(files.size() + " snapshots, " + bad + " corrupt");
        return bad == 0 ? FlotillaTool.EXIT_OK : FlotillaTool.EXIT_FAILED;
      }
    }
  }

  // ---------------------------------------------------------------- recover

  @Command(
      name = "recover",
      description = {
        "UNSAFE: rewrites a stopped member's configuration to the members given, for a group"
            + " that lost its quorum for good. Acknowledged writes may be lost. Run it on every"
            + " survivor with the same --force-members, then start them. See docs/operations.md,"
            + " \"A group that lost its quorum\"."
      })
  static final class Recover extends FlotillaTool.Base {
    @Mixin Dirs dirs;

    @Option(
        names = "--force-members",
        required = true,
        paramLabel = "ID=HOST:PORT,...",
        description = "The voters from now on, with their Raft addresses.")
    String forceMembers;

    @Option(
        names = "--yes-i-accept-data-loss",
        description = "Required: says you read the warning above.")
    boolean accept;

    @Override
    public Integer call() {
      List<Member> voters = FlotillaTool.parseMembers(forceMembers);
      err()
          .println(
              "WARNING: forcing the configuration to "
                  + voters.stream().map(Member::id).toList()
                  + ". Writes acknowledged with the votes of members that are gone, and not on the"
                  + " survivors, are lost; never run it while any old member may still run.");
      if (!accept) {
        throw new CommandLine.ParameterException(
            spec.commandLine(), "refusing without --yes-i-accept-data-loss");
      }
      try (FileLogStore log = FileLogStore.open(dirs.log(), FileLogStore.Options.defaults());
          FileMetaStore meta = FileMetaStore.open(dirs.meta());
          FileSnapshotStore snapshots = FileSnapshotStore.open(dirs.snapshots(), 2)) {
        long index = Recovery.forceMembers(voters, log, meta, snapshots);
        out()
            .println(
                "forced configuration "
                    + voters.stream().map(m -> m.id() + "=" + m.address()).toList()
                    + " at log index "
                    + index
                    + "; start the member now");
      }
      return FlotillaTool.EXIT_OK;
    }
  }
}
