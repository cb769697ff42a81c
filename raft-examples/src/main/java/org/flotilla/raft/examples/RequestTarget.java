package org.flotilla.raft.examples;

import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A request target (the path and query of the request line), split and percent-decoded strictly: an
 * escape must be {@code %} and two hex digits, and the decoded bytes must be valid UTF-8 (a {@link
 * CharsetDecoder} that reports malformed input, where a lenient decoder would turn {@code %FF},
 * {@code %FE} and {@code %EF%BF%BD} all into U+FFFD, one key). Characters of the target itself
 * stand for the bytes they were read from (Netty reads the request line as ISO-8859-1), so raw
 * UTF-8 in a target is decoded like its percent-encoded form.
 *
 * @param rawPath the path, still percent-encoded
 * @param params the query parameters, decoded ({@code +} is a space), in order; a parameter given
 *     without {@code =} has the value ""
 */
record RequestTarget(String rawPath, Map<String, List<String>> params) {

  /**
   * Splits a request target into path and parameters.
   *
   * @param uri the target: origin form ({@code /path?query}) or absolute form ({@code
   *     http://host/path?query})
   * @return the target
   * @throws KvApi.ApiException 400 if it is not a path, or a parameter is badly encoded
   */
  static RequestTarget parse(String uri) {
    String u = uri;
    int scheme = u.indexOf("://");
    if (scheme > 0 && !u.startsWith("/")) {
      int slash = u.indexOf('/', scheme + 3);
      u = slash < 0 ? "/" : u.substring(slash);
    }
    int hash = u.indexOf('#');
    if (hash >= 0) {
      u = u.substring(0, hash);
    }
    if (!u.startsWith("/")) {
      throw new KvApi.ApiException(
          ErrorCode.MALFORMED_REQUEST, "the request target must be a path starting with '/'");
    }
    int q = u.indexOf('?');
    String rawPath = q < 0 ? u : u.substring(0, q);
    Map<String, List<String>> params = new LinkedHashMap<>();
    if (q >= 0) {
      for (String pair : u.substring(q + 1).split("&", -1)) {
        if (pair.isEmpty()) {
          continue;
        }
        int eq = pair.indexOf('=');
        String name =
            decode(
                eq < 0 ? pair : pair.substring(0, eq),
                true,
                ErrorCode.INVALID_PARAMETER,
                "query parameter name");
        String value =
            eq < 0
                ? ""
                : decode(
                    pair.substring(eq + 1),
                    true,
                    ErrorCode.INVALID_PARAMETER,
                    "value of query parameter '" + name + "'");
        params.computeIfAbsent(name, k -> new ArrayList<>()).add(value);
      }
    }
    return new RequestTarget(rawPath, params);
  }

  /**
   * Percent-decodes one component strictly.
   *
   * @param raw the component as it appears in the target
   * @param plusIsSpace whether {@code +} means a space (in a query, not in a path)
   * @param code the error code of a refusal
   * @param what what the component is, for the message
   * @return the decoded text
   * @throws KvApi.ApiException 400 with the code, if an escape is malformed or the bytes are not
   *     UTF-8
   */
  static String decode(String raw, boolean plusIsSpace, ErrorCode code, String what) {
    ByteBuffer bytes = ByteBuffer.allocate(raw.length() * 3);
    for (int i = 0; i < raw.length(); i++) {
      char c = raw.charAt(i);
      if (c == '%') {
        int hi = i + 1 < raw.length() ? Character.digit(raw.charAt(i + 1), 16) : -1;
        int lo = i + 2 < raw.length() ? Character.digit(raw.charAt(i + 2), 16) : -1;
        if (hi < 0 || lo < 0) {
          throw new KvApi.ApiException(
              code,
              what + " has a malformed percent-escape at offset " + i + " (expected %XX, X hex)");
        }
        bytes.put((byte) (hi << 4 | lo));
        i += 2;
      } else if (c == '+' && plusIsSpace) {
        bytes.put((byte) ' ');
      } else if (c <= 0xFF) {
        bytes.put((byte) c);
      } else {
        // Only a caller that is not Netty hands over such a character; take it as UTF-8.
        bytes.put(String.valueOf(c).getBytes(StandardCharsets.UTF_8));
      }
    }
    bytes.flip();
    CharsetDecoder utf8 =
        StandardCharsets.UTF_8
            .newDecoder()
            .onMalformedInput(CodingErrorAction.REPORT)
            .onUnmappableCharacter(CodingErrorAction.REPORT);
    try {
      CharBuffer chars = utf8.decode(bytes);
      return chars.toString();
    } catch (CharacterCodingException e) {
      throw new KvApi.ApiException(
          code,
          what + " is not valid UTF-8 after percent-decoding (at byte " + bytes.position() + ")");
    }
  }
}
