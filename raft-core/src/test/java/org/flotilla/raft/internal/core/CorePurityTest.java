package org.flotilla.raft.internal.core;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * STYLE.md habit 1: the protocol core has no I/O, threads, clocks or global randomness. Scans the
 * core package's main sources (comments removed) for the forbidden names.
 */
class CorePurityTest {

  private static final Path CORE = Path.of("src/main/java/org/flotilla/raft/internal/core");

  private static final Pattern FORBIDDEN =
      Pattern.compile(
          "java\\.io\\b|java\\.nio\\.file\\b|java\\.net\\b|java\\.util\\.concurrent\\b"
              + "|\\bThread\\b|\\bExecutor\\w*|System\\.nanoTime|currentTimeMillis"
              + "|new\\s+Random\\s*\\(|ThreadLocalRandom");

  private static final Pattern COMMENT = Pattern.compile("/\\*.*?\\*/|//[^\\n]*", Pattern.DOTALL);

  /** Returns the forbidden names used in the code (not the comments) of one source file. */
  static List<String> violations(String source) {
    String code = COMMENT.matcher(source).replaceAll(" ");
    List<String> found = new ArrayList<>();
    Matcher m = FORBIDDEN.matcher(code);
    while (m.find()) {
      found.add(m.group());
    }
    return found;
  }

  /** STYLE.md habit 1: "No I/O, threads, clocks or global randomness in the protocol core." */
  @Test
  void coreSourcesUseNoIoThreadsClocksOrGlobalRandomness() throws IOException {
    assertThat(CORE).as("core sources (run from the raft-core module)").isDirectory();
    List<String> problems = new ArrayList<>();
    int files = 0;
    try (Stream<Path> paths = Files.walk(CORE)) {
      for (Path p : paths.filter(f -> f.toString().endsWith(".java")).toList()) {
        files++;
        for (String v : violations(Files.readString(p, StandardCharsets.UTF_8))) {
          problems.add(p.getFileName() + ": " + v);
        }
      }
    }
    assertThat(files).isGreaterThan(5);
    assertThat(problems).isEmpty();
  }

  /** The scan can fail: each forbidden name is caught on its own. */
  @Test
  void scannerCatchesEachForbiddenName() {
    assertThat(violations("import java.io.File;")).containsExactly("java.io");
    assertThat(violations("import java.nio.file.Path;")).containsExactly("java.nio.file");
    assertThat(violations("import java.net.Socket;")).containsExactly("java.net");
    assertThat(violations("import java.util.concurrent.Future;"))
        .containsExactly("java.util.concurrent");
    assertThat(violations("new Thread(r).start();")).containsExactly("Thread");
    assertThat(violations("ExecutorService e;")).containsExactly("ExecutorService");
    assertThat(violations("long t = System.nanoTime();")).containsExactly("System.nanoTime");
    assertThat(violations("long t = System.currentTimeMillis();"))
        .containsExactly("currentTimeMillis");
    assertThat(violations("var r = new Random(1);")).containsExactly("new Random(");
    assertThat(violations("ThreadLocalRandom.current()")).containsExactly("ThreadLocalRandom");
  }

  /** Comments may mention the names; ByteBuffer and RandomGenerator are allowed. */
  @Test
  void scannerIgnoresCommentsAndAllowedNames() {
    assertThat(violations("// uses no Thread\n/* nor java.io */ int x;")).isEmpty();
    assertThat(violations("import java.nio.ByteBuffer; import java.util.random.RandomGenerator;"))
        .isEmpty();
  }
}
