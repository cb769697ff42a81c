package org.flotilla.raft.docs;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.net.URLDecoder;
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
 * Checks that every relative Markdown link in README.md and docs/*.md points at a file or folder
 * that exists, inline ({@code [text](target)}) or by reference ({@code [label]: target}). Web links
 * ({@code http(s)://}), {@code mailto:} and links to an anchor of the same page are not checked; a
 * link's own {@code #anchor} is ignored. Links inside fenced code blocks and inline code are not
 * links and are skipped.
 */
class DocLinksTest {

  private static final Path ROOT = Path.of("..");

  /** {@code [text](target)} or {@code [text](target "title")}; images too. */
  private static final Pattern LINK =
      Pattern.compile(
          "\\[(?:[^\\]\\[]|\\[[^\\]]*\\])*\\]\\(\\s*<?([^)\\s>]+)>?(?:\\s+\"[^\"]*\")?\\)");

  /** A reference definition: {@code [label]: target}. */
  private static final Pattern DEFINITION =
      Pattern.compile("^\\s{0,3}\\[[^\\]]+\\]:\\s*<?([^\\s>]+)>?");

  private static final Pattern INLINE_CODE = Pattern.compile("`[^`]*`");

  @Test
  void everyRelativeLinkInTheDocumentationPointsAtAnExistingFile() throws IOException {
    List<String> broken = new ArrayList<>();
    int checked = 0;
    for (Path page : pages()) {
      for (Link link : relativeLinks(page)) {
        checked++;
        if (!Files.exists(link.resolved())) {
          broken.add(
              ROOT.relativize(page)
                  + ":"
                  + link.line()
                  + ": ["
                  + link.target()
                  + "] -> "
                  + link.resolved().normalize()
                  + " does not exist");
        }
      }
    }
    assertThat(checked).as("relative links found in README.md and docs/*.md").isPositive();
    assertThat(broken).as("broken relative links").isEmpty();
  }

  @Test
  void theScannerFindsLinksAndSkipsWebLinksAnchorsAndCode() {
    List<String> found =
        targets(
            List.of(
                "See [a](a.md), [b](sub/b.md#part \"title\") and ![img](pic.png).",
                "Not [web](https://example.com), [mail](mailto:x@example.com), [here](#top).",
                "Inline `[code](no.md)` is not a link.",
                "```",
                "[fenced](no.md)",
                "```",
                "[after](c.md)",
                "[ref]: d.md",
                "[web-ref]: https://example.com"));
    assertThat(found).containsExactly("a.md", "sub/b.md#part", "pic.png", "c.md", "d.md");
  }

  private static List<Path> pages() throws IOException {
    List<Path> pages = new ArrayList<>();
    Path readme = ROOT.resolve("README.md");
    assertThat(readme).as("the project README (run from the module directory)").exists();
    pages.add(readme);
    try (Stream<Path> docs = Files.list(ROOT.resolve("docs"))) {
      docs.filter(p -> p.getFileName().toString().endsWith(".md")).sorted().forEach(pages::add);
    }
    return pages;
  }

  private record Link(int line, String target, Path resolved) {}

  private record Found(int line, String target) {}

  private static List<Link> relativeLinks(Path page) throws IOException {
    List<Link> links = new ArrayList<>();
    Path folder = page.getParent() == null ? Path.of(".") : page.getParent();
    for (Found f : scan(Files.readAllLines(page, StandardCharsets.UTF_8))) {
      String file = f.target();
      int hash = file.indexOf('#');
      if (hash >= 0) {
        file = file.substring(0, hash);
      }
      file = URLDecoder.decode(file, StandardCharsets.UTF_8);
      links.add(new Link(f.line(), f.target(), folder.resolve(file)));
    }
    return links;
  }

  private static List<String> targets(List<String> lines) {
    return scan(lines).stream().map(Found::target).toList();
  }

  /** The checkable link targets on lines of Markdown, skipping fenced code blocks. */
  private static List<Found> scan(List<String> lines) {
    List<Found> out = new ArrayList<>();
    boolean fenced = false;
    for (int i = 0; i < lines.size(); i++) {
      String line = lines.get(i).trim();
      if (line.startsWith("```") || line.startsWith("~~~")) {
        fenced = !fenced;
        continue;
      }
      if (!fenced) {
        for (String target : linkTargets(line)) {
          out.add(new Found(i + 1, target));
        }
      }
    }
    return out;
  }

  private static List<String> linkTargets(String line) {
    List<String> candidates = new ArrayList<>();
    String text = INLINE_CODE.matcher(line).replaceAll("");
    Matcher d = DEFINITION.matcher(text);
    if (d.find()) {
      candidates.add(d.group(1));
    }
    Matcher m = LINK.matcher(text);
    while (m.find()) {
      candidates.add(m.group(1));
    }
    List<String> out = new ArrayList<>();
    for (String target : candidates) {
      String lower = target.toLowerCase(java.util.Locale.ROOT);
      if (lower.startsWith("http://")
          || lower.startsWith("https://")
          || lower.startsWith("mailto:")
          || target.startsWith("#")) {
        continue;
      }
      out.add(target);
    }
    return out;
  }
}
