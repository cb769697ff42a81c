package org.flotilla.raft.examples;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.flotilla.raft.cluster.Member;

/**
 * The key-value server's settings, parsed and checked from its command line.
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
    boolean keepRunningOnFailure) {

  /** The exit status of a server that stopped after a fatal error (a failed disk, apply, ...). */
  static final int EXIT_FAILED = 3;

  static final String USAGE =
      """
      Usage: flotilla-kv --id ID --data-dir DIR --members ID=RAFTHOST:PORT@HTTPHOST:PORT,...
                         [options]

      A replicated key-value server built on Flotilla (Raft). Every node answers every request
      and forwards writes to the leader.

      Required:
        --id ID                     this member's id (letters, digits, '.', '_', '-')
        --data-dir DIR              directory for the log, term/vote and snapshots
        --members LIST              the initial voters, comma separated,
                                    each ID=RAFTHOST:PORT@HTTPHOST:PORT (this node included);
                                    stored at the first start, and a restart with another
                                    list is refused
      Options:
        --raft-address HOST:PORT    this node's Raft address (default: from --members)
        --raft-bind HOST:PORT       where the Raft transport listens (default: --raft-address)
        --http-address HOST:PORT    where the HTTP API listens (default: from --members)
        --join                      start as a new member that the cluster adds later
                                    (POST /members), with no configuration of its own;
                                    --members lists the current voters, for their HTTP
                                    addresses. Keep --join on every restart of this member
        --cluster-id ID             cluster id checked in every handshake (default flotilla-kv)
        --election-timeout-ms N     base election timeout (default 1000)
        --heartbeat-ms N            heartbeat interval (default 100)
        --snapshot-threshold N      entries between automatic snapshots (default 10000)
        --segment-size BYTES        size of the log's segment files, 4096 to 1073741824
                                    (default 67108864); after a snapshot the log is
                                    compacted a whole segment at a time
        --tls-cert FILE             PEM certificate chain for mutual TLS between members
        --tls-key FILE              PEM private key (PKCS#8)
        --tls-ca FILE               PEM CA certificates members must be signed by
        --max-body-bytes N          largest HTTP request body (default 1048576)
        --max-connections N         most HTTP connections at once (default 1024)
        --idle-timeout-ms N         close HTTP connections idle this long (default 60000)
        --request-timeout-ms N      answer 504 after this long without an outcome (default 5000)
        --failure-exit-delay-ms N   after a fatal error (a failed disk, a state machine that
                                    threw), answer 503 and report FAILED for this long, then
                                    exit with status 3 (default 5000)
        --keep-running-on-failure   after a fatal error, stay up (answering 503, reporting
                                    FAILED) until stopped, for inspection
        --help                      print this help
      """;

  /**
   * Parses a command line.
   *
   * @param args the arguments
   * @return the settings
   * @throws IllegalArgumentException naming the first bad or missing flag
   */
  static ServerConfig parse(String[] args) {
    Map<String, String> flags = new LinkedHashMap<>();
    boolean join = false;
    boolean keepRunning = false;
    for (int i = 0; i < args.length; i++) {
      String a = args[i];
      if (a.equals("--join")) {
        join = true;
        continue;
      }
      if (a.equals("--keep-running-on-failure")) {
        keepRunning = true;
        continue;
      }
      if (!a.startsWith("--")) {
        throw new IllegalArgumentException("unexpected argument '" + a + "'");
      }
      String name = a;
      String value;
      int eq = a.indexOf('=');
      if (eq > 0) {
        name = a.substring(0, eq);
        value = a.substring(eq + 1);
      } else {
        if (i + 1 >= args.length) {
          throw new IllegalArgumentException(a + " needs a value");
        }
        value = args[++i];
      }
      if (!KNOWN.contains(name)) {
        throw new IllegalArgumentException("unknown flag " + name + " (see --help)");
      }
      if (flags.put(name, value) != null) {
        throw new IllegalArgumentException(name + " given twice");
      }
    }
    String id = required(flags, "--id");
    Member.of(id); // checks the characters
    Path dataDir = Path.of(required(flags, "--data-dir"));
    String membersFlag = required(flags, "--members");
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
    String raftAddress = flags.get("--raft-address");
    String httpAddress = flags.get("--http-address");
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
    String raftBind = hostPort("--raft-bind", flags.getOrDefault("--raft-bind", raftAddress));
    String clusterId = flags.getOrDefault("--cluster-id", "flotilla-kv");
    Duration election = Duration.ofMillis(number(flags, "--election-timeout-ms", 1000, 2, 60_000));
    Duration heartbeat = Duration.ofMillis(number(flags, "--heartbeat-ms", 100, 1, 60_000));
    if (heartbeat.compareTo(election) >= 0) {
      throw new IllegalArgumentException(
          "--heartbeat-ms must be below --election-timeout-ms: " + heartbeat + " >= " + election);
    }
    long snapshot = number(flags, "--snapshot-threshold", 10_000, 0, 1_000_000_000L);
    long segmentSize = number(flags, "--segment-size", 64 << 20, 4096, 1 << 30);
    Path cert = file(flags, "--tls-cert");
    Path key = file(flags, "--tls-key");
    Path ca = file(flags, "--tls-ca");
    int tlsCount = (cert == null ? 0 : 1) + (key == null ? 0 : 1) + (ca == null ? 0 : 1);
    if (tlsCount != 0 && tlsCount != 3) {
      throw new IllegalArgumentException("TLS needs all of --tls-cert, --tls-key and --tls-ca");
    }
    int maxBody = (int) number(flags, "--max-body-bytes", 1 << 20, 1, 64 << 20);
    int maxConn = (int) number(flags, "--max-connections", 1024, 1, 1_000_000);
    Duration idle = Duration.ofMillis(number(flags, "--idle-timeout-ms", 60_000, 100, 86_400_000));
    Duration request =
        Duration.ofMillis(number(flags, "--request-timeout-ms", 5_000, 10, 3_600_000));
    Duration exitDelay =
        Duration.ofMillis(number(flags, "--failure-exit-delay-ms", 5_000, 0, 3_600_000));
    return new ServerConfig(
        id,
        dataDir,
        raftAddress,
        raftBind,
        httpAddress,
        List.copyOf(members),
        Map.copyOf(http),
        join,
        clusterId,
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
        keepRunning);
  }

  private static final List<String> KNOWN =
      List.of(
          "--id",
          "--data-dir",
          "--members",
          "--raft-address",
          "--raft-bind",
          "--http-address",
          "--cluster-id",
          "--election-timeout-ms",
          "--heartbeat-ms",
          "--snapshot-threshold",
          "--segment-size",
          "--tls-cert",
          "--tls-key",
          "--tls-ca",
          "--max-body-bytes",
          "--max-connections",
          "--idle-timeout-ms",
          "--request-timeout-ms",
          "--failure-exit-delay-ms");

  private static String required(Map<String, String> flags, String name) {
    String v = flags.get(name);
    if (v == null || v.isBlank()) {
      throw new IllegalArgumentException(name + " is required (see --help)");
    }
    return v;
  }

  private static long number(
      Map<String, String> flags, String name, long dflt, long min, long max) {
    String v = flags.get(name);
    if (v == null) {
      return dflt;
    }
    long n;
    try {
      n = Long.parseLong(v.trim());
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(name + " must be a whole number, got '" + v + "'", e);
    }
    if (n < min || n > max) {
      throw new IllegalArgumentException(name + " must be in [" + min + ", " + max + "]: " + n);
    }
    return n;
  }

  private static Path file(Map<String, String> flags, String name) {
    String v = flags.get(name);
    if (v == null) {
      return null;
    }
    Path p = Path.of(v);
    if (!Files.isReadable(p)) {
      throw new IllegalArgumentException(name + " " + v + " is not a readable file");
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
