package org.flotilla.raft.sim;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;
import org.flotilla.raft.sim.LinearizabilityChecker.Result;
import org.flotilla.raft.sim.LinearizabilityChecker.Verdict;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The checker agrees with the verdicts of other checkers on histories recorded by others: every
 * Jepsen etcd log against {@code jepsen-etcd/EXPECTED.tsv}, every kv history against its {@code
 * -ok} / {@code -bad} name.
 */
class LinearizabilityCorpusTest {

  private static final Logger LOG = LoggerFactory.getLogger(LinearizabilityCorpusTest.class);
  private static final String ROOT = "/linearizability/";
  // Generous: the whole etcd set takes a few seconds; a regression returns UNKNOWN, not a hang.
  private static final Duration TIMEOUT = Duration.ofSeconds(30);
  private static final AtomicLong ETCD_NANOS = new AtomicLong();

  static Stream<Arguments> etcdExpected() {
    return LinearizabilityCorpus.lines(ROOT + "jepsen-etcd/EXPECTED.tsv").stream()
        .skip(1)
        .filter(l -> !l.isBlank())
        .map(l -> l.split("\t", -1))
        .map(f -> Arguments.of(f[0], Boolean.parseBoolean(f[1])));
  }

  /** Each etcd log twice: a failed cas read as returning false, and as not taking effect. */
  static Stream<Arguments> etcdExpectedBothReadings() {
    return etcdExpected()
        .flatMap(
            a ->
                Stream.of(
                    Arguments.of(a.get()[0], a.get()[1], true),
                    Arguments.of(a.get()[0], a.get()[1], false)));
  }

  static Stream<String> kvFiles() throws IOException {
    return list("kv").stream();
  }

  private static List<String> list(String dir) throws IOException {
    URL url = LinearizabilityCorpusTest.class.getResource(ROOT + dir);
    assertThat(url).as("resource directory %s", dir).isNotNull();
    try (Stream<Path> files = Files.list(Paths.get(url.toURI()))) {
      return files.map(p -> p.getFileName().toString()).sorted().toList();
    } catch (URISyntaxException e) {
      throw new IllegalStateException("bad resource URL " + url, e);
    }
  }

  @Test
  void expectedVerdictsCoverEveryEtcdLog() throws IOException {
    List<String> logs = list("jepsen-etcd").stream().filter(f -> f.endsWith(".log")).toList();
    List<Object> expected = etcdExpected().map(a -> a.get()[0]).toList();
    assertThat(logs).hasSize(82);
    assertThat(expected).containsExactlyInAnyOrderElementsOf(logs);
  }

  @ParameterizedTest(name = "{0} linearizable={1} failedCasReturnsFalse={2}")
  @MethodSource("etcdExpectedBothReadings")
  void etcdVerdictAgreesWithOtherCheckers(
      String file, boolean linearizable, boolean failedCasReturnsFalse) {
    List<Operation> ops =
        LinearizabilityCorpus.parseJepsenEtcd(
            file, LinearizabilityCorpus.lines(ROOT + "jepsen-etcd/" + file), failedCasReturnsFalse);
    long start = System.nanoTime();
    Result result = LinearizabilityChecker.check(ops, new CasRegisterModel(), TIMEOUT);
    ETCD_NANOS.addAndGet(System.nanoTime() - start);

    assertThat(result.verdict())
        .as("%s: %s", file, result.message())
        .isEqualTo(linearizable ? Verdict.LINEARIZABLE : Verdict.NOT_LINEARIZABLE);
    if (!linearizable) {
      assertExplains(result, LinearizabilityCorpus.REGISTER);
    }
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("kvFiles")
  void kvVerdictMatchesFileName(String file) {
    assertThat(file).matches(".*-(ok|bad)\\.txt");
    List<Operation> ops =
        LinearizabilityCorpus.parseKv(file, LinearizabilityCorpus.lines(ROOT + "kv/" + file));
    Result result = LinearizabilityChecker.check(ops, new AppendStringModel(), TIMEOUT);

    boolean linearizable = file.endsWith("-ok.txt");
    assertThat(result.verdict())
        .as("%s: %s", file, result.message())
        .isEqualTo(linearizable ? Verdict.LINEARIZABLE : Verdict.NOT_LINEARIZABLE);
    if (!linearizable) {
      assertExplains(result, result.key());
      assertThat(ops).anyMatch(op -> op.key().equals(result.key()));
    }
  }

  /** A violation names its key and every operation that could not be placed. */
  static void assertExplains(Result result, String key) {
    assertThat(result.key()).isEqualTo(key);
    assertThat(result.message()).contains("key \"" + key + "\"");
    assertThat(result.pending()).isNotEmpty().allMatch(op -> op.key().equals(key));
    for (Operation op : result.pending()) {
      assertThat(result.message()).contains(op.toString());
    }
  }

  @AfterAll
  static void reportEtcdTime() {
    LOG.info(
        "checked the Jepsen etcd histories in {} ms of checker time", ETCD_NANOS.get() / 1_000_000);
  }
}
