package org.flotilla.raft.examples;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.flotilla.raft.StateMachine;

/**
 * The key-value store's replicated state: a map from string keys to byte values, plus the HTTP
 * address of every member (so that any node can forward a request to the leader, including nodes
 * that joined after the others started).
 *
 * <p>Commands and queries are small binary records built by the static {@code encode} methods: one
 * opcode byte, then length-prefixed fields. Results are binary too; the HTTP layer decodes them
 * with the {@code decode} methods.
 *
 * <p>Threading: confined to the node's apply thread, except two things. {@link #query} may also run
 * on the node's event loop, concurrently with {@link #apply} ({@link #concurrentQueries()}): the
 * data is a {@link ConcurrentHashMap} and every command changes at most one key with one map
 * operation, so a query sees each command entirely or not at all; {@link #restore}, which clears
 * and refills the map, never runs beside a query. {@link #httpAddresses()} publishes an immutable
 * copy through a volatile field and may be read from any thread.
 */
final class KvStateMachine implements StateMachine {

  /** The longest key, in bytes of UTF-8. */
  static final int MAX_KEY_BYTES = 1024;

  private static final byte PUT = 'P';
  private static final byte DELETE = 'D';
  private static final byte CAS = 'C';
  private static final byte SET_HTTP = 'H';
  private static final byte GET = 'G';
  private static final int SNAPSHOT_MAGIC = 0x464b5631; // "FKV1"

  private final Map<String, byte[]> data = new ConcurrentHashMap<>();
  private final Map<String, String> http = new HashMap<>();
  private volatile Map<String, String> httpView = Map.of();

  /**
   * Creates an empty store that knows the given members' HTTP addresses before any command.
   *
   * @param initialHttp member id to HTTP address, from the command line
   */
  KvStateMachine(Map<String, String> initialHttp) {
    http.putAll(initialHttp);
    httpView = Map.copyOf(http);
  }

  /**
   * Returns the HTTP addresses known so far. Any thread.
   *
   * @return member id to "host:port", immutable
   */
  Map<String, String> httpAddresses() {
    return httpView;
  }

  @Override
  public ByteBuffer apply(long index, ByteBuffer command) {
    ByteBuffer in = command.duplicate();
    byte op = in.get();
    switch (op) {
      case PUT -> {
        String key = readString(in);
        data.put(key, readBytes(in));
        return ByteBuffer.wrap(new byte[] {1});
      }
      case DELETE -> {
        String key = readString(in);
        return ByteBuffer.wrap(new byte[] {(byte) (data.remove(key) != null ? 1 : 0)});
      }
      case CAS -> {
        String key = readString(in);
        byte[] expect = in.get() == 1 ? readBytes(in) : null;
        byte[] value = readBytes(in);
        byte[] current = data.get(key);
        boolean swaps = expect == null ? current == null : Arrays.equals(expect, current);
        if (swaps) {
          data.put(key, value);
          return ByteBuffer.wrap(new byte[] {1});
        }
        return encodeOptional((byte) 0, current);
      }
      case SET_HTTP -> {
        String id = readString(in);
        http.put(id, readString(in));
        httpView = Map.copyOf(http);
        return ByteBuffer.wrap(new byte[] {1});
      }
      default ->
          // Only this class writes commands, so an unknown opcode is a bug or a newer writer: the
          // node must stop rather than skip the entry (StateMachine contract).
          throw new IllegalStateException("unknown command opcode " + op + " at index " + index);
    }
  }

  @Override
  public ByteBuffer query(ByteBuffer query) {
    ByteBuffer in = query.duplicate();
    byte op = in.get();
    if (op != GET) {
      throw new IllegalArgumentException("unknown query opcode " + op);
    }
    byte[] value = data.get(readString(in));
    return encodeOptional(value == null ? (byte) 0 : (byte) 1, value);
  }

  /** Queries read one key of a concurrent map: safe beside applies, and quick. */
  @Override
  public boolean concurrentQueries() {
    return true;
  }

  @Override
  public Snapshot snapshot() {
    Map<String, byte[]> dataCopy = Map.copyOf(data); // values are never mutated after apply
    Map<String, String> httpCopy = Map.copyOf(http);
    return out -> write(dataCopy, httpCopy, out);
  }

  private static void write(Map<String, byte[]> d, Map<String, String> h, OutputStream os)
      throws IOException {
    DataOutputStream out = new DataOutputStream(os);
    out.writeInt(SNAPSHOT_MAGIC);
    out.writeInt(d.size());
    for (Map.Entry<String, byte[]> e : d.entrySet()) {
      writeField(out, e.getKey().getBytes(StandardCharsets.UTF_8));
      writeField(out, e.getValue());
    }
    out.writeInt(h.size());
    for (Map.Entry<String, String> e : h.entrySet()) {
      writeField(out, e.getKey().getBytes(StandardCharsets.UTF_8));
      writeField(out, e.getValue().getBytes(StandardCharsets.UTF_8));
    }
    out.flush();
  }

  private static void writeField(DataOutputStream out, byte[] b) throws IOException {
    out.writeInt(b.length);
    out.write(b);
  }

  private static byte[] readField(DataInputStream in) throws IOException {
    int n = in.readInt();
    if (n < 0 || n > (64 << 20)) {
      throw new IOException("corrupt snapshot: field length " + n);
    }
    byte[] b = new byte[n];
    in.readFully(b);
    return b;
  }

  @Override
  public void restore(long index, long term, InputStream is) throws IOException {
    DataInputStream in = new DataInputStream(is);
    int magic;
    try {
      magic = in.readInt();
    } catch (EOFException e) {
      throw new IOException("empty key-value snapshot", e);
    }
    if (magic != SNAPSHOT_MAGIC) {
      throw new IOException("not a key-value snapshot: magic 0x" + Integer.toHexString(magic));
    }
    Map<String, byte[]> d = new HashMap<>();
    int n = in.readInt();
    for (int i = 0; i < n; i++) {
      d.put(new String(readField(in), StandardCharsets.UTF_8), readField(in));
    }
    Map<String, String> h = new HashMap<>();
    int m = in.readInt();
    for (int i = 0; i < m; i++) {
      h.put(
          new String(readField(in), StandardCharsets.UTF_8),
          new String(readField(in), StandardCharsets.UTF_8));
    }
    data.clear();
    data.putAll(d);
    // Addresses given on the command line stay known unless the snapshot names the member too.
    http.putAll(h);
    httpView = Map.copyOf(http);
  }

  // ------------------------------------------------------------------ encoding

  static ByteBuffer encodePut(String key, byte[] value) {
    byte[] k = key(key);
    return ByteBuffer.allocate(1 + 8 + k.length + value.length)
        .put(PUT)
        .putInt(k.length)
        .put(k)
        .putInt(value.length)
        .put(value)
        .flip();
  }

  static ByteBuffer encodeDelete(String key) {
    byte[] k = key(key);
    return ByteBuffer.allocate(1 + 4 + k.length).put(DELETE).putInt(k.length).put(k).flip();
  }

  static ByteBuffer encodeCas(String key, byte[] expect, byte[] value) {
    byte[] k = key(key);
    ByteBuffer b =
        ByteBuffer.allocate(
            1 + 4 + k.length + 1 + (expect == null ? 0 : 4 + expect.length) + 4 + value.length);
    b.put(CAS).putInt(k.length).put(k);
    if (expect == null) {
      b.put((byte) 0);
    } else {
      b.put((byte) 1).putInt(expect.length).put(expect);
    }
    return b.putInt(value.length).put(value).flip();
  }

  static ByteBuffer encodeSetHttp(String id, String httpAddress) {
    byte[] i = id.getBytes(StandardCharsets.UTF_8);
    byte[] a = httpAddress.getBytes(StandardCharsets.UTF_8);
    return ByteBuffer.allocate(1 + 8 + i.length + a.length)
        .put(SET_HTTP)
        .putInt(i.length)
        .put(i)
        .putInt(a.length)
        .put(a)
        .flip();
  }

  static ByteBuffer encodeGet(String key) {
    byte[] k = key(key);
    return ByteBuffer.allocate(1 + 4 + k.length).put(GET).putInt(k.length).put(k).flip();
  }

  /**
   * Decodes the result of a GET query or a failed CAS: the value, or null if absent.
   *
   * @param result the result buffer
   * @return the value, or null
   */
  static byte[] decodeValue(ByteBuffer result) {
    ByteBuffer in = result.duplicate();
    in.get(); // found / swapped flag
    if (in.get() == 0) {
      return null;
    }
    return readBytes(in);
  }

  /**
   * Tells whether a DELETE found its key, or a CAS swapped.
   *
   * @param result the result buffer
   * @return the flag
   */
  static boolean decodeFlag(ByteBuffer result) {
    return result.duplicate().get() == 1;
  }

  /**
   * Tells whether a GET found its key.
   *
   * @param result the query result
   * @return true if found
   */
  static boolean decodeFound(ByteBuffer result) {
    return result.duplicate().get() == 1;
  }

  private static ByteBuffer encodeOptional(byte flag, byte[] value) {
    if (value == null) {
      return ByteBuffer.wrap(new byte[] {flag, 0});
    }
    return ByteBuffer.allocate(2 + 4 + value.length)
        .put(flag)
        .put((byte) 1)
        .putInt(value.length)
        .put(value)
        .flip();
  }

  private static byte[] key(String key) {
    byte[] k = key.getBytes(StandardCharsets.UTF_8);
    if (k.length == 0 || k.length > MAX_KEY_BYTES) {
      throw new IllegalArgumentException(
          "key must be 1 to " + MAX_KEY_BYTES + " bytes of UTF-8, got " + k.length);
    }
    return k;
  }

  /**
   * Describes a command in one line, for {@code flotilla log dump --decode kv} ({@link
   * KvCommandDecoder}): the operation, the key, and each value (as text if it is short UTF-8,
   * otherwise its size).
   */
  static String describe(ByteBuffer command) {
    ByteBuffer in = command.duplicate();
    try {
      byte op = in.get();
      return switch (op) {
        case PUT -> "PUT " + readString(in) + " = " + value(readBytes(in));
        case DELETE -> "DELETE " + readString(in);
        case CAS -> {
          String key = readString(in);
          String expect = in.get() == 1 ? value(readBytes(in)) : "(absent)";
          yield "CAS " + key + " expect " + expect + " = " + value(readBytes(in));
        }
        case SET_HTTP -> "SET-HTTP " + readString(in) + " " + readString(in);
        default -> "(unknown opcode " + op + ")";
      };
    } catch (RuntimeException e) {
      return "(malformed command of " + command.remaining() + " bytes)";
    }
  }

  private static String value(byte[] v) {
    if (v.length <= 64) {
      try {
        return '"'
            + StandardCharsets.UTF_8
                .newDecoder()
                .decode(ByteBuffer.wrap(v))
                .toString()
                .replace("\\", "\\\\")
                .replace("\"", "\\\"")
                .replace("\n", "\\n")
            + '"';
      } catch (java.nio.charset.CharacterCodingException e) {
        // not text: its size below
      }
    }
    return "(" + v.length + " bytes)";
  }

  private static String readString(ByteBuffer in) {
    return new String(readBytes(in), StandardCharsets.UTF_8);
  }

  private static byte[] readBytes(ByteBuffer in) {
    byte[] b = new byte[in.getInt()];
    in.get(b);
    return b;
  }
}
