package org.flotilla.raft.examples.embedding;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Keeps docs/embedding.md true to the example: every Java code block in it must appear in one of
 * the example's source files, line for line (the block may be indented less than the source). So
 * when the example changes, the guide's quotes fail this test until they are updated.
 */
class EmbeddingDocTest {

  private static final Path GUIDE = Path.of("../docs/embedding.md");
  private static final Path MAIN = Path.of("src/main/java/org/flotilla/raft/examples/embedding");
  private static final Path TEST = Path.of("src/test/java/org/flotilla/raft/examples/embedding");
  private static final List<Path> SOURCES =
      List.of(
          MAIN.resolve("Counter.java"),
          MAIN.resolve("CounterService.java"),
          TEST.resolve("CounterServiceTest.java"));

  @Test
  void everyJavaBlockOfTheGuideIsQuotedVerbatimFromTheExample() throws IOException {
    List<List<String>> blocks = javaBlocks(Files.readAllLines(GUIDE, StandardCharsets.UTF_8));
    assertThat(blocks).as("Java blocks in %s", GUIDE).hasSizeGreaterThanOrEqualTo(6);
    List<List<String>> sources = new ArrayList<>();
    for (Path p : SOURCES) {
      sources.add(Files.readAllLines(p, StandardCharsets.UTF_8));
    }
    for (List<String> block : blocks) {
      assertThat(sources.stream().anyMatch(source -> contains(source, block)))
          .as("this block of embedding.md is not in %s:%n%s", SOURCES, String.join("\n", block))
          .isTrue();
    }
  }

  @Test
  void theServiceAndItsStateMachineStayUnderOneHundredLinesEach() throws IOException {
    for (Path p : SOURCES.subList(0, 2)) {
      assertThat(Files.readAllLines(p, StandardCharsets.UTF_8))
          .as("lines of %s", p)
          .hasSizeLessThan(100);
    }
  }

  @Test
  void theMatcherAllowsLessIndentationAndNothingElse() {
    List<String> source = List.of("class A {", "  void f() {", "    g();", "", "  }", "}");
    assertThat(contains(source, List.of("void f() {", "  g();", "", "}"))).isTrue();
    assertThat(contains(source, List.of("void f() {", "g();"))).isFalse();
    assertThat(contains(source, List.of("void f() {", "  h();"))).isFalse();
  }

  /** The contents of the {@code ```java} blocks. */
  private static List<List<String>> javaBlocks(List<String> lines) {
    List<List<String>> blocks = new ArrayList<>();
    List<String> current = null;
    for (String line : lines) {
      if (current == null && line.strip().equals("```java")) {
        current = new ArrayList<>();
      } else if (current != null && line.strip().equals("```")) {
        blocks.add(current);
        current = null;
      } else if (current != null) {
        current.add(line);
      }
    }
    return blocks;
  }

  /**
   * Whether {@code block}, shifted right by some indentation, is a run of {@code source}'s lines.
   */
  private static boolean contains(List<String> source, List<String> block) {
    for (int start = 0; start + block.size() <= source.size(); start++) {
      int shift = indent(source.get(start)) - indent(block.get(0));
      if (shift >= 0 && matches(source, start, block, " ".repeat(shift))) {
        return true;
      }
    }
    return false;
  }

  private static boolean matches(List<String> source, int start, List<String> block, String pad) {
    for (int i = 0; i < block.size(); i++) {
      String s = source.get(start + i);
      String b = block.get(i);
      if (!(b.isBlank() ? s.isBlank() : s.equals(pad + b))) {
        return false;
      }
    }
    return true;
  }

  private static int indent(String line) {
    return line.length() - line.stripLeading().length();
  }
}
