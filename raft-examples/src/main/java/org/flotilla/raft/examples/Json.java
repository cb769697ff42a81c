package org.flotilla.raft.examples;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A minimal JSON reader and writer for the HTTP API: the reader accepts one flat object whose
 * values are strings, numbers, booleans or null (all returned as strings, null as a Java null), the
 * writer escapes strings. Enough for the example's requests; not a general JSON library.
 *
 * <p>Stateless and thread-safe (each {@link #parseObject} call has its own cursor).
 */
final class Json {

  /** The most fields an object may have. */
  static final int MAX_FIELDS = 64;

  private final String s;
  private int pos;

  private Json(String s) {
    this.s = s;
  }

  /**
   * Parses one flat JSON object.
   *
   * @param text the JSON text
   * @return field name to value (string, number or boolean as text; null for JSON null), in order
   * @throws IllegalArgumentException with the position and what was expected, if malformed
   */
  static Map<String, String> parseObject(String text) {
    Json p = new Json(text);
    Map<String, String> fields = new LinkedHashMap<>();
    p.skipSpace();
    p.expect('{');
    p.skipSpace();
    if (p.peek() == '}') {
      p.pos++;
    } else {
      while (true) {
        p.skipSpace();
        String name = p.string();
        p.skipSpace();
        p.expect(':');
        p.skipSpace();
        String value = p.value();
        if (fields.containsKey(name)) {
          throw p.error("duplicate field \"" + name + "\"");
        }
        if (fields.size() == MAX_FIELDS) {
          throw p.error("more than " + MAX_FIELDS + " fields");
        }
        fields.put(name, value);
        p.skipSpace();
        char c = p.next();
        if (c == '}') {
          break;
        }
        if (c != ',') {
          throw p.error("expected ',' or '}' but found '" + c + "'");
        }
      }
    }
    p.skipSpace();
    if (p.pos != p.s.length()) {
      throw p.error("unexpected text after the object");
    }
    return fields;
  }

  private String value() {
    char c = peek();
    if (c == '"') {
      return string();
    }
    if (c == '{' || c == '[') {
      throw error("nested objects and arrays are not supported");
    }
    int start = pos;
    while (pos < s.length() && "+-.eE0123456789truefalsn".indexOf(s.charAt(pos)) >= 0) {
      pos++;
    }
    String word = s.substring(start, pos);
    if (word.equals("null")) {
      return null;
    }
    if (word.equals("true")
        || word.equals("false")
        || word.matches("-?\\d+(\\.\\d+)?([eE][+-]?\\d+)?")) {
      return word;
    }
    pos = start;
    throw error("expected a value");
  }

  private String string() {
    expect('"');
    StringBuilder b = new StringBuilder();
    while (true) {
      char c = next();
      if (c == '"') {
        return b.toString();
      }
      if (c < 0x20) {
        throw error("control character in a string");
      }
      if (c != '\\') {
        b.append(c);
        continue;
      }
      char e = next();
      switch (e) {
        case '"', '\\', '/' -> b.append(e);
        case 'b' -> b.append('\b');
        case 'f' -> b.append('\f');
        case 'n' -> b.append('\n');
        case 'r' -> b.append('\r');
        case 't' -> b.append('\t');
        case 'u' -> {
          if (pos + 4 > s.length()) {
            throw error("truncated \\u escape");
          }
          try {
            b.append((char) Integer.parseInt(s.substring(pos, pos + 4), 16));
          } catch (NumberFormatException ex) {
            throw error("bad \\u escape", ex);
          }
          pos += 4;
        }
        default -> throw error("bad escape '\\" + e + "'");
      }
    }
  }

  private void skipSpace() {
    while (pos < s.length() && Character.isWhitespace(s.charAt(pos))) {
      pos++;
    }
  }

  private char peek() {
    if (pos >= s.length()) {
      throw error("unexpected end of input");
    }
    return s.charAt(pos);
  }

  private char next() {
    char c = peek();
    pos++;
    return c;
  }

  private void expect(char c) {
    char got = next();
    if (got != c) {
      pos--;
      throw error("expected '" + c + "' but found '" + got + "'");
    }
  }

  private IllegalArgumentException error(String what) {
    return new IllegalArgumentException("malformed JSON at offset " + pos + ": " + what);
  }

  private IllegalArgumentException error(String what, Throwable cause) {
    return new IllegalArgumentException("malformed JSON at offset " + pos + ": " + what, cause);
  }

  /**
   * Returns a JSON string literal, quoted and escaped.
   *
   * @param value the string, or null for JSON null
   * @return the literal
   */
  static String quote(String value) {
    if (value == null) {
      return "null";
    }
    StringBuilder b = new StringBuilder(value.length() + 2).append('"');
    for (int i = 0; i < value.length(); i++) {
      char c = value.charAt(i);
      switch (c) {
        case '"' -> b.append("\\\"");
        case '\\' -> b.append("\\\\");
        case '\n' -> b.append("\\n");
        case '\r' -> b.append("\\r");
        case '\t' -> b.append("\\t");
        default -> {
          if (c < 0x20) {
            b.append(String.format("\\u%04x", (int) c));
          } else {
            b.append(c);
          }
        }
      }
    }
    return b.append('"').toString();
  }
}
