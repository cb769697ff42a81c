package org.flotilla.raft.sim;

import java.lang.reflect.RecordComponent;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Collection;
import java.util.HexFormat;
import java.util.Map;
import java.util.Optional;
import java.util.function.Consumer;
import java.util.function.LongSupplier;

/**
 * The trace of a simulated run: each event is one line of text (its virtual time, its kind, and
 * what it carried), and a SHA-256 digest of every line in order. Two runs with the same digest did
 * the same things in the same order at the same virtual times, so comparing digests tests that a
 * seed replays exactly.
 *
 * <p>Values are rendered by content only, never by identity: records by their components, byte
 * buffers by their remaining bytes' length and hash, collections element by element, and any other
 * object by its own {@code toString()} if it has one, else by its class name alone.
 *
 * <p>Not thread-safe; confined to the simulator's thread.
 */
final class Trace {

  private final LongSupplier clock;
  private final MessageDigest digest;
  private final StringBuilder line = new StringBuilder(256);
  private Consumer<String> sink;
  private long events;

  Trace(LongSupplier clock) {
    this.clock = clock;
    try {
      this.digest = MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every Java platform has SHA-256", e);
    }
  }

  /** Sends every later line to {@code sink} as well (null for none). */
  void sink(Consumer<String> sink) {
    this.sink = sink;
  }

  /** Records one event: its kind and the values it carried. */
  void event(String kind, Object... values) {
    line.setLength(0);
    line.append(clock.getAsLong()).append(' ').append(kind);
    for (Object v : values) {
      line.append(' ');
      render(v, line);
    }
    String text = line.toString();
    digest.update(text.getBytes(StandardCharsets.UTF_8));
    digest.update((byte) '\n');
    events++;
    if (sink != null) {
      sink.accept(text);
    }
  }

  /** The number of events recorded. */
  long events() {
    return events;
  }

  /** The digest of every event so far, in hex (the trace goes on after this). */
  String digest() {
    try {
      return HexFormat.of().formatHex(((MessageDigest) digest.clone()).digest());
    } catch (CloneNotSupportedException e) {
      throw new IllegalStateException("SHA-256 digests are cloneable", e);
    }
  }

  private static void render(Object v, StringBuilder out) {
    if (v == null) {
      out.append("null");
    } else if (v instanceof CharSequence || v instanceof Number || v instanceof Boolean) {
      out.append(v);
    } else if (v instanceof Enum<?> e) {
      out.append(e.name());
    } else if (v instanceof ByteBuffer b) {
      out.append("bytes(").append(b.remaining()).append('#');
      out.append(Integer.toHexString(b.hashCode())).append(')');
    } else if (v instanceof Optional<?> o) {
      out.append("Optional[");
      render(o.orElse(null), out);
      out.append(']');
    } else if (v instanceof Collection<?> c) {
      out.append('[');
      String sep = "";
      for (Object e : c) {
        out.append(sep);
        render(e, out);
        sep = ",";
      }
      out.append(']');
    } else if (v instanceof Map<?, ?> m) {
      out.append('{');
      String sep = "";
      for (Map.Entry<?, ?> e : m.entrySet()) {
        out.append(sep);
        render(e.getKey(), out);
        out.append('=');
        render(e.getValue(), out);
        sep = ",";
      }
      out.append('}');
    } else if (v.getClass().isRecord()) {
      renderRecord(v, out);
    } else if (ownToString(v.getClass())) {
      out.append(v);
    } else {
      out.append(v.getClass().getSimpleName());
    }
  }

  private static void renderRecord(Object r, StringBuilder out) {
    out.append(r.getClass().getSimpleName()).append('[');
    String sep = "";
    for (RecordComponent c : r.getClass().getRecordComponents()) {
      out.append(sep).append(c.getName()).append('=');
      try {
        render(c.getAccessor().invoke(r), out);
      } catch (ReflectiveOperationException e) {
        out.append('?');
      }
      sep = ",";
    }
    out.append(']');
  }

  private static boolean ownToString(Class<?> type) {
    try {
      return type.getMethod("toString").getDeclaringClass() != Object.class;
    } catch (NoSuchMethodException e) {
      return false;
    }
  }
}
