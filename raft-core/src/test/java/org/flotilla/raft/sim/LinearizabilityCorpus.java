package org.flotilla.raft.sim;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Readers for the recorded histories under {@code src/test/resources/linearizability/} (see the
 * README there): Jepsen's etcd logs and the kv EDN lines. Times are line numbers, so the order of
 * the lines is the real-time order of events.
 */
final class LinearizabilityCorpus {

  /** The key of the single register in the Jepsen etcd histories. */
  static final String REGISTER = "r";

  private static final Pattern KV_LINE =
      Pattern.compile(
          "\\{:process (\\d+), :type :(invoke|ok|fail|info), :f :(get|put|append),"
              + " :key \"([^\"]*)\", :value (?:nil|\"([^\"]*)\")}");

  private static final Pattern CAS_VALUE = Pattern.compile("\\[(\\S+)\\s+(\\S+)]");

  private LinearizabilityCorpus() {}

  /** Reads a resource as lines, failing clearly if it is missing. */
  static List<String> lines(String resource) {
    try (InputStream in = LinearizabilityCorpus.class.getResourceAsStream(resource)) {
      if (in == null) {
        throw new IllegalArgumentException("no test resource " + resource);
      }
      return new String(in.readAllBytes(), StandardCharsets.UTF_8).lines().toList();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + resource, e);
    }
  }

  /** An operation invoked and not yet closed. */
  private record Open(String key, String kind, Object input, long invokeTime) {}

  /**
   * Parses a Jepsen etcd log, {@code INFO jepsen.util - PROCESS TYPE F VALUE} per line, into
   * operations on {@link CasRegisterModel}: read is get, write is put; {@code :ok :cas} is a cas
   * that swapped; {@code :fail :cas} is one whose compare failed, read either as a cas that ran and
   * returned false ({@code failedCasReturnsFalse}, as Porcupine reads it: it constrains the state)
   * or as an operation that did not take effect (outcome FAILED: the checker drops it); {@code
   * :info} (any operation) and {@code :fail :read :timed-out} are unknown, and so is an operation
   * that never closes. Values stay strings.
   */
  static List<Operation> parseJepsenEtcd(
      String name, List<String> lines, boolean failedCasReturnsFalse) {
    Map<Integer, Open> open = new LinkedHashMap<>();
    List<Operation> ops = new ArrayList<>();
    for (int t = 0; t < lines.size(); t++) {
      String line = lines.get(t).strip();
      if (line.isEmpty()) {
        continue;
      }
      String[] f = line.split("\\s+", 7);
      if (f.length < 7
          || !f[0].equals("INFO")
          || !f[1].equals("jepsen.util")
          || !f[2].equals("-")) {
        throw bad(name, t, line, "not a jepsen.util history line");
      }
      int process = Integer.parseInt(f[3]);
      String type = f[4];
      String kind =
          switch (f[5]) {
            case ":read" -> CasRegisterModel.GET;
            case ":write" -> CasRegisterModel.PUT;
            case ":cas" -> CasRegisterModel.CAS;
            default -> throw bad(name, t, line, "unknown operation " + f[5]);
          };
      String value = f[6];
      if (type.equals(":invoke")) {
        Object input =
            switch (kind) {
              case CasRegisterModel.PUT -> value;
              case CasRegisterModel.CAS -> cas(name, t, line, value);
              default -> null;
            };
        if (open.put(process, new Open(REGISTER, kind, input, t)) != null) {
          throw bad(name, t, line, "process " + process + " invokes twice");
        }
        continue;
      }
      Open o = open.remove(process);
      if (o == null || !o.kind().equals(kind)) {
        throw bad(name, t, line, "closes no matching open operation: " + o);
      }
      boolean timedOut = value.equals(":timed-out");
      if (type.equals(":info") || (type.equals(":fail") && timedOut)) {
        ops.add(Operation.unknown(process, o.key(), kind, o.input(), o.invokeTime()));
      } else if (type.equals(":ok")
          || (type.equals(":fail") && kind.equals(CasRegisterModel.CAS) && failedCasReturnsFalse)) {
        Object output =
            switch (kind) {
              case CasRegisterModel.GET -> value.equals("nil") ? null : value;
              case CasRegisterModel.CAS -> type.equals(":ok");
              default -> null;
            };
        ops.add(Operation.ok(process, o.key(), kind, o.input(), output, o.invokeTime(), t));
      } else if (type.equals(":fail")) {
        ops.add(Operation.failed(process, o.key(), kind, o.input(), o.invokeTime(), t));
      } else {
        throw bad(name, t, line, "unknown type " + type);
      }
    }
    closeUnknown(open, ops);
    return ops;
  }

  private static CasRegisterModel.Cas cas(String name, int t, String line, String value) {
    Matcher m = CAS_VALUE.matcher(value);
    if (!m.matches()) {
      throw bad(name, t, line, "a cas value is [FROM TO]");
    }
    return new CasRegisterModel.Cas(m.group(1).equals("nil") ? null : m.group(1), m.group(2));
  }

  /**
   * Parses kv EDN lines, {@code {:process P, :type T, :f F, :key "K", :value V}}, into operations
   * on {@link AppendStringModel}: {@code :ok} closes the process's open operation (a get's value is
   * what it read), {@code :fail} means it did not take effect, {@code :info} (or no closing line)
   * that its outcome is unknown.
   */
  static List<Operation> parseKv(String name, List<String> lines) {
    Map<Integer, Open> open = new LinkedHashMap<>();
    List<Operation> ops = new ArrayList<>();
    for (int t = 0; t < lines.size(); t++) {
      String line = lines.get(t).strip();
      if (line.isEmpty()) {
        continue;
      }
      Matcher m = KV_LINE.matcher(line);
      if (!m.matches()) {
        throw bad(name, t, line, "not a kv history line");
      }
      int process = Integer.parseInt(m.group(1));
      String type = m.group(2);
      String kind = m.group(3);
      String key = m.group(4);
      String value = m.group(5); // null for nil
      if (type.equals("invoke")) {
        Object input = kind.equals(AppendStringModel.GET) ? null : value;
        if (open.put(process, new Open(key, kind, input, t)) != null) {
          throw bad(name, t, line, "process " + process + " invokes twice");
        }
        continue;
      }
      Open o = open.remove(process);
      if (o == null || !o.kind().equals(kind) || !o.key().equals(key)) {
        throw bad(name, t, line, "closes no matching open operation: " + o);
      }
      switch (type) {
        case "ok" -> {
          Object output = kind.equals(AppendStringModel.GET) ? (value == null ? "" : value) : null;
          ops.add(Operation.ok(process, key, kind, o.input(), output, o.invokeTime(), t));
        }
        case "fail" -> ops.add(Operation.failed(process, key, kind, o.input(), o.invokeTime(), t));
        default -> ops.add(Operation.unknown(process, key, kind, o.input(), o.invokeTime()));
      }
    }
    closeUnknown(open, ops);
    return ops;
  }

  private static void closeUnknown(Map<Integer, Open> open, List<Operation> ops) {
    open.forEach(
        (process, o) ->
            ops.add(Operation.unknown(process, o.key(), o.kind(), o.input(), o.invokeTime())));
  }

  private static IllegalArgumentException bad(String name, int t, String line, String why) {
    return new IllegalArgumentException(name + ":" + (t + 1) + ": " + why + ": " + line);
  }
}
