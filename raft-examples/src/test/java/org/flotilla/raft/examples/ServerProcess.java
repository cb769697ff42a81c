package org.flotilla.raft.examples;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * One key-value server in a child JVM (the test's class path, main class {@link KvServer}), with
 * its output appended to a log file. Supports SIGKILL, SIGSTOP and SIGCONT.
 *
 * <p>Not thread-safe; used by the chaos test's nemesis thread and its cleanup.
 */
final class ServerProcess {

  private final String id;
  private final List<String> args;
  private final Path log;
  private final Map<String, String> env;
  private Process process;
  private boolean paused;

  ServerProcess(String id, List<String> args, Path log) {
    this(id, args, log, Map.of());
  }

  /** A server whose process gets these environment variables on top of the test's. */
  ServerProcess(String id, List<String> args, Path log, Map<String, String> env) {
    this.id = id;
    this.args = List.copyOf(args);
    this.log = log;
    this.env = Map.copyOf(env);
  }

  String id() {
    return id;
  }

  void start() throws IOException {
    if (isAlive()) {
      throw new IllegalStateException(id + " is already running");
    }
    List<String> cmd = new ArrayList<>();
    cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    cmd.add("-Xmx128m");
    cmd.add("-Xss512k");
    cmd.add("-XX:+UseSerialGC");
    cmd.add("-XX:TieredStopAtLevel=1");
    // logback-test.xml (on the class path) logs to the console; the tests read INFO lines.
    cmd.add("-Dflotilla.test.log.level=INFO");
    cmd.add("-cp");
    cmd.add(System.getProperty("java.class.path"));
    cmd.add(KvServer.class.getName());
    cmd.addAll(args);
    ProcessBuilder pb =
        new ProcessBuilder(cmd)
            .redirectErrorStream(true)
            .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()));
    pb.environment().putAll(env);
    process = pb.start();
    paused = false;
  }

  boolean isAlive() {
    return process != null && process.isAlive();
  }

  /** Returns the process id of the running (or last) process. */
  long pid() {
    return process.pid();
  }

  /**
   * Waits for the process to exit by itself and returns its exit status.
   *
   * @throws IllegalStateException if it still runs after the timeout
   */
  int awaitExit(long timeout, TimeUnit unit) throws InterruptedException {
    if (!process.waitFor(timeout, unit)) {
      throw new IllegalStateException(id + " still runs after " + timeout + " " + unit);
    }
    return process.exitValue();
  }

  /** Kills the process with SIGKILL and waits for it to die. */
  void kill() throws InterruptedException {
    if (process == null) {
      return;
    }
    process.destroyForcibly();
    if (!process.waitFor(10, TimeUnit.SECONDS)) {
      throw new IllegalStateException(id + " did not die of SIGKILL in 10 s");
    }
    paused = false;
  }

  void pause() throws IOException, InterruptedException {
    signal("STOP");
    paused = true;
  }

  void resume() throws IOException, InterruptedException {
    if (paused) {
      signal("CONT");
      paused = false;
    }
  }

  boolean paused() {
    return paused;
  }

  private void signal(String sig) throws IOException, InterruptedException {
    if (!isAlive()) {
      return;
    }
    Process p = new ProcessBuilder("kill", "-" + sig, Long.toString(process.pid())).start();
    if (!p.waitFor(5, TimeUnit.SECONDS) || p.exitValue() != 0) {
      throw new IOException("kill -" + sig + " " + process.pid() + " failed");
    }
  }
}
