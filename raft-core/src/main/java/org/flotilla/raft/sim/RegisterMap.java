package org.flotilla.raft.sim;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.TreeMap;

/**
 * The simulator's replicated state machine: a map of registers with get, put and compare-and-set,
 * and the codec of its commands and results.
 *
 * <p>Not thread-safe; confined to the simulation's thread.
 */
final class RegisterMap {

  static final byte PUT = 1;
  static final byte CAS = 2;
  static final byte GET = 3;

  /** A value meaning "absent" in compare-and-set expectations and read results. */
  static final long ABSENT = Long.MIN_VALUE;

  private final TreeMap<String, Long> values = new TreeMap<>();

  static ByteBuffer put(String key, long value) {
    return encode(PUT, key, value, 0);
  }

  static ByteBuffer cas(String key, long expect, long value) {
    return encode(CAS, key, expect, value);
  }

  static ByteBuffer get(String key) {
    return encode(GET, key, 0, 0);
  }

  private static ByteBuffer encode(byte op, String key, long a, long b) {
    byte[] k = key.getBytes(StandardCharsets.UTF_8);
    ByteBuffer buf = ByteBuffer.allocate(1 + 1 + k.length + 16);
    buf.put(op).put((byte) k.length).put(k).putLong(a).putLong(b);
    return buf.flip().asReadOnlyBuffer();
  }

  /** Applies a command and returns its result: the previous value, or 1/0 for a CAS. */
  long apply(ByteBuffer command) {
    ByteBuffer b = command.duplicate();
    byte op = b.get();
    byte[] k = new byte[b.get()];
    b.get(k);
    String key = new String(k, StandardCharsets.UTF_8);
    long x = b.getLong();
    long y = b.getLong();
    long current = values.getOrDefault(key, ABSENT);
    switch (op) {
      case PUT -> {
        values.put(key, x);
        return current;
      }
      case CAS -> {
        if (current == x) {
          values.put(key, y);
          return 1;
        }
        return 0;
      }
      case GET -> {
        return current;
      }
      default -> throw new IllegalArgumentException("unknown register op " + op);
    }
  }

  long read(String key) {
    return values.getOrDefault(key, ABSENT);
  }

  byte[] snapshot() {
    ByteBuffer b = ByteBuffer.allocate(4 + values.size() * 80);
    b.putInt(values.size());
    for (Map.Entry<String, Long> e : values.entrySet()) {
      byte[] k = e.getKey().getBytes(StandardCharsets.UTF_8);
      b.put((byte) k.length).put(k).putLong(e.getValue());
    }
    byte[] out = new byte[b.position()];
    b.flip().get(out);
    return out;
  }

  static RegisterMap restore(byte[] snapshot) {
    RegisterMap m = new RegisterMap();
    if (snapshot == null) {
      return m;
    }
    ByteBuffer b = ByteBuffer.wrap(snapshot);
    int n = b.getInt();
    for (int i = 0; i < n; i++) {
      byte[] k = new byte[b.get()];
      b.get(k);
      m.values.put(new String(k, StandardCharsets.UTF_8), b.getLong());
    }
    return m;
  }
}
