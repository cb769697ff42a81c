package org.flotilla.raft.examples;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import org.flotilla.raft.cluster.Member;
import org.junit.jupiter.api.Test;

class ServerConfigTest {

  private static final String MEMBERS =
      "n1=127.0.0.1:7001@127.0.0.1:8001,n2=127.0.0.1:7002@127.0.0.1:8002";

  @Test
  void derivesThisNodesAddressesFromTheMemberList() {
    ServerConfig c =
        ServerConfig.parse(
            new String[] {
              "--id",
              "n2",
              "--data-dir",
              "/tmp/x",
              "--members",
              MEMBERS,
              "--election-timeout-ms=300",
              "--heartbeat-ms",
              "30"
            });
    assertThat(c.raftAddress()).isEqualTo("127.0.0.1:7002");
    assertThat(c.raftBind()).isEqualTo("127.0.0.1:7002");
    assertThat(c.httpAddress()).isEqualTo("127.0.0.1:8002");
    assertThat(c.members())
        .containsExactly(Member.of("n1", "127.0.0.1:7001"), Member.of("n2", "127.0.0.1:7002"));
    assertThat(c.httpAddresses()).containsEntry("n1", "127.0.0.1:8001");
    assertThat(c.electionTimeout()).isEqualTo(Duration.ofMillis(300));
    assertThat(c.join()).isFalse();
    assertThat(c.failureExitDelay()).isEqualTo(Duration.ofSeconds(5));
    assertThat(c.keepRunningOnFailure()).isFalse();
  }

  @Test
  void afterAFatalErrorTheServerExitsAfterTheDelayUnlessToldToKeepRunning() {
    ServerConfig c =
        ServerConfig.parse(
            new String[] {
              "--id", "n1",
              "--data-dir", "/tmp/x",
              "--members", MEMBERS,
              "--failure-exit-delay-ms", "250",
              "--keep-running-on-failure"
            });
    assertThat(c.failureExitDelay()).isEqualTo(Duration.ofMillis(250));
    assertThat(c.keepRunningOnFailure()).isTrue();
    assertThat(ServerConfig.USAGE).contains("--failure-exit-delay-ms", "--keep-running-on-failure");
    assertThatThrownBy(
            () ->
                ServerConfig.parse(
                    new String[] {
                      "--id",
                      "n1",
                      "--data-dir",
                      "/tmp/x",
                      "--members",
                      MEMBERS,
                      "--failure-exit-delay-ms",
                      "-1"
                    }))
        .hasMessageContaining("--failure-exit-delay-ms");
  }

  @Test
  void segmentSizeDefaultsTo64MiBAndIsChecked() {
    String[] base = {"--id", "n1", "--data-dir", "d", "--members", MEMBERS};
    assertThat(ServerConfig.parse(base).segmentSize()).isEqualTo(64L << 20);
    String[] small = {"--id", "n1", "--data-dir", "d", "--members", MEMBERS, "--segment-size=4096"};
    assertThat(ServerConfig.parse(small).segmentSize()).isEqualTo(4096);
    assertBad(
        "--segment-size must be in [4096, 1073741824]: 4095",
        "--id",
        "n1",
        "--data-dir",
        "d",
        "--members",
        MEMBERS,
        "--segment-size",
        "4095");
    assertBad(
        "Invalid value for option '--segment-size': must be a whole number, got '1MiB'",
        "--id",
        "n1",
        "--data-dir",
        "d",
        "--members",
        MEMBERS,
        "--segment-size",
        "1MiB");
    assertThat(ServerConfig.USAGE).contains("--segment-size=BYTES");
  }

  @Test
  void joiningNodeIsNotInTheVotersAndNeedsItsOwnAddresses() {
    ServerConfig c =
        ServerConfig.parse(
            new String[] {
              "--id",
              "n3",
              "--data-dir",
              "/tmp/x",
              "--members",
              MEMBERS,
              "--join",
              "--raft-address",
              "127.0.0.1:7003",
              "--http-address",
              "127.0.0.1:8003"
            });
    assertThat(c.members()).extracting(Member::id).containsExactly("n1", "n2");
    assertThat(c.httpAddresses()).containsEntry("n3", "127.0.0.1:8003");
    assertThatThrownBy(
            () ->
                ServerConfig.parse(
                    new String[] {"--id", "n3", "--data-dir", "d", "--members", MEMBERS, "--join"}))
        .hasMessageContaining("--raft-address is required with --join");
  }

  @Test
  void badFlagsGetAClearMessage() {
    assertBad("--id is required", "--data-dir", "d", "--members", MEMBERS);
    assertBad("Unknown options: '--colour', 'red'", "--colour", "red");
    assertBad(
        "--members must include this node (n9)",
        "--id",
        "n9",
        "--data-dir",
        "d",
        "--members",
        MEMBERS);
    assertBad(
        "is not ID=RAFTHOST:PORT@HTTPHOST:PORT",
        "--id",
        "n1",
        "--data-dir",
        "d",
        "--members",
        "n1=127.0.0.1:7001");
    assertBad(
        "has a port outside [1, 65535]",
        "--id",
        "n1",
        "--data-dir",
        "d",
        "--members",
        "n1=127.0.0.1:70010@127.0.0.1:8001");
    assertBad(
        "--heartbeat-ms must be below --election-timeout-ms",
        "--id",
        "n1",
        "--data-dir",
        "d",
        "--members",
        MEMBERS,
        "--heartbeat-ms",
        "2000");
    assertBad(
        "Invalid value for option '--snapshot-threshold': must be a whole number, got 'lots'",
        "--id",
        "n1",
        "--data-dir",
        "d",
        "--members",
        MEMBERS,
        "--snapshot-threshold",
        "lots");
    assertBad(
        "TLS needs all of",
        "--id",
        "n1",
        "--data-dir",
        "d",
        "--members",
        MEMBERS,
        "--tls-cert",
        "/etc/hostname");
    assertBad("Missing required parameter for option '--id'", "--data-dir", "d", "--id");
    assertBad("option '--id' (ID) should be specified only once", "--id", "n1", "--id", "n1");
    assertBad("member id must be", "--id", "bad id!", "--data-dir", "d", "--members", MEMBERS);
    assertThat(ServerConfig.USAGE).contains("--members").contains("--join").contains("--tls-ca");
  }

  @Test
  void helpPointsToTheHttpApiReferenceAndListsTheExitStatuses() {
    assertThat(ServerConfig.invocation(new String[] {"--help"}))
        .isInstanceOf(ServerConfig.Help.class);
    assertThat(ServerConfig.invocation(new String[] {"--id", "n1", "-h"}))
        .as("help wins over an incomplete command line")
        .isInstanceOf(ServerConfig.Help.class);
    assertThat(ServerConfig.USAGE)
        .contains("docs/http-api.md")
        .contains("Exit status:")
        .contains("-Dlogback.configurationFile");
    assertThat(ServerConfig.EXIT_USAGE).isEqualTo(2);
    assertThat(ServerConfig.EXIT_CANNOT_START).isEqualTo(1);
    assertThat(ServerConfig.EXIT_FAILED).isEqualTo(3);
  }

  @Test
  void completionPrintsABashScriptThatKnowsTheFlags() {
    ServerConfig.Invocation i = ServerConfig.invocation(new String[] {"--completion"});
    assertThat(i).isInstanceOf(ServerConfig.Completion.class);
    assertThat(((ServerConfig.Completion) i).script())
        .contains("complete -F")
        .contains("--segment-size")
        .contains("--keep-running-on-failure");
  }

  private static void assertBad(String message, String... args) {
    assertThatThrownBy(() -> ServerConfig.parse(args))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining(message);
  }
}
