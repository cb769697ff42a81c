package org.flotilla.raft.examples.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/** CPU time of processes from {@code /proc/PID/stat} and of the machine from {@code /proc/stat}. */
public final class ProcStats {

  private ProcStats() {}

  private static final long CLK_TCK = clockTicks();

  private static long clockTicks() {
    try {
      Process p = new ProcessBuilder("getconf", "CLK_TCK").redirectErrorStream(true).start();
      String s =
          new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.US_ASCII)
              .trim();
      p.waitFor();
      return Long.parseLong(s);
    } catch (IOException | RuntimeException e) {
      return 100;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return 100;
    }
  }

  /**
   * Returns a process's user plus system CPU time.
   *
   * @param pid the process id
   * @return nanoseconds, or -1 if the process cannot be read
   */
  public static long cpuNanos(long pid) {
    try {
      return parseCpuNanos(Files.readString(Path.of("/proc/" + pid + "/stat")), CLK_TCK);
    } catch (IOException | RuntimeException e) {
      return -1;
    }
  }

  /**
   * Returns the user plus system CPU time of each thread of a process, by thread name ({@code
   * comm}; threads of one name are summed).
   *
   * @param pid the process id
   * @return nanoseconds by thread name; empty if the process cannot be read
   */
  public static java.util.Map<String, Long> threadCpuNanos(long pid) {
    java.util.Map<String, Long> byName = new java.util.HashMap<>();
    try (var tasks = Files.list(Path.of("/proc/" + pid + "/task"))) {
      for (Path t : (Iterable<Path>) tasks::iterator) {
        try {
          String stat = Files.readString(t.resolve("stat"));
          String name = stat.substring(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
          // Numbered threads of one pool count as one name.
          name = name.replaceAll("[-#]?\\d+$", "");
          byName.merge(name, parseCpuNanos(stat, CLK_TCK), Long::sum);
        } catch (IOException | RuntimeException e) {
          // the thread ended meanwhile
        }
      }
    } catch (IOException e) {
      return java.util.Map.of();
    }
    return byName;
  }

  /**
   * Parses utime and stime (fields 14 and 15) of a {@code /proc/PID/stat} line.
   *
   * @param stat the line
   * @param clockTicks clock ticks per second
   * @return their sum in nanoseconds
   */
  public static long parseCpuNanos(String stat, long clockTicks) {
    // The command name is in parentheses and may contain spaces: count fields after the last ')'.
    String[] f = stat.substring(stat.lastIndexOf(')') + 2).trim().split(" ", -1);
    long ticks = Long.parseLong(f[14 - 3]) + Long.parseLong(f[15 - 3]);
    return ticks * (1_000_000_000L / clockTicks);
  }

  /**
   * Returns the machine's busy and total jiffies from the first line of {@code /proc/stat}; idle
   * and iowait count as not busy.
   *
   * @return {busy, total}, or zeros if unreadable
   */
  public static long[] machineJiffies() {
    try {
      List<String> lines = Files.readAllLines(Path.of("/proc/stat"));
      return parseMachine(lines.get(0));
    } catch (IOException | RuntimeException e) {
      return new long[] {0, 0};
    }
  }

  /**
   * Parses the {@code cpu} line of {@code /proc/stat}.
   *
   * @param cpuLine the line
   * @return {busy, total}
   */
  public static long[] parseMachine(String cpuLine) {
    String[] f = cpuLine.trim().split("\\s+", -1);
    long total = 0;
    long idle = 0;
    for (int i = 1; i < f.length; i++) {
      long v = Long.parseLong(f[i]);
      total += v;
      if (i == 4 || i == 5) {
        idle += v;
      }
    }
    return new long[] {total - idle, total};
  }
}
