package org.flotilla.raft.storage;

import java.io.IOException;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.NavigableMap;
import java.util.Optional;
import java.util.function.Consumer;
import java.util.function.LongConsumer;
import org.flotilla.raft.message.LogEntry;
import org.flotilla.raft.spi.DurableMark;
import org.flotilla.raft.spi.StorageException;

/**
 * Reads a stopped member's {@link FileLogStore} directory without changing it, for offline tools
 * ({@code flotilla log verify}, {@code flotilla log dump}).
 *
 * <p>{@link #verify} makes the checks {@link FileLogStore#open} makes (each segment's header, each
 * record's CRC32C, index continuity, terms that never decrease, segments that chain on) and reports
 * what it finds instead of acting on it: an error is what would make {@code open} refuse the log; a
 * warning is what {@code open} would repair on its own (truncate a torn tail of the last segment,
 * delete a last segment whose header never reached the disk, complete an interrupted reset) or a
 * lost tail: a log that no longer covers the entry its store last reported durable (it opens, and
 * the member waits for a leader to repair it before it votes).
 *
 * <p>While open it holds the directory's lock, so it refuses a log that a running member (or any
 * other store) has open, and a member cannot start on the directory until it is closed. Not
 * thread-safe.
 */
public final class LogInspector implements AutoCloseable {

  /**
   * One segment file as read.
   *
   * @param file the file
   * @param firstIndex the index of its first record (from its name and header)
   * @param lastIndex the index of its last valid record; {@code firstIndex - 1} if it has none
   * @param lastTerm the term of its last valid record (its header's previous term if none)
   * @param bytes the file's size
   */
  public record SegmentReport(
      Path file, long firstIndex, long lastIndex, long lastTerm, long bytes) {}

  /**
   * What {@link #verify} found.
   *
   * @param segments every segment read, in index order
   * @param baseIndex the index before the first entry (the compaction point)
   * @param lastIndex the index of the last valid entry
   * @param durableMark the entry the store last reported durable, if it recorded one
   * @param errors what would make {@link FileLogStore#open} refuse the log, each naming the file
   *     and offset; empty if none
   * @param warnings what {@code open} would repair on its own, and a lost tail; empty if none
   */
  public record Report(
      List<SegmentReport> segments,
      long baseIndex,
      long lastIndex,
      Optional<DurableMark> durableMark,
      List<String> errors,
      List<String> warnings) {

    /**
     * Copies the lists.
     *
     * @param segments every segment read
     * @param baseIndex the index before the first entry
     * @param lastIndex the index of the last valid entry
     * @param durableMark the entry last reported durable, if recorded
     * @param errors what would make the log refuse to open
     * @param warnings what opening would repair, and a lost tail
     */
    public Report {
      segments = List.copyOf(segments);
      errors = List.copyOf(errors);
      warnings = List.copyOf(warnings);
    }

    /** {@return true if the log opens (perhaps after warnings) and lost no acknowledged tail} */
    public boolean ok() {
      return errors.isEmpty();
    }
  }

  private final Path dir;
  private final DirectoryLock lock;
  private final NavigableMap<Long, Path> files;

  private LogInspector(Path dir, DirectoryLock lock, NavigableMap<Long, Path> files) {
    this.dir = dir;
    this.lock = lock;
    this.files = files;
  }

  /**
   * Opens a log directory for reading.
   *
   * @param dir the directory a {@link FileLogStore} writes
   * @return the inspector, holding the directory's lock
   * @throws StorageException if the directory does not exist, cannot be listed, or a store has it
   *     open (a running member)
   */
  public static LogInspector open(Path dir) {
    if (!Files.isDirectory(dir)) {
      throw new StorageException("no log directory at " + dir);
    }
    DirectoryLock lock = DirectoryLock.acquire(dir, FileLogStore.LOCK, "log");
    try {
      return new LogInspector(dir, lock, FileLogStore.listSegments(dir));
    } catch (IOException | RuntimeException e) {
      lock.close();
      throw new StorageException("cannot list the log in " + dir + ": " + e, e);
    }
  }

  /** {@return the total size of the segment files, in bytes: what {@link #verify} reads} */
  public long totalBytes() {
    long sum = 0;
    for (Path p : files.values()) {
      try {
        sum += Files.size(p);
      } catch (IOException e) {
        throw new StorageException("cannot read the size of " + p + ": " + e, e);
      }
    }
    return sum;
  }

  /**
   * Reads and checks every segment.
   *
   * @param progress told the bytes read so far after each segment
   * @return what was found
   * @throws StorageException if a file cannot be read at all
   */
  public Report verify(LongConsumer progress) {
    List<SegmentReport> segments = new ArrayList<>();
    List<String> errors = new ArrayList<>();
    List<String> warnings = new ArrayList<>();
    if (Files.exists(dir.resolve(FileLogStore.RESET_TMP))) {
      warnings.add("an interrupted reset (" + FileLogStore.RESET_TMP + ") would be completed");
    }
    SegmentScan previous = null;
    long baseIndex = files.isEmpty() ? 0 : files.firstKey() - 1;
    long lastIndex = baseIndex;
    long lastTerm = 0;
    long done = 0;
    int i = 0;
    for (Map.Entry<Long, Path> f : files.entrySet()) {
      boolean last = ++i == files.size();
      Path path = f.getValue();
      SegmentScan scan;
      try {
        scan = scan(path, f.getKey());
      } catch (StorageException e) {
        errors.add(e.getMessage());
        previous = null;
        continue;
      }
      done += scan.fileSize;
      progress.accept(done);
      String error = scan.error(previous, last);
      if (error != null) {
        errors.add(error);
      } else if (scan.ending == SegmentScan.End.TORN_HEADER) {
        warnings.add(path + ": a new segment whose header never reached the disk would be deleted");
        continue;
      } else if (scan.ending == SegmentScan.End.TORN) {
        warnings.add(
            path
                + ": the torn tail at offset "
                + scan.end
                + " (index "
                + (scan.lastIndex() + 1)
                + ") would be truncated: "
                + scan.reason
                + "; "
                + (scan.fileSize - scan.end)
                + " bytes");
      }
      segments.add(
          new SegmentReport(path, scan.firstIndex, scan.lastIndex(), scan.lastTerm, scan.fileSize));
      lastIndex = scan.lastIndex();
      lastTerm = scan.lastTerm;
      previous = scan;
    }
    Optional<DurableMark> mark = durableMark();
    if (mark.isPresent() && !mark.get().coveredBy(lastIndex, lastTerm)) {
      warnings.add(
          "the log ends at "
              + lastIndex
              + " (term "
              + lastTerm
              + ") but entry "
              + mark.get().index()
              + "@"
              + mark.get().term()
              + " was reported durable: its tail was lost. The member opens, but waits for a"
              + " leader to repair it before it votes or campaigns");
    }
    return new Report(segments, baseIndex, lastIndex, mark, errors, warnings);
  }

  /**
   * Hands the valid entries with indexes in {@code [from, to]} to {@code sink}, in order. Reading
   * stops at the first invalid record.
   *
   * @param from the first index wanted
   * @param to the last index wanted
   * @param sink receives each entry, with a copy of its payload
   * @return how many entries were handed out
   * @throws StorageException if a segment cannot be read or its header is invalid
   */
  public long entries(long from, long to, Consumer<LogEntry> sink) {
    long count = 0;
    for (Map.Entry<Long, Path> f : files.entrySet()) {
      Long next = files.higherKey(f.getKey());
      if ((next != null && next <= from) || f.getKey() > to) {
        continue;
      }
      Path path = f.getValue();
      try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
        SegmentScan scan = SegmentScan.scan(path, ch, f.getKey(), new TermRuns());
        MappedByteBuffer buf = ch.map(FileChannel.MapMode.READ_ONLY, 0, ch.size());
        for (int k = 0; k < scan.count; k++) {
          long index = scan.firstIndex + k;
          if (index >= from && index <= to) {
            sink.accept(LogRecord.decode(buf, (int) scan.offsets[k]));
            count++;
          }
        }
        if (scan.ending != SegmentScan.End.CLEAN) {
          return count;
        }
      } catch (IOException e) {
        throw new StorageException("cannot read " + path + ": " + e, e);
      }
    }
    return count;
  }

  private static SegmentScan scan(Path path, long nameIndex) {
    try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
      return SegmentScan.scan(path, ch, nameIndex, new TermRuns());
    } catch (IOException e) {
      throw new StorageException("cannot read " + path + ": " + e, e);
    }
  }

  private Optional<DurableMark> durableMark() {
    if (!Files.exists(dir.resolve(DurableMarkFile.FILE))) {
      return Optional.empty();
    }
    try (DurableMarkFile f = DurableMarkFile.open(dir, ChannelFactory.DEFAULT)) {
      DurableMark m = f.mark();
      return m.equals(DurableMark.NONE) ? Optional.empty() : Optional.of(m);
    } catch (IOException e) {
      throw new StorageException("cannot read " + dir.resolve(DurableMarkFile.FILE) + ": " + e, e);
    }
  }

  /** Releases the directory's lock. */
  @Override
  public void close() {
    lock.close();
  }
}
