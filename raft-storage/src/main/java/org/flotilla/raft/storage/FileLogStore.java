package org.flotilla.raft.storage;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.NavigableMap;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.flotilla.raft.message.LogEntry;
import org.flotilla.raft.spi.DurableMark;
import org.flotilla.raft.spi.LogStore;
import org.flotilla.raft.spi.StorageException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.MDC;

/**
 * The durable Raft log on local disk: append-only segment files of checksummed records, with group
 * commit on the store's own sync thread. The format and the recovery rules are in
 * docs/storage-format.md.
 *
 * <p><b>Design: the event loop writes, the sync thread only forces.</b> {@link #append(List)}
 * encodes the entries into one buffer and writes it into the active segment with one positional
 * {@code write} (into the page cache), then publishes a sync target "written up to index i" and
 * returns. The sync thread takes the newest target, calls {@code FileChannel.force(false)} once,
 * and reports {@code durable(i, term)}. Targets published while a force is running are merged into
 * one, so one force covers every append made meanwhile (group commit), and at low load the latency
 * of an append is one force. This is faster than handing entries to the sync thread to write: a
 * {@code write} into the page cache costs microseconds, no entry is copied into a queue, and reads,
 * truncation and the in-memory index stay on one thread, so they need no locks.
 *
 * <p><b>The handoff is bounded.</b> It holds one merged target, never a queue of entries. What can
 * grow is the amount of data written but not yet forced; when it exceeds {@link
 * Options#maxUnsyncedBytes()}, {@code append} blocks until the sync thread catches up. Blocking is
 * the right backpressure: the disk is the bottleneck, failing the append would stop the node, and
 * the node's own bound on uncommitted proposals keeps this rare.
 *
 * <p><b>Segments are preallocated</b> with zeros on a background thread ({@link
 * SegmentPreallocator}), so that a sync flushes data rather than block allocations; the active
 * segment is forced at a roll, so a later segment never survives a crash that an earlier one did
 * not.
 *
 * <p><b>Truncation racing with a sync.</b> Removing an unsynced suffix bumps an epoch under {@code
 * reportLock}; the sync thread reports a target only if its epoch is still current, checked and
 * reported under the same lock. So an index whose entry was replaced is never reported durable
 * unless a later sync covered the replacement.
 *
 * <p><b>Failure is final.</b> A failed write or {@code force} marks the store failed, reports
 * {@link DurabilityListener#failed(Throwable)} once, and every later append throws {@link
 * StorageException}. The store never retries: after a failed {@code fsync} the kernel may have
 * dropped the dirty pages.
 *
 * <p>Threading: every method except {@link #close()} and {@link #durableIndex()} is confined to the
 * node's event loop; the in-memory index (per segment a {@code long[]} of record offsets, the term
 * runs and the recent-entry cache) is owned by it. The sync thread owns only the forcing, the
 * reports and the closing of deleted segments' channels.
 *
 * <p><b>Monitoring.</b> After every sync the sync thread calls {@link
 * DurabilityListener#synced(long, long, long)} with the entries made durable, the bytes covered and
 * the time the {@code fsync} took (the node turns it into its log-sync metrics). The sync thread
 * logs with the slf4j MDC of the thread that called {@link #setListener} (the node's group and id).
 *
 * <p><b>The store owns its directory.</b> From open to close it holds the lock file {@code
 * log.lock} there ({@link DirectoryLock}): a second log store on the same directory, in this
 * process or another, fails to open instead of writing into the same segments.
 */
public final class FileLogStore implements LogStore {

  private static final Logger log = LoggerFactory.getLogger(FileLogStore.class);
  private static final Pattern SEGMENT_NAME = Pattern.compile("(\\d{20})\\.log");
  static final String RESET_TMP = "reset.tmp";
  // how long the durable mark may lag the durable reports while the log is busy
  private static final long MARK_INTERVAL_NANOS = TimeUnit.MILLISECONDS.toNanos(10);
  static final String LOCK = "log.lock";

  private static final DurabilityListener NO_LISTENER =
      new DurabilityListener() {
        @Override
        public void durable(long index, long term) {}

        @Override
        public void failed(Throwable cause) {}
      };

  /**
   * The store's tuning and operator options.
   *
   * @param segmentSize the size at which a segment is rolled, in bytes (at least 4 KiB); an entry
   *     larger than that gets a segment of its own
   * @param maxUnsyncedBytes how many bytes may be written but not yet forced before {@code append}
   *     blocks
   * @param cacheEntries how many recent entries are kept in memory for the replication path
   * @param cacheMaxEntryBytes entries with a larger payload are not cached
   * @param discardCorruptLog the operator option: if recovery finds corruption, move the segment
   *     files aside into a {@code discarded-<millis>} directory and start an empty log (the node
   *     then catches up from its peers) instead of refusing to start
   * @param preallocate whether the next segment is prepared ahead of time, filled with zeros, on a
   *     background thread (otherwise segments are sparse files)
   */
  public record Options(
      long segmentSize,
      long maxUnsyncedBytes,
      int cacheEntries,
      int cacheMaxEntryBytes,
      boolean discardCorruptLog,
      boolean preallocate) {

    /**
     * Checks the options.
     *
     * @param segmentSize the segment size
     * @param maxUnsyncedBytes the unsynced bound
     * @param cacheEntries the cache capacity
     * @param cacheMaxEntryBytes the largest cached payload
     * @param discardCorruptLog the operator option
     * @param preallocate whether to preallocate segments
     */
    public Options {
      if (segmentSize < 4096 || segmentSize > Integer.MAX_VALUE) {
        throw new IllegalArgumentException(
            "segment size must be in [4 KiB, 2 GiB): " + segmentSize);
      }
      if (maxUnsyncedBytes < 1) {
        throw new IllegalArgumentException(
            "maxUnsyncedBytes must be positive: " + maxUnsyncedBytes);
      }
      if (cacheEntries < 1 || cacheMaxEntryBytes < 0) {
        throw new IllegalArgumentException(
            "bad cache options " + cacheEntries + ", " + cacheMaxEntryBytes);
      }
    }

    /**
     * Returns the defaults: 64 MiB segments, preallocated; 64 MiB unsynced; 8192 cached entries of
     * up to 16 KiB; refuse to start on corruption.
     *
     * @return the defaults
     */
    public static Options defaults() {
      return new Options(64L << 20, 64L << 20, 8192, 16 << 10, false, true);
    }

    /**
     * Returns these options with preallocation of segments on or off.
     *
     * @param on whether to preallocate
     * @return the options
     */
    public Options withPreallocate(boolean on) {
      return new Options(
          segmentSize, maxUnsyncedBytes, cacheEntries, cacheMaxEntryBytes, discardCorruptLog, on);
    }

    /**
     * Returns these options with another segment size.
     *
     * @param bytes the segment size
     * @return the options
     */
    public Options withSegmentSize(long bytes) {
      return new Options(
          bytes,
          maxUnsyncedBytes,
          cacheEntries,
          cacheMaxEntryBytes,
          discardCorruptLog,
          preallocate);
    }

    /**
     * Returns these options with another unsynced bound.
     *
     * @param bytes the bound
     * @return the options
     */
    public Options withMaxUnsyncedBytes(long bytes) {
      return new Options(
          segmentSize, bytes, cacheEntries, cacheMaxEntryBytes, discardCorruptLog, preallocate);
    }

    /**
     * Returns these options with another cache capacity.
     *
     * @param entries how many entries
     * @return the options
     */
    public Options withCacheEntries(int entries) {
      return new Options(
          segmentSize,
          maxUnsyncedBytes,
          entries,
          cacheMaxEntryBytes,
          discardCorruptLog,
          preallocate);
    }

    /**
     * Returns these options with the operator's discard option set or cleared.
     *
     * @param discard whether to discard a corrupt log
     * @return the options
     */
    public Options withDiscardCorruptLog(boolean discard) {
      return new Options(
          segmentSize, maxUnsyncedBytes, cacheEntries, cacheMaxEntryBytes, discard, preallocate);
    }
  }

  /**
   * What the sync thread is asked to do: force {@code force}, maybe the directory, then report
   * {@code (index, term)} if {@code epoch} is still current; then close {@code close}.
   */
  private record Target(
      long index,
      long term,
      long epoch,
      long written,
      List<Segment> force,
      boolean syncDir,
      List<Segment> close) {

    static Target merge(Target older, Target newer) {
      if (older == null) {
        return newer;
      }
      Target report = newer.index >= 0 ? newer : older;
      List<Segment> force = new ArrayList<>(older.force);
      for (Segment s : newer.force) {
        if (!force.contains(s)) {
          force.add(s);
        }
      }
      List<Segment> close = new ArrayList<>(older.close);
      close.addAll(newer.close);
      return new Target(
          report.index,
          report.term,
          report.epoch,
          Math.max(older.written, newer.written),
          force,
          older.syncDir || newer.syncDir,
          close);
    }
  }

  private final Path dir;
  private final DirectoryLock lock;
  private final Options options;
  private final ChannelFactory channels;

  // --- confined to the event loop ---
  private final ArrayList<Segment> segments = new ArrayList<>();
  private final TermRuns terms = new TermRuns();
  private final EntryCache cache;
  private final List<Segment> toClose = new ArrayList<>();
  private ByteBuffer encodeBuffer = ByteBuffer.allocateDirect(1 << 20);
  // invariant: segments.get(0).firstIndex - 1 <= lastIndex == active().lastIndex()
  private long lastIndex;
  // cumulative bytes written, never decreases
  private long writtenBytes;
  private boolean dirDirty;
  private boolean closed;

  // --- shared with the sync thread ---
  private final ReentrantLock reportLock = new ReentrantLock();
  private final Condition synced = reportLock.newCondition();
  // written by the event loop only, under reportLock; the sync thread reads it under reportLock
  private final AtomicLong epoch = new AtomicLong();
  // guarded by reportLock
  private long syncedBytes;
  // written under reportLock
  private volatile long durableIndex;
  private final AtomicReference<Target> pending = new AtomicReference<>();
  private final AtomicReference<Throwable> failure = new AtomicReference<>();
  private final AtomicBoolean failureReported = new AtomicBoolean();
  private volatile DurabilityListener listener = NO_LISTENER;
  // The slf4j MDC of the thread that set the listener (the node's start), for the sync thread's log
  // lines; written by setListener, read by the sync thread.
  private volatile Map<String, String> logContext;
  private volatile boolean stopping;
  // The durable mark (docs/storage-format.md): opened by recover(), then written only by the sync
  // thread (and by close() once that thread has stopped).
  private DurableMarkFile markFile;
  // the mark recorded in markFile, for durableMark(); written by whoever writes markFile
  private volatile DurableMark recordedMark = DurableMark.NONE;
  // sync thread only: the last entry reported durable, and when markFile was last written
  private DurableMark reportedMark = DurableMark.NONE;
  private long markWrittenAt;
  private final Thread syncThread;
  private final SegmentPreallocator preallocator;

  private FileLogStore(Path dir, DirectoryLock lock, Options options, ChannelFactory channels) {
    this.dir = dir;
    this.lock = lock;
    this.options = options;
    this.channels = channels;
    this.cache = new EntryCache(options.cacheEntries(), options.cacheMaxEntryBytes());
    this.syncThread = new Thread(this::syncLoop, "flotilla-log-sync-" + dir.getFileName());
    this.syncThread.setDaemon(true);
    this.preallocator =
        options.preallocate() ? new SegmentPreallocator(dir, options.segmentSize()) : null;
  }

  /**
   * Opens the log in {@code dir}, creating it if needed, and recovers it: every record is read and
   * checked, a torn tail of the last segment is truncated (logged as a warning), and any other
   * corruption refuses to open (unless {@link Options#discardCorruptLog()}).
   *
   * @param dir the log's directory
   * @param options the options
   * @return the open store, its sync thread started
   * @throws StorageException if the log is corrupt or cannot be read, naming the file and offset,
   *     or if another log store (in this process or another) has the directory open
   */
  public static FileLogStore open(Path dir, Options options) {
    return open(dir, options, ChannelFactory.DEFAULT);
  }

  static FileLogStore open(Path dir, Options options, ChannelFactory channels) {
    DirectoryLock lock = DirectoryLock.acquire(dir, LOCK, "log");
    FileLogStore store = new FileLogStore(dir, lock, options, channels);
    try {
      store.recover();
    } catch (IOException e) {
      store.closeChannels();
      lock.close();
      throw new StorageException("cannot open log in " + dir + ": " + e, e);
    } catch (RuntimeException e) {
      store.closeChannels();
      lock.close();
      throw e;
    }
    store.syncThread.start();
    if (store.preallocator != null) {
      store.preallocator.start();
    }
    return store;
  }

  // ------------------------------------------------------------------ recovery

  private void recover() throws IOException {
    Files.createDirectories(dir);
    long started = System.nanoTime();
    completeInterruptedReset();
    SegmentPreallocator.deleteLeftovers(dir);
    NavigableMap<Long, Path> files = listSegments();
    try {
      recoverSegments(files);
    } catch (StorageException e) {
      if (!options.discardCorruptLog()) {
        throw e;
      }
      closeChannels();
      segments.clear();
      terms.clear();
      Path aside = dir.resolve("discarded-" + System.currentTimeMillis());
      Files.createDirectories(aside);
      for (Path p : files.values()) {
        if (Files.exists(p)) {
          Files.move(p, aside.resolve(p.getFileName()));
        }
      }
      syncDirectory();
      log.error(
          "Log in {} is corrupt; discarding it into {} as the operator asked (discardCorruptLog):"
              + " the node starts empty and catches up from its peers",
          dir,
          aside,
          e);
      files.clear();
      recoverSegments(files);
    }
    Segment active = active();
    active.channel.force(false);
    durableIndex = lastIndex;
    markFile = DurableMarkFile.open(dir, channels);
    recordedMark = markFile.mark();
    reportedMark = recordedMark;
    if (!recordedMark.coveredBy(lastIndex, term(lastIndex))) {
      log.warn(
          "Log {} ends at {} but entry {}@{} was reported durable before: its tail was lost (a lost"
              + " or zeroed write); the node waits for a leader to repair it before it votes",
          dir,
          lastIndex,
          recordedMark.index(),
          recordedMark.term());
    }
    log.info(
        "Opened log {}: entries ({}, {}] in {} segments, recovered in {} ms",
        dir,
        baseIndex(),
        lastIndex,
        segments.size(),
        TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started));
  }

  private NavigableMap<Long, Path> listSegments() throws IOException {
    return listSegments(dir);
  }

  /** The segment files in {@code dir}, by the first index their names give. */
  static NavigableMap<Long, Path> listSegments(Path dir) throws IOException {
    TreeMap<Long, Path> files = new TreeMap<>();
    try (DirectoryStream<Path> stream = Files.newDirectoryStream(dir)) {
      for (Path p : stream) {
        Matcher m = SEGMENT_NAME.matcher(p.getFileName().toString());
        if (m.matches()) {
          files.put(Long.parseLong(m.group(1)), p);
        }
      }
    }
    return files;
  }

  private void completeInterruptedReset() throws IOException {
    Path tmp = dir.resolve(RESET_TMP);
    if (!Files.exists(tmp)) {
      return;
    }
    ByteBuffer header = ByteBuffer.allocate(LogRecord.SEGMENT_HEADER);
    try (FileChannel ch = channels.open(tmp, StandardOpenOption.READ)) {
      while (header.hasRemaining() && ch.read(header) >= 0) {
        // read the whole header
      }
    }
    boolean valid =
        !header.hasRemaining()
            && header.getInt(0) == LogRecord.SEGMENT_MAGIC
            && header.getInt(4) == LogRecord.SEGMENT_VERSION
            && header.getInt(28) == Crc.of(header, 0, 28);
    if (!valid) {
      log.warn("Deleting {}: a reset that did not reach the disk (torn header)", tmp);
      Files.delete(tmp);
      syncDirectory();
      return;
    }
    long firstIndex = header.getLong(8);
    log.warn("Completing an interrupted reset of {} to start at index {}", dir, firstIndex);
    for (Path p : listSegments().descendingMap().values()) {
      Files.delete(p);
    }
    Files.move(tmp, dir.resolve(Segment.fileName(firstIndex)), StandardCopyOption.ATOMIC_MOVE);
    syncDirectory();
  }

  private void recoverSegments(NavigableMap<Long, Path> files) throws IOException {
    if (files.isEmpty()) {
      segments.add(createSegment(dir.resolve(Segment.fileName(1)), 1, 0));
      syncDirectory();
      lastIndex = 0;
      return;
    }
    List<Path> paths = new ArrayList<>(files.values());
    List<Long> names = new ArrayList<>(files.keySet());
    SegmentScan previous = null;
    for (int i = 0; i < paths.size(); i++) {
      Path path = paths.get(i);
      boolean last = i == paths.size() - 1;
      FileChannel ch = channels.open(path, StandardOpenOption.READ, StandardOpenOption.WRITE);
      SegmentScan scan;
      try {
        scan = SegmentScan.scan(path, ch, names.get(i), terms);
      } catch (IOException | RuntimeException e) {
        ch.close();
        throw e;
      }
      String error = scan.error(previous, last);
      if (error != null) {
        ch.close();
        throw new StorageException(error);
      }
      if (scan.ending == SegmentScan.End.TORN_HEADER) {
        ch.close();
        log.warn("Deleting {}: a new segment whose header never reached the disk", path);
        Files.delete(path);
        syncDirectory();
        if (previous == null) {
          segments.add(createSegment(path, 1, 0));
          syncDirectory();
        }
        continue;
      }
      if (scan.ending == SegmentScan.End.TORN) {
        log.warn(
            "Truncating the torn tail of {} at offset {} (index {}): {}; {} bytes discarded",
            path,
            scan.end,
            scan.lastIndex() + 1,
            scan.reason,
            scan.fileSize - scan.end);
        ch.truncate(scan.end);
        ch.force(false);
      }
      segments.add(
          new Segment(
              path, ch, scan.firstIndex, scan.prevTerm, scan.offsets, scan.count, scan.end));
      previous = scan;
    }
    lastIndex = active().lastIndex();
  }

  // ------------------------------------------------------------------ reads

  @Override
  public long baseIndex() {
    return segments.get(0).firstIndex - 1;
  }

  @Override
  public long baseTerm() {
    return segments.get(0).prevTerm;
  }

  @Override
  public long lastIndex() {
    return lastIndex;
  }

  @Override
  public long term(long index) {
    long base = baseIndex();
    if (index == base) {
      return baseTerm();
    }
    if (index < base || index > lastIndex) {
      return -1;
    }
    return terms.termOf(index);
  }

  @Override
  public List<LogEntry> entries(long fromIndex, long toIndexExclusive, long maxBytes) {
    if (fromIndex <= baseIndex()
        || fromIndex > lastIndex
        || toIndexExclusive <= fromIndex
        || toIndexExclusive > lastIndex + 1) {
      throw new IndexOutOfBoundsException(
          "entries ["
              + fromIndex
              + ", "
              + toIndexExclusive
              + ") outside the log ["
              + firstIndex()
              + ", "
              + lastIndex
              + "]");
    }
    List<LogEntry> out = new ArrayList<>((int) Math.min(toIndexExclusive - fromIndex, 1024));
    long bytes = 0;
    for (long i = fromIndex; i < toIndexExclusive; i++) {
      LogEntry e = cache.get(i);
      if (e == null) {
        e = read(i);
      }
      bytes += e.sizeInBytes();
      if (!out.isEmpty() && bytes > maxBytes) {
        break;
      }
      out.add(e);
    }
    return out;
  }

  private LogEntry read(long index) {
    Segment seg = segmentFor(index);
    long pos = seg.offset(index);
    try {
      ByteBuffer header = ByteBuffer.allocate(LogRecord.HEADER);
      readFully(seg, header, pos);
      int len = header.getInt(0);
      if (len < 0 || len > LogRecord.MAX_PAYLOAD) {
        throw corruptRead(seg, pos, "bad payload length " + len);
      }
      ByteBuffer record = ByteBuffer.allocate(LogRecord.HEADER + len);
      record.put(header.flip());
      readFully(seg, record, pos + LogRecord.HEADER);
      String why = LogRecord.invalidReason(record, 0, record.capacity(), index);
      if (why != null) {
        throw corruptRead(seg, pos, why);
      }
      return LogRecord.decode(record, 0);
    } catch (IOException e) {
      throw new StorageException(
          "cannot read index " + index + " from " + seg.path + " at offset " + pos, e);
    }
  }

  private static StorageException corruptRead(Segment seg, long pos, String why) {
    return new StorageException("corrupt record in " + seg.path + " at offset " + pos + ": " + why);
  }

  private static void readFully(Segment seg, ByteBuffer buf, long pos) throws IOException {
    long p = pos;
    while (buf.hasRemaining()) {
      int n = seg.channel.read(buf, p);
      if (n < 0) {
        throw new IOException("unexpected end of " + seg.path + " at offset " + p);
      }
      p += n;
    }
  }

  private Segment segmentFor(long index) {
    int lo = 0;
    int hi = segments.size() - 1;
    while (lo < hi) {
      int mid = (lo + hi + 1) >>> 1;
      if (segments.get(mid).firstIndex <= index) {
        lo = mid;
      } else {
        hi = mid - 1;
      }
    }
    return segments.get(lo);
  }

  private Segment active() {
    return segments.get(segments.size() - 1);
  }

  // ------------------------------------------------------------------ writes

  @Override
  public void setListener(DurabilityListener listener) {
    if (listener == null) {
      throw new IllegalArgumentException("listener is null");
    }
    this.listener = listener;
    this.logContext = MDC.getCopyOfContextMap();
    LockSupport.unpark(syncThread);
  }

  @Override
  public void append(List<LogEntry> entries) {
    checkUsable();
    LogStore.checkAppend(this, entries);
    long first = entries.get(0).index();
    for (LogEntry e : entries) {
      if (e.payload().remaining() > LogRecord.MAX_PAYLOAD) {
        throw new IllegalArgumentException(
            "entry " + e.index() + " payload too large: " + e.payload().remaining());
      }
    }
    try {
      if (first <= lastIndex) {
        truncateSuffix(first);
      }
      write(entries);
    } catch (IOException e) {
      throw fail(new StorageException("cannot write to log " + dir + ": " + e, e));
    }
    publish(lastIndex, term(lastIndex));
    awaitBelowUnsyncedBound();
  }

  private void write(List<LogEntry> entries) throws IOException {
    Segment active = active();
    ByteBuffer buf = encodeBuffer;
    buf.clear();
    long bufStart = active.end();
    for (LogEntry e : entries) {
      int size = LogRecord.size(e);
      if ((active.count() > 0 || buf.position() > 0)
          && bufStart + buf.position() + size > options.segmentSize()) {
        flush(active, buf, bufStart);
        roll();
        active = active();
        bufStart = active.end();
      }
      if (buf.remaining() < size) {
        flush(active, buf, bufStart);
        bufStart = active.end();
        if (buf.capacity() < size) {
          buf = ByteBuffer.allocateDirect(Math.max(size, buf.capacity() * 2));
          encodeBuffer = buf;
        }
      }
      long position = bufStart + buf.position();
      LogRecord.encode(e, buf);
      active.add(position, size);
      terms.append(e.index(), e.term());
      cache.put(e);
      lastIndex = e.index();
    }
    flush(active, buf, bufStart);
  }

  private void flush(Segment seg, ByteBuffer buf, long position) throws IOException {
    buf.flip();
    long p = position;
    while (buf.hasRemaining()) {
      p += seg.channel.write(buf, p);
    }
    writtenBytes += p - position;
    buf.clear();
  }

  /** Seals the active segment (forced here, so a later segment never outlives an earlier one). */
  private void roll() throws IOException {
    Segment old = active();
    old.channel.force(false);
    long first = lastIndex + 1;
    Path path = dir.resolve(Segment.fileName(first));
    Path spare = preallocator == null ? null : preallocator.take();
    if (spare != null) {
      Files.move(spare, path, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
      segments.add(openSpare(path, first, term(lastIndex)));
    } else {
      segments.add(createSegment(path, first, term(lastIndex)));
    }
    dirDirty = true;
  }

  /** Turns a zero-filled spare file, already renamed to {@code path}, into a segment. */
  private Segment openSpare(Path path, long firstIndex, long prevTerm) throws IOException {
    FileChannel ch = channels.open(path, StandardOpenOption.READ, StandardOpenOption.WRITE);
    try {
      ByteBuffer header = LogRecord.segmentHeader(firstIndex, prevTerm);
      long p = 0;
      while (header.hasRemaining()) {
        p += ch.write(header, p);
      }
    } catch (IOException e) {
      ch.close();
      throw e;
    }
    return new Segment(path, ch, firstIndex, prevTerm);
  }

  private Segment createSegment(Path path, long firstIndex, long prevTerm) throws IOException {
    FileChannel ch =
        channels.open(
            path,
            StandardOpenOption.CREATE,
            StandardOpenOption.TRUNCATE_EXISTING,
            StandardOpenOption.READ,
            StandardOpenOption.WRITE);
    try {
      ByteBuffer header = LogRecord.segmentHeader(firstIndex, prevTerm);
      long p = 0;
      while (header.hasRemaining()) {
        p += ch.write(header, p);
      }
      // preallocate (sparse): the file reads as zeros up to the segment size
      ch.write(ByteBuffer.allocate(1), options.segmentSize() - 1);
    } catch (IOException e) {
      ch.close();
      throw e;
    }
    return new Segment(path, ch, firstIndex, prevTerm);
  }

  private void truncateSuffix(long first) throws IOException {
    reportLock.lock();
    try {
      epoch.incrementAndGet();
      durableIndex = Math.min(durableIndex, first - 1);
    } finally {
      reportLock.unlock();
    }
    boolean removed = false;
    while (active().firstIndex > first) {
      Segment s = segments.remove(segments.size() - 1);
      retire(s);
      removed = true;
    }
    if (removed) {
      syncDirectory();
    }
    Segment seg = active();
    long pos = seg.truncateFrom(first);
    // drop the stale bytes so recovery never reads an old record after the new tail
    seg.channel.truncate(pos);
    terms.truncateFrom(first);
    lastIndex = first - 1;
  }

  private void retire(Segment s) throws IOException {
    s.deleted = true;
    Files.deleteIfExists(s.path);
    toClose.add(s);
  }

  @Override
  public void compact(long index) {
    checkUsable();
    if (index > lastIndex) {
      throw new IllegalArgumentException(
          "cannot compact to " + index + " beyond the last index " + lastIndex);
    }
    boolean removed = false;
    try {
      while (segments.size() > 1 && segments.get(0).lastIndex() <= index) {
        retire(segments.remove(0));
        removed = true;
      }
      if (removed) {
        syncDirectory();
      }
    } catch (IOException e) {
      throw fail(new StorageException("cannot compact log " + dir + ": " + e, e));
    }
    if (removed) {
      terms.compactTo(firstIndex());
      publish(-1, -1);
    }
  }

  @Override
  public void reset(long index, long term) {
    checkUsable();
    if (index < 0 || term < 0 || (index == 0) != (term == 0)) {
      throw new IllegalArgumentException("bad reset point " + index + "@" + term);
    }
    try {
      // the new log is durable under a temporary name before the old one goes; recovery finishes
      // an interrupted reset (docs/storage-format.md)
      Path tmp = dir.resolve(RESET_TMP);
      Segment fresh = createSegment(tmp, index + 1, term);
      fresh.channel.force(false);
      syncDirectory();
      for (int i = segments.size() - 1; i >= 0; i--) {
        retire(segments.get(i));
      }
      segments.clear();
      Path path = dir.resolve(Segment.fileName(index + 1));
      Files.move(tmp, path, StandardCopyOption.ATOMIC_MOVE);
      syncDirectory();
      segments.add(new Segment(path, fresh.channel, index + 1, term));
    } catch (IOException e) {
      throw fail(new StorageException("cannot reset log " + dir + " to " + index + ": " + e, e));
    }
    terms.clear();
    cache.clear();
    lastIndex = index;
    reportLock.lock();
    try {
      epoch.incrementAndGet();
      durableIndex = index;
    } finally {
      reportLock.unlock();
    }
    publish(-1, -1);
  }

  @Override
  public long durableIndex() {
    return durableIndex;
  }

  /**
   * Returns the durable mark recorded in {@code durable.mark}: the last entry this log recorded as
   * reported durable. Read at open, before any append, a recovered log that ends before it lost a
   * tail.
   *
   * @return the mark
   */
  @Override
  public DurableMark durableMark() {
    return recordedMark;
  }

  /**
   * Tells whether the store has failed (a write or {@code fsync} failed); it then rejects every
   * append.
   *
   * @return true after a failure
   */
  public boolean failed() {
    return failure.get() != null;
  }

  private void checkUsable() {
    Throwable cause = failure.get();
    if (cause != null) {
      throw new StorageException("log store " + dir + " has failed: " + cause, cause);
    }
    if (closed) {
      throw new IllegalStateException("log store " + dir + " is closed");
    }
  }

  private void syncDirectory() throws IOException {
    try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
      d.force(true);
    }
  }

  // ------------------------------------------------------------------ group commit

  private void publish(long index, long term) {
    // the event loop is the only writer of epoch: no lock needed to read it here
    long currentEpoch = epoch.get();
    List<Segment> close = toClose.isEmpty() ? List.of() : List.copyOf(toClose);
    toClose.clear();
    Target t =
        new Target(index, term, currentEpoch, writtenBytes, List.of(active()), dirDirty, close);
    dirDirty = false;
    pending.accumulateAndGet(t, Target::merge);
    LockSupport.unpark(syncThread);
  }

  private void awaitBelowUnsyncedBound() {
    reportLock.lock();
    try {
      while (writtenBytes - syncedBytes > options.maxUnsyncedBytes()) {
        checkUsable();
        synced.await(100, TimeUnit.MILLISECONDS);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new StorageException("interrupted while waiting for the log to sync", e);
    } finally {
      reportLock.unlock();
    }
  }

  private void syncLoop() {
    Map<String, String> context = null;
    try {
      while (true) {
        Map<String, String> c = logContext;
        if (c != context) {
          context = c;
          if (c == null) {
            MDC.clear();
          } else {
            MDC.setContextMap(c);
          }
        }
        Target t = pending.getAndSet(null);
        if (t == null) {
          // Idle: record the durable mark before parking (one small force nobody waits for).
          if (writeMark()) {
            continue;
          }
          if (stopping) {
            return;
          }
          LockSupport.park(this);
          continue;
        }
        sync(t);
        if (System.nanoTime() - markWrittenAt >= MARK_INTERVAL_NANOS) {
          writeMark();
        }
      }
    } catch (IOException | RuntimeException | Error e) {
      fail(e);
    }
  }

  private void sync(Target t) throws IOException {
    long start = System.nanoTime();
    for (Segment s : t.force) {
      if (!s.deleted) {
        s.channel.force(false);
      }
    }
    if (t.syncDir) {
      syncDirectory();
    }
    long nanos = System.nanoTime() - start;
    for (Segment s : t.close) {
      try {
        s.channel.close();
      } catch (IOException e) {
        log.warn("Cannot close deleted segment {}", s.path, e);
      }
    }
    reportLock.lock();
    try {
      long bytes = Math.max(0, t.written - syncedBytes);
      syncedBytes = Math.max(syncedBytes, t.written);
      if (t.index >= 0 && t.epoch == epoch.get() && t.index > durableIndex) {
        long entries = t.index - durableIndex;
        durableIndex = t.index;
        reportedMark = reportedMark.max(t.index, t.term);
        listener.synced(entries, bytes, nanos);
        listener.durable(t.index, t.term);
      } else {
        listener.synced(0, bytes, nanos);
      }
      synced.signalAll();
    } finally {
      reportLock.unlock();
    }
  }

  /**
   * Writes the last entry reported durable to the mark file if the file is behind. Sync thread
   * only. The mark lags the reports by at most {@link #MARK_INTERVAL_NANOS} under load and by one
   * small force when idle: a write lost within that window after a crash goes unnoticed, which is
   * the price of not forcing a second file before every acknowledgement.
   *
   * @return true if it wrote
   */
  private boolean writeMark() throws IOException {
    DurableMark m = reportedMark;
    if (m.equals(recordedMark) || !recordedMark.coveredBy(m.index(), m.term())) {
      return false;
    }
    markFile.write(m);
    recordedMark = m;
    markWrittenAt = System.nanoTime();
    return true;
  }

  private StorageException fail(Throwable cause) {
    StorageException ex =
        cause instanceof StorageException se
            ? se
            : new StorageException("log store " + dir + " failed: " + cause, cause);
    failure.compareAndSet(null, ex);
    if (failureReported.compareAndSet(false, true)) {
      log.error("Log store {} failed; it accepts no more appends and will not retry", dir, ex);
      listener.failed(ex);
    }
    reportLock.lock();
    try {
      synced.signalAll();
    } finally {
      reportLock.unlock();
    }
    return ex;
  }

  // ------------------------------------------------------------------ close

  /**
   * Syncs what is pending, stops the sync thread, closes the files and releases the directory.
   * Entries appended before are durable on return unless the store has failed.
   *
   * @throws StorageException if the final sync fails
   */
  @Override
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    stopping = true;
    LockSupport.unpark(syncThread);
    try {
      syncThread.join(TimeUnit.SECONDS.toMillis(60));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    if (syncThread.isAlive()) {
      log.error("Sync thread of {} did not stop in 60 s", dir);
    }
    if (preallocator != null) {
      preallocator.close();
    }
    try {
      if (failure.get() == null && !segments.isEmpty()) {
        active().channel.force(false);
        // everything appended is durable now: the mark follows (the sync thread has stopped)
        reportedMark = reportedMark.max(lastIndex, term(lastIndex));
        writeMark();
      }
    } catch (IOException e) {
      throw fail(e);
    } finally {
      closeChannels();
      lock.close();
    }
  }

  private void closeChannels() {
    List<Segment> all = new ArrayList<>(segments);
    all.addAll(toClose);
    Target t = pending.getAndSet(null);
    if (t != null) {
      all.addAll(t.close);
    }
    for (Segment s : all) {
      try {
        s.channel.close();
      } catch (IOException e) {
        log.warn("Cannot close {}", s.path, e);
      }
    }
    if (markFile != null) {
      try {
        markFile.close();
      } catch (IOException e) {
        log.warn("Cannot close {}", markFile, e);
      }
    }
  }

  /** Tells whether a preallocated segment is ready to be taken (for tests). */
  boolean spareReady() {
    return preallocator != null && preallocator.ready();
  }

  @Override
  public String toString() {
    return "FileLogStore[" + dir + " (" + baseIndex() + ", " + lastIndex + "]]";
  }

  /**
   * Returns the directory of the log.
   *
   * @return the directory
   */
  public Path directory() {
    return dir;
  }
}
