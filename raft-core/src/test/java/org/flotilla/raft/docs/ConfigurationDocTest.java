package org.flotilla.raft.docs;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.flotilla.raft.RaftOptions;
import org.junit.jupiter.api.Test;

/**
 * Keeps docs/configuration.md true to {@link RaftOptions}: every public builder method has a row in
 * the options table, every row names a builder method, and the default the table states is the one
 * {@link RaftOptions#defaults()} returns.
 */
class ConfigurationDocTest {

  private static final Path DOC = Path.of("..", "docs", "configuration.md");

  private static final Pattern DURATION =
      Pattern.compile("(\\d[\\d,]*)\\s*(ns|us|µs|ms|s|min|h|d|days?)");
  private static final Pattern SIZE = Pattern.compile("(\\d[\\d,]*)\\s*(B|KiB|MiB|GiB|TiB)");
  private static final Pattern NUMBER = Pattern.compile("-?\\d[\\d,]*");

  @Test
  void everyBuilderMethodHasARowAndEveryRowNamesABuilderMethod() throws IOException {
    Map<String, String> defaults = documentedDefaults();
    Set<String> methods = builderMethods();
    assertThat(new TreeSet<>(defaults.keySet()))
        .as("builder methods of RaftOptions.Builder documented in %s", DOC)
        .containsAll(methods);
    assertThat(methods)
        .as("rows of %s that name no builder method of RaftOptions.Builder", DOC)
        .containsAll(defaults.keySet());
  }

  @Test
  void everyDocumentedDefaultIsTheDefaultOfTheCode() throws Exception {
    RaftOptions options = RaftOptions.defaults();
    List<String> wrong = new ArrayList<>();
    for (Map.Entry<String, String> row : documentedDefaults().entrySet()) {
      Method getter;
      try {
        getter = RaftOptions.class.getMethod(row.getKey());
      } catch (NoSuchMethodException e) {
        wrong.add(row.getKey() + ": RaftOptions has no getter of that name");
        continue;
      }
      Object actual = invoke(getter, options);
      Object documented;
      try {
        documented = parse(row.getValue(), getter.getReturnType());
      } catch (IllegalArgumentException e) {
        wrong.add(row.getKey() + ": " + e.getMessage());
        continue;
      }
      if (!documented.equals(actual)) {
        wrong.add(
            row.getKey() + ": the doc says " + row.getValue() + " but the default is " + actual);
      }
    }
    assertThat(wrong).as("defaults in %s that differ from RaftOptions.defaults()", DOC).isEmpty();
  }

  @Test
  void theParserReadsTheNotationsTheDocUses() {
    assertThat(parse("`10 ms`", Duration.class)).isEqualTo(Duration.ofMillis(10));
    assertThat(parse("1 s", Duration.class)).isEqualTo(Duration.ofSeconds(1));
    assertThat(parse("10 min", Duration.class)).isEqualTo(Duration.ofMinutes(10));
    assertThat(parse("30 days", Duration.class)).isEqualTo(Duration.ofDays(30));
    assertThat(parse("1 MiB", int.class)).isEqualTo(1 << 20);
    assertThat(parse("64 MiB", long.class)).isEqualTo(64L << 20);
    assertThat(parse("16,384", int.class)).isEqualTo(16_384);
    assertThat(parse("100,000", long.class)).isEqualTo(100_000L);
    assertThat(parse("on", boolean.class)).isEqualTo(true);
    assertThat(parse("false", boolean.class)).isEqualTo(false);
    assertThatThrownBy(() -> parse("1 s", int.class))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("1 s");
    assertThatThrownBy(() -> parse("about a second", Duration.class))
        .isInstanceOf(IllegalArgumentException.class);
  }

  /** The public instance methods of the builder, except build. */
  private static Set<String> builderMethods() {
    TreeSet<String> names = new TreeSet<>();
    for (Method m : RaftOptions.Builder.class.getDeclaredMethods()) {
      int mod = m.getModifiers();
      if (Modifier.isPublic(mod) && !Modifier.isStatic(mod) && !m.getName().equals("build")) {
        names.add(m.getName());
      }
    }
    assertThat(names).as("public methods of RaftOptions.Builder").isNotEmpty();
    return names;
  }

  /**
   * Reads the options table: the first table whose header has a "default" column. Its first column
   * names the builder method (in backticks, optionally with {@code ()}).
   */
  private static Map<String, String> documentedDefaults() throws IOException {
    assertThat(DOC).as("the configuration page (run from the module directory)").exists();
    List<String> lines = Files.readAllLines(DOC, StandardCharsets.UTF_8);
    Map<String, String> rows = new LinkedHashMap<>();
    int defaultColumn = -1;
    for (String line : lines) {
      String t = line.trim();
      if (!t.startsWith("|")) {
        if (!rows.isEmpty()) {
          break; // the end of the options table
        }
        defaultColumn = -1; // a table before it, without a default column, ended
        continue;
      }
      List<String> cells = cells(t);
      if (defaultColumn < 0) {
        for (int i = 0; i < cells.size(); i++) {
          if (cells.get(i).toLowerCase(Locale.ROOT).equals("default")) {
            defaultColumn = i;
          }
        }
        continue;
      }
      if (cells.get(0).matches("[-: ]+")) {
        continue; // the separator row
      }
      String name = cells.get(0).replace("`", "").replace("()", "").trim();
      if (defaultColumn >= cells.size()) {
        throw new AssertionError("row of " + name + " has no default column: " + line);
      }
      if (rows.put(name, cells.get(defaultColumn)) != null) {
        throw new AssertionError(name + " has two rows in " + DOC);
      }
    }
    assertThat(rows).as("rows of the options table in %s", DOC).isNotEmpty();
    return rows;
  }

  private static List<String> cells(String row) {
    String inner = row.substring(1, row.endsWith("|") ? row.length() - 1 : row.length());
    List<String> out = new ArrayList<>();
    for (String c : inner.split("\\|", -1)) {
      out.add(c.trim());
    }
    return out;
  }

  /** Parses a documented default into the getter's type. */
  static Object parse(String text, Class<?> type) {
    String v = text.replace("`", "").trim();
    if (type == boolean.class) {
      switch (v.toLowerCase(Locale.ROOT)) {
        case "true", "on" -> {
          return true;
        }
        case "false", "off" -> {
          return false;
        }
        default -> throw new IllegalArgumentException("not a boolean: '" + text + "'");
      }
    }
    if (type == Duration.class) {
      Matcher m = DURATION.matcher(v);
      if (!m.matches()) {
        throw new IllegalArgumentException("not a duration like '100 ms': '" + text + "'");
      }
      long n = Long.parseLong(m.group(1).replace(",", ""));
      return switch (m.group(2)) {
        case "ns" -> Duration.ofNanos(n);
        case "us", "µs" -> Duration.ofNanos(n * 1000);
        case "ms" -> Duration.ofMillis(n);
        case "s" -> Duration.ofSeconds(n);
        case "min" -> Duration.ofMinutes(n);
        case "h" -> Duration.ofHours(n);
        default -> Duration.ofDays(n);
      };
    }
    if (type == int.class || type == long.class) {
      long n;
      Matcher size = SIZE.matcher(v);
      if (size.matches()) {
        long base = Long.parseLong(size.group(1).replace(",", ""));
        int shift =
            switch (size.group(2)) {
              case "B" -> 0;
              case "KiB" -> 10;
              case "MiB" -> 20;
              case "GiB" -> 30;
              default -> 40;
            };
        n = base << shift;
      } else if (NUMBER.matcher(v).matches()) {
        n = Long.parseLong(v.replace(",", ""));
      } else {
        throw new IllegalArgumentException("not a number or size: '" + text + "'");
      }
      if (type == int.class) {
        if (n != (int) n) {
          throw new IllegalArgumentException("too large for an int: '" + text + "'");
        }
        return (int) n;
      }
      return n;
    }
    throw new IllegalArgumentException("cannot compare a default of type " + type);
  }

  private static Object invoke(Method getter, RaftOptions options) throws Exception {
    try {
      return getter.invoke(options);
    } catch (InvocationTargetException e) {
      throw new AssertionError("getter " + getter.getName() + " failed", e.getCause());
    }
  }
}
