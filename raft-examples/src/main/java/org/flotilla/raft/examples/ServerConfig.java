package org.flotilla.raft.examples;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.flotilla.raft.cluster.Member;
import picocli.AutoComplete;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * The key-value server's settings, parsed from its command line by picocli ({@link Flags}) and
 * checked here. {@code --help} prints {@link #USAGE}; the exit statuses are {@link #EXIT_OK},
 * {@link #EXIT_CANNOT_START}, {@link #EXIT_USAGE} and {@link #EXIT_FAILED}.
 *
 * @param id this member's id
 * @param dataDir where the log, the term and vote, and the snapshots live
 * @param raftAddress the Raft address other members connect to (as in the member list)
 * @param raftBind the address the Raft transport listens on (default: {@code raftAddress})
 * @param httpAddress the address the HTTP API listens on
 * @param members the initial voters, this node included; with {@code join}, the current voters (for
 *     their HTTP addresses only)
 * @param httpAddresses member id to HTTP address, for forwarding
 * @param join whether this node starts as a new, not yet added member
 * @param clusterId the cluster id the transport's handshakes carry
 * @param electionTimeout the base election timeout
 * @param heartbeat the heartbeat interval
 * @param snapshotThreshold entries between automatic snapshots
 * @param segmentSize the size of the log's segment files, in bytes: the log is compacted (after a
 *     snapshot) a whole segment at a time
 * @param tlsCert PEM certificate chain, or null without TLS
 * @param tlsKey PEM private key, or null
 * @param tlsCa PEM CA certificates, or null
 * @param maxBodyBytes the largest HTTP request body
 * @param maxConnections the most HTTP connections at once
 * @param idleTimeout how long an HTTP connection may stay idle
 * @param requestTimeout how long a request waits for its outcome before 504
 * @param failureExitDelay how long the process stays up after a fatal error before it exits
 * @param keepRunningOnFailure whether it stays up after a fatal error, for inspection
 * @param adminRequests whether the {@code flotilla} tool may operate this member over its Raft port
 * @param shards the number of Raft groups the keys are spread over, each replicated on {@code
 *     replicas} of the {@code members} (a sharded cluster, {@link ShardedKvServer}); 0 for one
 *     group replicated on every member ({@link KvServer})
 * @param replicas how many members hold each group of a sharded cluster
 * @param rebalanceInterval how often a sharded server hands the groups it leads to their preferred
 *     leaders; zero for never (only {@code POST /rebalance})
 */
record ServerConfig(
    String id,
    Path dataDir,
    String raftAddress,
    String raftBind,
    String httpAddress,
    List<Member> members,
    Map<String, String> httpAddresses,
    boolean join,
    String clusterId,
    Duration electionTimeout,
    Duration heartbeat,
    long snapshotThreshold,
    long segmentSize,
    Path tlsCert,
    Path tlsKey,
    Path tlsCa,
    int maxBodyBytes,
    int maxConnections,
    Duration idleTimeout,
    Duration requestTimeout,
    Duration failureExitDelay,
    boolean keepRunningOnFailure,
    boolean adminRequests,
    int shards,
    int replicas,
    Duration rebalanceInterval) {

  /**
   * The exit status after {@code --help} or {@code --completion}. (A server stopped by SIGTERM
   * closes gracefully and exits as the JVM does on that signal, with 143.)
   */
  static final int EXIT_OK = 0;

  /**
   * The exit status of a server that could not start: its data directory is in use or damaged, or a
   * listening address cannot be bound. The log says why, in one line.
   */
  static final int EXIT_CANNOT_START = 1;

  /** The exit status for a command line that does not parse or fails validation. */
  static final int EXIT_USAGE = 2;

  /** The exit status of a server that stopped after a fatal error (a failed disk, apply, ...). */
  static final int EXIT_FAILED = 3;

  /** The help text, as {@code --help} prints it. */
  static final String USAGE = commandLine(new Flags()).getUsageMessage(CommandLine.Help.Ansi.OFF);

  /** What a command line asks for. */
  sealed interface Invocation permits Run, Help, Completion {}

  /**
   * Run a server.
   *
   * @param config its settings
   */
  record Run(ServerConfig config) implements Invocation {}

  /** Print the help ({@link #USAGE}). */
  record Help() implements Invocation {}

  /**
   * Print a bash completion script.
   *
   * @param script the script
   */
  record Completion(String script) implements Invocation {}

  /**
   * The flags as picocli reads them, before the checks that involve several flags. Instances are
   * filled by picocli and read once; not shared between threads.
   */
  @Command(
      name = "flotilla-kv",
      customSynopsis = {
        "flotilla-kv --id ID --data-dir DIR --members ID=RAFTHOST:PORT@HTTPHOST:PORT,...",
        "            [options]"
      },
      description = {
        "",
        "A replicated key-value server built on Flotilla (Raft). Every node answers every",
        "request and forwards writes to the leader.",
        ""
      },
      optionListHeading = "Options (--id, --data-dir and --members are required):%n",
      sortOptions = false,
      usageHelpWidth = 100,
      footer = {
        "",
        "HTTP API: every endpoint, parameter, header, status code and JSON body is in",
        "  docs/http-api.md (https://github.com/flotilla-raft/flotilla/blob/main/docs/http-api.md)",
        "",
        "Exit status:",
        "  0  after --help or --completion",
        "  1  the server cannot start: its data directory is in use or damaged, or an address",
        "     cannot be bound (the log says which, in one line)",
        "  2  a bad command line",
        "  3  a fatal error stopped the node (see --failure-exit-delay-ms)",
        "  A stop by SIGTERM (a graceful close) exits as the JVM does on that signal: 143.",
        "",
        "Logging: logback, with the logback.xml in the jar: the console, and a rolling file in",
        "  the directory -Dflotilla.log.dir (default: logs). -Dlogback.configurationFile=FILE",
        "  replaces it; see docs/operations.md, \"Logs\"."
      })
  static final class Flags {
    @Option(
        names = "--id",
        paramLabel = "ID",
        description = "this member's id (letters, digits, '.', '_', '-')")
    String id;

    @Option(
        names = "--data-dir",
        paramLabel = "DIR",
        description = "directory for the log, term/vote and snapshots")
    Path dataDir;

    @Option(
        names = "--members",
        paramLabel = "LIST",
        description = {
          "the initial voters, comma separated, each ID=RAFTHOST:PORT@HTTPHOST:PORT (this node"
              + " included); stored at the first start, and a restart with another list is refused"
        })
    String members;

    @Option(
        names = "--raft-address",
        paramLabel = "HOST:PORT",
        description = "this node's Raft address (default: from --members)")
    String raftAddress;

    @Option(
        names = "--raft-bind",
        paramLabel = "HOST:PORT",
        description = "where the Raft transport listens (default: --raft-address)")
    String raftBind;

    @Option(
        names = "--http-address",
        paramLabel = "HOST:PORT",
        description = "where the HTTP API listens (default: from --members)")
    String httpAddress;

    @Option(
        names = "--join",
        description = {
          "start as a new member that the cluster adds later (POST /members), with no"
              + " configuration of its own; --members lists the current voters, for their HTTP"
              + " addresses. Keep --join on every restart of this member"
        })
    boolean join;

    @Option(
        names = "--cluster-id",
        paramLabel = "ID",
        defaultValue = "flotilla-kv",
        description = "cluster id checked in every handshake (default: ${DEFAULT-VALUE})")
    String clusterId;

    @Option(
        names = "--election-timeout-ms",
        paramLabel = "N",
        defaultValue = "1000",
        converter = WholeNumber.class,
        description = "base election timeout, 2 to 60000 (default: ${DEFAULT-VALUE})")
    long electionTimeoutMs;

    @Option(
        names = "--heartbeat-ms",
        paramLabel = "N",
        defaultValue = "100",
        converter = WholeNumber.class,
        description =
            "heartbeat interval, 1 to 60000, below the election timeout (default: ${DEFAULT-VALUE})")
    long heartbeatMs;

    @Option(
        names = "--snapshot-threshold",
        paramLabel = "N",
        defaultValue = "10000",
        converter = WholeNumber.class,
        description = "entries between automatic snapshots (default: ${DEFAULT-VALUE})")
    long snapshotThreshold;

    @Option(
        names = "--segment-size",
        paramLabel = "BYTES",
        defaultValue = "67108864",
        converter = WholeNumber.class,
        description = {
          "size of the log's segment files, 4096 to 1073741824 (default: ${DEFAULT-VALUE}); after"
              + " a snapshot the log is compacted a whole segment at a time"
        })
    long segmentSize;

    @Option(
        names = "--tls-cert",
        paramLabel = "FILE",
        description = "PEM certificate chain for mutual TLS between members")
    Path tlsCert;

    @Option(names = "--tls-key", paramLabel = "FILE", description = "PEM private key (PKCS#8)")
    Path tlsKey;

    @Option(
        names = "--tls-ca",
        paramLabel = "FILE",
        description = "PEM CA certificates members must be signed by")
    Path tlsCa;

    @Option(
        names = "--max-body-bytes",
        paramLabel = "N",
        defaultValue = "1048576",
        converter = WholeNumber.class,
        description =
            "largest HTTP request body; a larger one gets 413 (default: ${DEFAULT-VALUE})")
    long maxBodyBytes;

    @Option(
        names = "--max-connections",
        paramLabel = "N",
        defaultValue = "1024",
        converter = WholeNumber.class,
        description = "most HTTP connections at once (default: ${DEFAULT-VALUE})")
    long maxConnections;

    @Option(
        names = "--idle-timeout-ms",
        paramLabel = "N",
        defaultValue = "60000",
        converter = WholeNumber.class,
        description = "close HTTP connections idle this long (default: ${DEFAULT-VALUE})")
    long idleTimeoutMs;

    @Option(
        names = "--request-timeout-ms",
        paramLabel = "N",
        defaultValue = "5000",
        converter = WholeNumber.class,
        description = "answer 504 after this long without an outcome (default: ${DEFAULT-VALUE})")
    long requestTimeoutMs;

    @Option(
        names = "--failure-exit-delay-ms",
        paramLabel = "N",
        defaultValue = "5000",
        converter = WholeNumber.class,
        description = {
          "after a fatal error (a failed disk, a state machine that threw), answer 503 and report"
              + " FAILED for this long, then exit with status 3 (default: ${DEFAULT-VALUE})"
        })
    long failureExitDelayMs;

    @Option(
        names = "--keep-running-on-failure",
        description = {
          "after a fatal error, stay up (answering 503, reporting FAILED) until stopped, for"
              + " inspection"
        })
    boolean keepRunningOnFailure;

    @Option(
        names = "--admin-requests",
        description = {
          "let the flotilla tool operate this member over its Raft port (status, membership,"
              + " leadership, snapshots); use with TLS off a trusted network"
        })
    boolean adminRequests;

    @Option(
        names = "--shards",
        paramLabel = "K",
        defaultValue = "0",
        converter = WholeNumber.class,
        description = {
          "spread the keys over K Raft groups, 1 to 4096, each on --replicas of the --members"
              + " (placed round-robin); 0, the default, runs one group on every member. Keep the"
              + " same --shards, --replicas and --members on every server and restart"
        })
    long shards;

    @Option(
        names = "--replicas",
        paramLabel = "R",
        defaultValue = "3",
        converter = WholeNumber.class,
        description =
            "with --shards: members holding each group, 1 to the number of --members (default:"
                + " ${DEFAULT-VALUE})")
    long replicas;

    @Option(
        names = "--rebalance-interval-ms",
        paramLabel = "N",
        defaultValue = "5000",
        converter = WholeNumber.class,
        description =
            "with --shards: how often a server hands the groups it leads to their preferred"
                + " leaders, 0 (never; POST /rebalance only) to 3600000 (default: ${DEFAULT-VALUE})")
    long rebalanceIntervalMs;

    @Option(
        names = "--completion",
        description = {
          "print a bash completion script for these flags and exit; load it with",
          "source <(flotilla-kv --completion)"
        })
    boolean completion;

    @Option(
        names = {"-h", "--help"},
        usageHelp = true,
        description = "print this help and exit")
    boolean help;
  }

  /** Reads a whole number, with an error that names what was given. */
  static final class WholeNumber implements CommandLine.ITypeConverter<Long> {
    @Override
    public Long convert(String value) {
      try {
        return Long.parseLong(value.trim());
      } catch (NumberFormatException e) {
        throw new CommandLine.TypeConversionException(
            "must be a whole number, got '" + value + "'");
      }
    }
  }

  private static CommandLine commandLine(Flags flags) {
    return new CommandLine(flags)
        .setOverwrittenOptionsAllowed(false)
        .setUnmatchedArgumentsAllowed(false)
        .setAbbreviatedOptionsAllowed(false)
        .setPosixClusteredShortOptionsAllowed(false);
  }

  /**
   * Parses a command line into what it asks for.
   *
   * @param args the arguments
   * @return a server to run, or help or completion to print
   * @throws IllegalArgumentException naming the first bad or missing flag
   */
  static Invocation invocation(String[] args) {
    Flags f = new Flags();
    CommandLine cl = commandLine(f);
    try {
      cl.parseArgs(args);
    } catch (CommandLine.ParameterException e) {
      throw new IllegalArgumentException(e.getMessage(), e);
    }
    if (f.help) {
      return new Help();
    }
    if (f.completion) {
      return new Completion(AutoComplete.bash("flotilla-kv", cl));
    }
    return new Run(check(f));
  }

  /**
   * Parses a command line that runs a server.
   *
   * @param args the arguments
   * @return the settings
   * @throws IllegalArgumentException naming the first bad or missing flag, or if the command line
   *     asks for help or completion instead
   */
  static ServerConfig parse(String[] args) {
    if (invocation(args) instanceof Run run) {
      return run.config();
    }
    throw new IllegalArgumentException("--help and --completion run no server");
  }

  /** Checks what one flag's type cannot: required flags, ranges, and flags that go together. */
  private static ServerConfig check(Flags f) {
    String id = required(f.id, "--id");
    Member.of(id); // checks the characters
    Path dataDir = Path.of(required(f.dataDir == null ? null : f.dataDir.toString(), "--data-dir"));
    String membersFlag = required(f.members, "--members");
    List<Member> members = new ArrayList<>();
    Map<String, String> http = new LinkedHashMap<>();
    for (String part : membersFlag.split(",", -1)) {
      String p = part.trim();
      int eq = p.indexOf('=');
      int at = p.indexOf('@');
      if (eq <= 0 || at < eq) {
        throw new IllegalArgumentException(
            "--members entry '" + p + "' is not ID=RAFTHOST:PORT@HTTPHOST:PORT");
      }
      String mid = p.substring(0, eq);
      String raft = hostPort("--members raft address of " + mid, p.substring(eq + 1, at));
      String h = hostPort("--members http address of " + mid, p.substring(at + 1));
      if (http.put(mid, h) != null) {
        throw new IllegalArgumentException("--members lists " + mid + " twice");
      }
      members.add(Member.of(mid, raft));
    }
    boolean join = f.join;
    String raftAddress = f.raftAddress;
    String httpAddress = f.httpAddress;
    boolean listed = http.containsKey(id);
    if (join && listed) {
      throw new IllegalArgumentException(
          "--join: --members must list the current voters without this node (" + id + ")");
    }
    if (!join && !listed) {
      throw new IllegalArgumentException(
          "--members must include this node (" + id + "), or use --join to start as a new member");
    }
    if (raftAddress == null) {
      if (!listed) {
        throw new IllegalArgumentException("--raft-address is required with --join");
      }
      raftAddress = members.stream().filter(m -> m.id().equals(id)).findFirst().get().address();
    }
    if (httpAddress == null) {
      if (!listed) {
        throw new IllegalArgumentException("--http-address is required with --join");
      }
      httpAddress = http.get(id);
    }
    raftAddress = hostPort("--raft-address", raftAddress);
    httpAddress = hostPort("--http-address", httpAddress);
    if (listed && !http.get(id).equals(httpAddress)) {
      throw new IllegalArgumentException(
          "--http-address " + httpAddress + " differs from --members (" + http.get(id) + ")");
    }
    http.put(id, httpAddress);
    String raftBind = hostPort("--raft-bind", f.raftBind == null ? raftAddress : f.raftBind);
    Duration election =
        Duration.ofMillis(range("--election-timeout-ms", f.electionTimeoutMs, 2, 60_000));
    Duration heartbeat = Duration.ofMillis(range("--heartbeat-ms", f.heartbeatMs, 1, 60_000));
    if (heartbeat.compareTo(election) >= 0) {
      throw new IllegalArgumentException(
          "--heartbeat-ms must be below --election-timeout-ms: " + heartbeat + " >= " + election);
    }
    long snapshot = range("--snapshot-threshold", f.snapshotThreshold, 0, 1_000_000_000L);
    long segmentSize = range("--segment-size", f.segmentSize, 4096, 1 << 30);
    Path cert = readable("--tls-cert", f.tlsCert);
    Path key = readable("--tls-key", f.tlsKey);
    Path ca = readable("--tls-ca", f.tlsCa);
    int tlsCount = (cert == null ? 0 : 1) + (key == null ? 0 : 1) + (ca == null ? 0 : 1);
    if (tlsCount != 0 && tlsCount != 3) {
      throw new IllegalArgumentException("TLS needs all of --tls-cert, --tls-key and --tls-ca");
    }
    int maxBody = (int) range("--max-body-bytes", f.maxBodyBytes, 1, 64 << 20);
    int maxConn = (int) range("--max-connections", f.maxConnections, 1, 1_000_000);
    Duration idle = Duration.ofMillis(range("--idle-timeout-ms", f.idleTimeoutMs, 100, 86_400_000));
    Duration request =
        Duration.ofMillis(range("--request-timeout-ms", f.requestTimeoutMs, 10, 3_600_000));
    Duration exitDelay =
        Duration.ofMillis(range("--failure-exit-delay-ms", f.failureExitDelayMs, 0, 3_600_000));
    int shards = (int) range("--shards", f.shards, 0, ShardedKvServer.MAX_SHARDS);
    // Without --shards, the one group is on every member.
    int replicas =
        shards > 0 ? (int) range("--replicas", f.replicas, 1, members.size()) : members.size();
    Duration rebalance =
        Duration.ofMillis(range("--rebalance-interval-ms", f.rebalanceIntervalMs, 0, 3_600_000));
    if (shards > 0 && join) {
      throw new IllegalArgumentException(
          "--join does not apply with --shards: a sharded cluster's servers are its --members, and"
              + " replicas move between them (POST /shards/{group}/move)");
    }
    return new ServerConfig(
        id,
        dataDir,
        raftAddress,
        raftBind,
        httpAddress,
        List.copyOf(members),
        Map.copyOf(http),
        join,
        f.clusterId,
        election,
        heartbeat,
        snapshot,
        segmentSize,
        cert,
        key,
        ca,
        maxBody,
        maxConn,
        idle,
        request,
        exitDelay,
        f.keepRunningOnFailure,
        f.adminRequests,
        shards,
        replicas,
        rebalance);
  }

  private static String required(String v, String name) {
    if (v == null || v.isBlank()) {
      throw new IllegalArgumentException(name + " is required (see --help)");
    }
    return v;
  }

  private static long range(String name, long n, long min, long max) {
    if (n < min || n > max) {
      throw new IllegalArgumentException(name + " must be in [" + min + ", " + max + "]: " + n);
    }
    return n;
  }

  private static Path readable(String name, Path p) {
    if (p != null && !Files.isReadable(p)) {
      throw new IllegalArgumentException(name + " " + p + " is not a readable file");
    }
    return p;
  }

  /**
   * Checks a "host:port" address.
   *
   * @param what the flag, for the message
   * @param address the address
   * @return the address, trimmed
   */
  static String hostPort(String what, String address) {
    String a = address.trim();
    int colon = a.lastIndexOf(':');
    if (colon <= 0 || colon == a.length() - 1) {
      throw new IllegalArgumentException(what + " '" + a + "' is not HOST:PORT");
    }
    int port;
    try {
      port = Integer.parseInt(a.substring(colon + 1));
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(what + " '" + a + "' has no numeric port", e);
    }
    if (port < 1 || port > 65535) {
      throw new IllegalArgumentException(what + " '" + a + "' has a port outside [1, 65535]");
    }
    return a;
  }

  /**
   * Returns the host part of "host:port".
   *
   * @param address the address
   * @return the host
   */
  static String host(String address) {
    String h = address.substring(0, address.lastIndexOf(':'));
    return h.startsWith("[") && h.endsWith("]") ? h.substring(1, h.length() - 1) : h;
  }

  /**
   * Returns the port part of "host:port".
   *
   * @param address the address
   * @return the port
   */
  static int port(String address) {
    return Integer.parseInt(address.substring(address.lastIndexOf(':') + 1));
  }
}
