package org.flotilla.raft.examples.tool;

import java.io.OutputStreamWriter;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.flotilla.raft.OutcomeUnknownException;
import org.flotilla.raft.cluster.Member;
import org.flotilla.raft.transport.netty.NettyAdminClient;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

/**
 * {@code flotilla}: the operator's tool for any group that embeds Flotilla with the Netty
 * transport. Online commands talk to members over their Raft port ({@link NettyAdminClient}; the
 * members must enable admin requests); offline commands read a stopped member's data directory.
 * {@code docs/operations.md} ("The flotilla tool") shows each command.
 *
 * <p>Exit statuses: 0 done; 1 the operation failed (a member refused it, none could be reached, a
 * log or snapshot failed its checks); 2 the command line is wrong; 3 the outcome is unknown (a
 * membership change whose member lost leadership before it committed).
 */
@Command(
    name = "flotilla",
    mixinStandardHelpOptions = true,
    versionProvider = FlotillaTool.Version.class,
    description = {
      "Operates a Flotilla group: online over the members' Raft ports, offline on a stopped"
          + " member's data directory. docs/operations.md (\"The flotilla tool\") shows each"
          + " command."
    },
    subcommands = {
      OnlineCommands.Status.class,
      OnlineCommands.Members.class,
      OnlineCommands.AddLearner.class,
      OnlineCommands.Promote.class,
      OnlineCommands.Remove.class,
      OnlineCommands.TransferLeader.class,
      OnlineCommands.Snapshot.class,
      OfflineCommands.Log.class,
      OfflineCommands.Meta.class,
      OfflineCommands.Recover.class,
      CommandLine.HelpCommand.class
    })
public final class FlotillaTool implements Runnable {

  /** The operation was done. */
  public static final int EXIT_OK = 0;

  /** The operation failed: refused, unreachable, or a check failed. */
  public static final int EXIT_FAILED = 1;

  /** The command line is wrong. */
  public static final int EXIT_USAGE = 2;

  /** The outcome is unknown. */
  public static final int EXIT_UNKNOWN = 3;

  @Spec CommandLine.Model.CommandSpec spec;

  @Option(
      names = "--cluster-id",
      defaultValue = "flotilla-kv",
      description =
          "The cluster id the members were started with (default: ${DEFAULT-VALUE}, as"
              + " flotilla-kv; an embedded group needs its own).")
  String clusterId;

  @Option(
      names = "--group",
      defaultValue = "kv",
      description =
          "The Raft group (default: ${DEFAULT-VALUE}, as flotilla-kv; RaftNode's default is"
              + " 'default').")
  String group;

  @Option(
      names = "--timeout",
      defaultValue = "30s",
      converter = DurationConverter.class,
      description = "How long each request may take, e.g. 5s, 500ms (default: ${DEFAULT-VALUE}).")
  Duration timeout;

  @Option(names = "--tls-cert", description = "PEM certificate chain of the tool (mutual TLS).")
  Path tlsCert;

  @Option(names = "--tls-key", description = "PEM private key (PKCS#8) of the tool.")
  Path tlsKey;

  @Option(names = "--tls-ca", description = "PEM CA certificates the members' chain to.")
  Path tlsCa;

  @Override
  public void run() {
    throw new CommandLine.ParameterException(spec.commandLine(), "a command is required");
  }

  /**
   * Runs the tool.
   *
   * @param args the command line
   */
  public static void main(String[] args) {
    if (System.getProperty("logback.configurationFile") == null) {
      // Before any logger exists: the libraries' INFO lines would mix with the tool's output.
      System.setProperty("logback.configurationFile", "flotilla-tool-logback.xml");
    }
    System.exit(
        run(
            args,
            new PrintWriter(new OutputStreamWriter(System.out, StandardCharsets.UTF_8), true),
            new PrintWriter(new OutputStreamWriter(System.err, StandardCharsets.UTF_8), true)));
  }

  /**
   * Runs the tool with the given output streams.
   *
   * @param args the command line
   * @param out where results go
   * @param err where errors and progress go
   * @return the exit status
   */
  public static int run(String[] args, PrintWriter out, PrintWriter err) {
    CommandLine cl = new CommandLine(new FlotillaTool());
    cl.setOut(out);
    cl.setErr(err);
    cl.setExecutionExceptionHandler(
        (e, commandLine, parseResult) -> {
          commandLine.getErr().println("flotilla: " + message(e));
          if (e instanceof OutcomeUnknownException) {
            return EXIT_UNKNOWN;
          }
          return EXIT_FAILED;
        });
    cl.setParameterExceptionHandler(
        (e, args1) -> {
          e.getCommandLine().getErr().println("flotilla: " + e.getMessage());
          e.getCommandLine().getErr().println("Try 'flotilla --help'.");
          return EXIT_USAGE;
        });
    return cl.execute(args);
  }

  private static String message(Throwable e) {
    return e.getMessage() != null ? e.getMessage() : e.toString();
  }

  /** Opens an admin client with the tool's settings. */
  NettyAdminClient client() {
    NettyAdminClient.Builder b =
        NettyAdminClient.builder().clusterId(clusterId).groupId(group).timeout(timeout);
    if (tlsCert != null || tlsKey != null || tlsCa != null) {
      if (tlsCert == null || tlsKey == null || tlsCa == null) {
        throw new CommandLine.ParameterException(
            spec.commandLine(), "TLS needs --tls-cert, --tls-key and --tls-ca together");
      }
      b.tls(tlsCert, tlsKey, tlsCa);
    }
    return b.build();
  }

  /** Parses {@code id=host:port} members. */
  static List<Member> parseMembers(String list) {
    List<Member> members = new ArrayList<>();
    for (String item : list.split(",", -1)) {
      int eq = item.indexOf('=');
      if (eq <= 0 || eq == item.length() - 1) {
        throw new IllegalArgumentException(
            "a member is ID=HOST:PORT (its Raft address), not '" + item + "'");
      }
      members.add(Member.of(item.substring(0, eq), item.substring(eq + 1)));
    }
    return members;
  }

  /** Reads durations such as {@code 30s}, {@code 500ms} or {@code 2m}. */
  static final class DurationConverter implements CommandLine.ITypeConverter<Duration> {
    @Override
    public Duration convert(String value) {
      String v = value.trim().toLowerCase(java.util.Locale.ROOT);
      try {
        if (v.endsWith("ms")) {
          return Duration.ofMillis(Long.parseLong(v.substring(0, v.length() - 2)));
        }
        if (v.endsWith("s")) {
          return Duration.ofSeconds(Long.parseLong(v.substring(0, v.length() - 1)));
        }
        if (v.endsWith("m")) {
          return Duration.ofMinutes(Long.parseLong(v.substring(0, v.length() - 1)));
        }
      } catch (NumberFormatException e) {
        // falls through to the message below
      }
      throw new CommandLine.TypeConversionException(
          "not a duration (like 30s, 500ms or 2m): '" + value + "'");
    }
  }

  /** The tool's version: the jar's implementation version. */
  static final class Version implements CommandLine.IVersionProvider {
    @Override
    public String[] getVersion() {
      String v = FlotillaTool.class.getPackage().getImplementationVersion();
      return new String[] {"flotilla " + (v == null ? "(development build)" : v)};
    }
  }

  /** A command with its own output streams (those {@link #run} was given). */
  abstract static class Base implements java.util.concurrent.Callable<Integer> {
    @Spec CommandLine.Model.CommandSpec spec;

    PrintWriter out() {
      return spec.commandLine().getOut();
    }

    PrintWriter err() {
      return spec.commandLine().getErr();
    }
  }

  /** A command of the tool itself, with access to its shared options. */
  abstract static class Sub extends Base {
    @ParentCommand FlotillaTool tool;
  }
}
