package org.flotilla.raft.docs;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/**
 * Keeps the example of docs/testing.md ("Testing your own state machine in the simulator") the same
 * as {@code com.example.StringMapSimulationTest}, which the build compiles and runs: the doc shows
 * a test that is known to pass.
 */
class SimulationExampleDocTest {

  private static final Path DOC = Path.of("..", "docs", "testing.md");
  private static final Path EXAMPLE =
      Path.of("src", "test", "java", "com", "example", "StringMapSimulationTest.java");

  @Test
  void theDocShowsTheTestThatRuns() throws IOException {
    String doc = Files.readString(DOC, StandardCharsets.UTF_8);
    int section = doc.indexOf("## Testing your own state machine in the simulator");
    assertThat(section).as("the section in %s", DOC).isNotNegative();
    int start = doc.indexOf("```java\n", section);
    int end = doc.indexOf("```\n", start + 8);
    assertThat(start).as("a java block in the section").isPositive();
    String shown = doc.substring(start + "```java\n".length(), end);
    assertThat(shown).isEqualTo(Files.readString(EXAMPLE, StandardCharsets.UTF_8));
  }
}
