package org.flotilla.raft.examples;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

class JsonTest {

  @Test
  void parsesAFlatObjectWithEscapesNullsNumbersAndBooleans() {
    Map<String, String> expected = new HashMap<>();
    expected.put("expect", null);
    expected.put("value", "a\"b\\c\n\u00e9");
    expected.put("n", "-12.5e3");
    expected.put("t", "true");
    assertThat(
            Json.parseObject(
                " { \"expect\" : null, \"value\":\"a\\\"b\\\\c\\n\\u00e9\", \"n\": -12.5e3,"
                    + " \"t\":true } "))
        .isEqualTo(expected);
    assertThat(Json.parseObject("{}")).isEmpty();
  }

  @Test
  void rejectsMalformedInputWithThePosition() {
    for (String bad :
        new String[] {
          "",
          "{",
          "{\"a\"}",
          "{\"a\":}",
          "{\"a\":1,}",
          "{\"a\":1} x",
          "[1]",
          "{\"a\":{}}",
          "{\"a\":nul}",
          "{\"a\":\"\\q\"}",
          "{\"a\":1,\"a\":2}",
          "{\"a\":\"\\u12\"}"
        }) {
      assertThatThrownBy(() -> Json.parseObject(bad))
          .as(bad)
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageStartingWith("malformed JSON at offset");
    }
  }

  @Test
  void quoteEscapesWhatJsonRequires() {
    assertThat(Json.quote("a\"\\\n\u0001")).isEqualTo("\"a\\\"\\\\\\n\\u0001\"");
    assertThat(Json.quote(null)).isEqualTo("null");
    String round = "x\"y\\z\t";
    assertThat(Json.parseObject("{\"k\":" + Json.quote(round) + "}")).containsEntry("k", round);
  }
}
