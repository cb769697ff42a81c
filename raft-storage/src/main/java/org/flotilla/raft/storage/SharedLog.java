package org.flotilla.raft.storage;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;
import org.flotilla.raft.message.LogEntry;
import org.flotilla.raft.spi.DurableMark;
import org.flotilla.raft.spi.LogStore;
import org.flotilla.raft.spi.MetaStore;
import org.flotilla.raft.spi.StorageException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One write-ahead log on local disk shared by many Raft groups: every group's entries and metadata
 * go into the same segment files, and one {@code fsync} on one sync thread makes everything every
 * group wrote since the previous one durable (group commit across groups). Each group sees its own
 * {@link LogStore} ({@link #logStore(String)}) and {@link MetaStore} ({@link #metaStore(String)})
 * with exactly the contracts of raft-core's SPI. The format, the recovery rules and the garbage
 * collection rule are in docs/storage-format.md ("The shared log").
 *
 * <p><b>Writes.</b> A group's event loop encodes its records outside any shared lock, then, under
 * the append lock, writes them with one positional {@code write} at the end of the active segment
 * (the page cache) and returns; a group's first record in a segment is preceded by a {@code GROUP}
 * record naming it, so that every segment can be read alone. The append lock is never held across a
 * sync, except at a segment roll, where the full segment is forced before the next one is used (as
 * {@link FileLogStore} does, so that only the last segment can have a torn tail).
 *
 * <p><b>Group commit.</b> The sync thread takes the log's end position, forces the active segment
 * once and then reports {@code durable(index, term)} to every group whose last write that force
 * covered. What was written while it forced waits for the next force: under load one force covers
 * the appends of many groups. {@link MetaStore#save}, {@link LogStore#reset} and {@link
 * #removeGroup} write their record and wait for the force that covers it: they join the same group
 * commit, never force on their own. Appends block while more than {@link
 * Options#maxUnsyncedBytes()} are written but not forced.
 *
 * <p><b>Per group, in memory</b> (about 300 bytes for an idle group plus 12 bytes per entry held):
 * the base and last index, the terms as runs, the place (segment, offset) and size of each entry's
 * record in primitive arrays, the latest metadata, and durability bookkeeping. No thread, file or
 * buffer per group. Reads are positional reads from the segment files (the page cache), checked
 * against their checksum; there is no entry cache.
 *
 * <p><b>Garbage collection</b>, on the log's collector thread: segments are deleted oldest first,
 * once no group needs anything in them (its entries, its latest metadata, its latest statement of
 * its base) and the records that superseded theirs are durable. Deleting only the oldest keeps
 * recovery simple: a record never outlives an older record it supersedes, so truncations, resets
 * and removals need not be kept for their own sake. So that groups that never compact do not pin
 * segments for ever, while the log has more than {@link Options#maxSegments()} segments the
 * collector rewrites the live records of the oldest segment at the head of the log and deletes it
 * (unless the live data is more than half the bound, where rewriting would only churn; the bound is
 * then exceeded and a warning logged). {@link #collectGarbage()} rewrites every sealed segment now.
 *
 * <p><b>Durable marks</b> (lost-write protection, {@link DurableMark}): after the force that made a
 * group's entries durable and their report, the sync thread records the group's mark in {@code
 * wal.marks}, a small file of its own, at most every 10 ms under load and when it goes idle. A lost
 * or zeroed tail of the segments cannot take the marks along, so after a restart each group whose
 * acknowledged entries were in the lost tail finds its log ending before its mark, per group.
 *
 * <p><b>Threading.</b> Each group's views are confined to that group's event loop, and different
 * groups' loops call concurrently. Shared state and its guard: the active segment, its end, the log
 * end position ({@code writtenLsn}) and the segment list are written under {@code appendLock}; the
 * forced position under {@code syncLock}; the list of groups with reports pending under {@code
 * dirtyLock} (at most one entry per group); the marks file under {@code marksLock}; each group's
 * state under its own lock ({@link WalGroup}). Lock order: group, then append, then sync or dirty;
 * nobody waits for a force while holding a lock. {@link #close()} and {@link #removeGroup} may be
 * called from any thread once the group's (or every group's) event loop has stopped.
 *
 * <p><b>Failure is final.</b> A failed write or force fails the whole log: every group's listener
 * gets {@link LogStore.DurabilityListener#failed(Throwable)}, waiting saves throw {@link
 * StorageException}, and every later write throws it. The log never retries.
 *
 * <p>The log owns its directory: from open to close it holds {@code wal.lock} there ({@link
 * DirectoryLock}).
 */
public final class SharedLog implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(SharedLog.class);
  static final String LOCK = "wal.lock";
  private static final long MARK_INTERVAL_NANOS = TimeUnit.MILLISECONDS.toNanos(10);

  /**
   * The shared log's tuning and operator options.
   *
   * @param segmentSize the size at which a segment is rolled, in bytes (at least 4 KiB, below 2
   *     GiB); a batch larger than that gets a segment of its own
   * @param maxUnsyncedBytes how many bytes may be written but not yet forced before appends block
   * @param maxSegments the garbage collection bound: above this many segments, the oldest one's
   *     live records are rewritten at the head and it is deleted (at least 2)
   * @param discardCorruptLog the operator option: if recovery finds corruption, move the segment
   *     files aside into a {@code discarded-<millis>} directory and start empty (every group then
   *     catches up from its peers; the durable marks are kept) instead of refusing to open
   * @param preallocate whether the next segment is prepared ahead of time, filled with zeros, on a
   *     background thread (otherwise segments are sparse files)
   */
  public record Options(
      long segmentSize,
      long maxUnsyncedBytes,
      int maxSegments,
      boolean discardCorruptLog,
      boolean preallocate) {

    /**
     * Checks the options.
     *
     * @param segmentSize the segment size
     * @param maxUnsyncedBytes the unsynced bound
     * @param maxSegments the garbage collection bound
     * @param discardCorruptLog the operator option
     * @param preallocate whether to preallocate segments
     */
    public Options {
      if (segmentSize < 4096 || segmentSize >= Integer.MAX_VALUE) {
        throw new IllegalArgumentException(
            "segment size must be in [4 KiB, 2 GiB): " + segmentSize);
      }
      if (maxUnsyncedBytes < 1) {
        throw new IllegalArgumentException(
            "maxUnsyncedBytes must be positive: " + maxUnsyncedBytes);
      }
      if (maxSegments < 2) {
        throw new IllegalArgumentException("maxSegments must be at least 2: " + maxSegments);
      }
    }

    /**
     * Returns the defaults: 64 MiB segments, preallocated; 64 MiB unsynced; at most 16 segments (1
     * GiB) before the oldest is rewritten; refuse to open on corruption.
     *
     * @return the defaults
     */
    public static Options defaults() {
      return new Options(64L << 20, 64L << 20, 16, false, true);
    }

    /**
     * Returns these options with another segment size.
     *
     * @param bytes the segment size
     * @return the options
     */
    public Options withSegmentSize(long bytes) {
      return new Options(bytes, maxUnsyncedBytes, maxSegments, discardCorruptLog, preallocate);
    }

    /**
     * Returns these options with another unsynced bound.
     *
     * @param bytes the bound
     * @return the options
     */
    public Options withMaxUnsyncedBytes(long bytes) {
      return new Options(segmentSize, bytes, maxSegments, discardCorruptLog, preallocate);
    }

    /**
     * Returns these options with another garbage collection bound.
     *
     * @param segments the most segments kept before the oldest is rewritten
     * @return the options
     */
    public Options withMaxSegments(int segments) {
      return new Options(segmentSize, maxUnsyncedBytes, segments, discardCorruptLog, preallocate);
    }

    /**
     * Returns these options with the operator's discard option set or cleared.
     *
     * @param discard whether to discard a corrupt log
     * @return the options
     */
    public Options withDiscardCorruptLog(boolean discard) {
      return new Options(segmentSize, maxUnsyncedBytes, maxSegments, discard, preallocate);
    }

    /**
     * Returns these options with preallocation of segments on or off.
     *
     * @param on whether to preallocate
     * @return the options
     */
    public Options withPreallocate(boolean on) {
      return new Options(segmentSize, maxUnsyncedBytes, maxSegments, discardCorruptLog, on);
    }
  }

  private final Path dir;
  private final DirectoryLock lock;
  private final Options options;
  private final ChannelFactory channels;
  private final int chunk;
  private final ThreadLocal<ByteBuffer> encoders;
  private final ConcurrentHashMap<String, WalGroup> groups = new ConcurrentHashMap<>();
  private final AtomicInteger numbers = new AtomicInteger();
  private final WalGroup.Dead dead = (place, size) -> addLive(place, -size);

  // --- guarded by appendLock
  private final ReentrantLock appendLock = new ReentrantLock();
  private WalSegment active;
  private long nextSequence;
  // the log end position (bytes written since open), published in writtenLsn
  private long appendedLsn;
  // written under appendLock; read by anyone
  private volatile long writtenLsn;
  // sorted by sequence; replaced (copy on write) under appendLock; read by anyone
  private volatile WalSegment[] segments = new WalSegment[0];

  // --- the forced position: written by the sync thread under syncLock
  private final ReentrantLock syncLock = new ReentrantLock();
  private final Condition synced = syncLock.newCondition();
  private volatile long forcedLsn;

  // --- groups with a durability report pending: at most one entry per group
  private final ReentrantLock dirtyLock = new ReentrantLock();
  private ArrayList<WalGroup> dirty = new ArrayList<>();

  // --- the marks file
  private final ReentrantLock marksLock = new ReentrantLock();
  private GroupMarks marks;

  // --- sync thread only
  private final ArrayList<WalGroup> markQueue = new ArrayList<>();
  private long marksWrittenAt;

  // --- collector: requests counted by any thread, completions written by the collector
  private final AtomicLong gcRequested = new AtomicLong();
  private volatile long gcDone;
  private boolean warnedBound; // collector only

  private final AtomicReference<Throwable> failure = new AtomicReference<>();
  private final AtomicBoolean failureReported = new AtomicBoolean();
  private volatile boolean closed;
  private volatile boolean stopping;
  private volatile boolean gcStopping;
  private final Thread syncThread;
  private final Thread gcThread;
  private final SegmentPreallocator preallocator;
  // for tests and monitoring: forces by the sync thread, segments rewritten by the collector
  final AtomicLong groupCommits = new AtomicLong();
  final AtomicLong rewrites = new AtomicLong();

  private SharedLog(Path dir, DirectoryLock lock, Options options, ChannelFactory channels) {
    this.dir = dir;
    this.lock = lock;
    this.options = options;
    this.channels = channels;
    this.chunk = (int) Math.min(1 << 20, options.segmentSize() / 2);
    this.encoders = ThreadLocal.withInitial(() -> ByteBuffer.allocate(chunk));
    String name = String.valueOf(dir.getFileName());
    this.syncThread = new Thread(this::syncLoop, "flotilla-wal-sync-" + name);
    this.syncThread.setDaemon(true);
    this.gcThread = new Thread(this::gcLoop, "flotilla-wal-gc-" + name);
    this.gcThread.setDaemon(true);
    this.preallocator =
        options.preallocate() ? new SegmentPreallocator(dir, options.segmentSize()) : null;
  }

  /**
   * Opens the shared log in {@code dir}, creating it if needed, and recovers it: every record of
   * every segment is read and checked, a torn tail of the last segment is truncated (logged as a
   * warning), any other corruption refuses to open (unless {@link Options#discardCorruptLog()}),
   * and every group's log, metadata and durable mark are rebuilt.
   *
   * @param dir the log's directory
   * @param options the options
   * @return the open log, its sync and collector threads started
   * @throws StorageException if the log is corrupt or cannot be read, naming the file and offset,
   *     or if another shared log (in this process or another) has the directory open
   */
  public static SharedLog open(Path dir, Options options) {
    return open(dir, options, ChannelFactory.DEFAULT);
  }

  static SharedLog open(Path dir, Options options, ChannelFactory channels) {
    DirectoryLock lock = DirectoryLock.acquire(dir, LOCK, "shared log");
    SharedLog wal = new SharedLog(dir, lock, options, channels);
    try {
      wal.recover();
    } catch (IOException e) {
      wal.closeFiles();
      lock.close();
      throw new StorageException("cannot open shared log in " + dir + ": " + e, e);
    } catch (RuntimeException e) {
      wal.closeFiles();
      lock.close();
      throw e;
    }
    wal.syncThread.start();
    wal.gcThread.start();
    if (wal.preallocator != null) {
      wal.preallocator.start();
    }
    return wal;
  }

  // ------------------------------------------------------------------ recovery

  private void recover() throws IOException {
    long started = System.nanoTime();
    SegmentPreallocator.deleteLeftovers(dir);
    Files.deleteIfExists(dir.resolve(GroupMarks.TMP));
    Map<String, DurableMark> recordedMarks = GroupMarks.read(dir);
    WalRecovery.Result r;
    try {
      r = WalRecovery.recover(dir, channels);
    } catch (StorageException e) {
      if (!options.discardCorruptLog()) {
        throw e;
      }
      Path aside = dir.resolve("discarded-" + System.currentTimeMillis());
      Files.createDirectories(aside);
      for (Path p : WalRecovery.list(dir).values()) {
        Files.move(p, aside.resolve(p.getFileName()));
      }
      syncDirectory(dir);
      log.error(
          "Shared log in {} is corrupt; discarding it into {} as the operator asked"
              + " (discardCorruptLog): every group starts empty and catches up from its peers",
          dir,
          aside,
          e);
      r = WalRecovery.recover(dir, channels);
    }
    segments = r.segments().toArray(new WalSegment[0]);
    numbers.set(r.numbers());
    groups.putAll(r.groups());
    for (WalGroup g : groups.values()) {
      for (long i = g.base + 1; i <= g.last; i++) {
        addLive(g.placeOf(i), g.sizeOf(i));
      }
      if (g.metaPlace != WalGroup.NOWHERE) {
        addLive(g.metaPlace, g.metaSize);
      }
      if (g.basePlace != WalGroup.NOWHERE) {
        addLive(g.basePlace, g.baseSize);
      }
      g.durableIndex = g.last;
    }
    Map<String, DurableMark> kept = new HashMap<>();
    for (Map.Entry<String, DurableMark> e : recordedMarks.entrySet()) {
      DurableMark m = e.getValue();
      if (m == null || m.equals(DurableMark.NONE)) {
        continue;
      }
      WalGroup g = groups.get(e.getKey());
      if (g == null) {
        if (r.removed().contains(e.getKey())) {
          continue;
        }
        // every record of the group is gone: a lost tail took them, the mark says it had some
        g = new WalGroup(e.getKey(), numbers.getAndIncrement());
        groups.put(g.id, g);
      }
      g.recordedMark = m;
      g.reportedMark = m;
      kept.put(g.id, m);
      long lastTerm = g.last == g.base ? g.baseTerm : g.terms.termOf(g.last);
      if (!m.coveredBy(g.last, lastTerm)) {
        log.warn(
            "Group {} in shared log {} ends at {} but entry {}@{} was reported durable before: its"
                + " tail was lost (a lost or zeroed write); the node waits for a leader to repair"
                + " it before it votes",
            g.id,
            dir,
            g.last,
            m.index(),
            m.term());
      }
    }
    marks = GroupMarks.create(dir, channels, kept);
    if (!r.segments().isEmpty()) {
      // whatever a crashed process left in the page cache counts as durable from now on
      r.segments().get(r.segments().size() - 1).channel.force(false);
      nextSequence = r.segments().get(r.segments().size() - 1).sequence + 1;
    } else {
      nextSequence = 1;
    }
    appendLock.lock();
    try {
      startSegment(null);
    } finally {
      appendLock.unlock();
    }
    log.info(
        "Opened shared log {}: {} groups in {} segments, recovered in {} ms",
        dir,
        groups.size(),
        segments.length,
        TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started));
  }

  // ------------------------------------------------------------------ groups

  /**
   * Returns the log of group {@code groupId}, creating an empty one if the group has none. At most
   * one log view of a group is open at a time; closing it leaves the group's log in place.
   *
   * @param groupId the group's id (non-empty, at most 1024 bytes of UTF-8)
   * @return the group's log, to be used from the group's event loop only
   * @throws IllegalStateException if a log view of the group is open, or the log is closed
   * @throws StorageException if the log has failed
   */
  public LogStore logStore(String groupId) {
    WalGroup g = group(groupId);
    g.lock.lock();
    try {
      if (g.logOpen) {
        throw new IllegalStateException("the log of group " + groupId + " is open already");
      }
      g.logOpen = true;
    } finally {
      g.lock.unlock();
    }
    return new GroupLogStore(this, g);
  }

  /**
   * Returns the metadata store of group {@code groupId} (term, vote and initial configuration,
   * saved as records in this log), creating an empty one if the group has none. At most one
   * metadata view of a group is open at a time.
   *
   * @param groupId the group's id (non-empty, at most 1024 bytes of UTF-8)
   * @return the group's metadata store, to be used from the group's event loop only
   * @throws IllegalStateException if a metadata view of the group is open, or the log is closed
   * @throws StorageException if the log has failed
   */
  public MetaStore metaStore(String groupId) {
    WalGroup g = group(groupId);
    g.lock.lock();
    try {
      if (g.metaOpen) {
        throw new IllegalStateException("the metadata of group " + groupId + " is open already");
      }
      g.metaOpen = true;
    } finally {
      g.lock.unlock();
    }
    return new GroupMetaStore(this, g);
  }

  private WalGroup group(String groupId) {
    if (groupId == null
        || groupId.isEmpty()
        || groupId.getBytes(StandardCharsets.UTF_8).length > 1024) {
      throw new IllegalArgumentException("bad group id " + groupId);
    }
    checkUsable();
    return groups.computeIfAbsent(groupId, id -> new WalGroup(id, numbers.getAndIncrement()));
  }

  /**
   * Returns the ids of the groups that have state in this log (entries, metadata, a base or a
   * durable mark), such as the groups found at open.
   *
   * @return the ids, sorted
   */
  public Set<String> groups() {
    return new TreeSet<>(groups.keySet());
  }

  /**
   * Removes a group: its durable mark is dropped and a removal record is written and forced before
   * this returns, so the group is gone after a crash, and its views refuse every later call. Its
   * records are dead at once and their space is freed as garbage collection deletes their segments:
   * a segment with no live record goes at once when it is the oldest, and every segment is gone
   * after {@link #collectGarbage()} or after the log has rolled through {@link
   * Options#maxSegments()} more segments; until then the group's bytes stay in those files, unused.
   * Does nothing if the group has no state. Call it once the group's node has stopped.
   *
   * @param groupId the group
   * @throws StorageException if the log has failed or cannot record the removal
   */
  public void removeGroup(String groupId) {
    WalGroup g = groups.get(groupId);
    if (g == null) {
      return;
    }
    checkUsable();
    g.removed = true;
    marksLock.lock();
    try {
      marks.add(groupId, null);
      marks.flush();
    } catch (IOException e) {
      throw fail(new StorageException("cannot record the removal of " + groupId + ": " + e, e));
    } finally {
      marksLock.unlock();
    }
    long lsn;
    g.lock.lock();
    try {
      ByteBuffer b = ByteBuffer.allocate(WalRecord.HEADER);
      WalRecord.encodeRemove(b, g.number);
      write(g, b.flip());
      g.tombstoned = true;
      g.clear(0, 0, dead);
      if (g.metaPlace != WalGroup.NOWHERE) {
        dead.dead(g.metaPlace, g.metaSize);
        g.metaPlace = WalGroup.NOWHERE;
      }
      if (g.basePlace != WalGroup.NOWHERE) {
        dead.dead(g.basePlace, g.baseSize);
        g.basePlace = WalGroup.NOWHERE;
      }
      g.pendingIndex = -1;
      groups.remove(groupId, g);
      lsn = g.writtenLsn;
    } finally {
      g.lock.unlock();
    }
    awaitForced(lsn);
    LockSupport.unpark(gcThread);
  }

  /**
   * Rewrites every sealed segment now: rolls the active segment, copies the live records of every
   * older segment to the head and deletes those segments, so that no dead record written before the
   * call (of a removed group, a compacted prefix, a superseded metadata) remains on disk. Costs a
   * copy of all live data; for operators and tests. Blocks until done.
   *
   * @throws StorageException if the log has failed
   * @throws IllegalStateException if the log is closed
   */
  public void collectGarbage() {
    checkUsable();
    long request = gcRequested.incrementAndGet();
    LockSupport.unpark(gcThread);
    syncLock.lock();
    try {
      while (gcDone < request) {
        checkUsable();
        synced.await(100, TimeUnit.MILLISECONDS);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new StorageException("interrupted while collecting garbage", e);
    } finally {
      syncLock.unlock();
    }
  }

  /**
   * Tells whether the log has failed (a write or {@code fsync} failed); it then rejects every write
   * of every group.
   *
   * @return true after a failure
   */
  public boolean failed() {
    return failure.get() != null;
  }

  /**
   * Returns the log's directory.
   *
   * @return the directory
   */
  public Path directory() {
    return dir;
  }

  /** Returns how many segment files the log has now (for tests and monitoring). */
  int segmentCount() {
    return segments.length;
  }

  // ------------------------------------------------------------------ group operations

  /** Appends for a group's log view: the checks are the view's. Group's event loop. */
  void append(WalGroup g, List<LogEntry> entries) {
    long first = entries.get(0).index();
    g.lock.lock();
    try {
      checkUsable();
      if (first <= g.last) {
        // §5.3: delete the existing entry that conflicts and all that follow it
        g.truncateFrom(first, dead);
        g.durableIndex = Math.min(g.durableIndex, first - 1);
      }
      ByteBuffer buf = encoders.get();
      buf.clear();
      int from = 0;
      long bytes = 0;
      for (int k = 0; k < entries.size(); k++) {
        LogEntry e = entries.get(k);
        int size = WalRecord.entrySize(e);
        bytes += size;
        if (buf.position() > 0 && buf.position() + size > buf.capacity()) {
          flushEntries(g, entries, from, k, buf);
          from = k;
        }
        if (size > buf.capacity()) {
          ByteBuffer big = ByteBuffer.allocate(size);
          WalRecord.encodeEntry(big, WalRecord.ENTRY, g.number, e);
          flushEntries(g, entries, k, k + 1, big);
          from = k + 1;
          continue;
        }
        WalRecord.encodeEntry(buf, WalRecord.ENTRY, g.number, e);
      }
      if (buf.position() > 0) {
        flushEntries(g, entries, from, entries.size(), buf);
      }
      LogEntry last = entries.get(entries.size() - 1);
      g.pendingIndex = last.index();
      g.pendingTerm = last.term();
      g.pendingLsn = g.writtenLsn;
      g.pendingBytes += bytes;
      enqueue(g);
    } finally {
      g.lock.unlock();
    }
    LockSupport.unpark(syncThread);
    awaitBelowUnsyncedBound();
  }

  private void flushEntries(WalGroup g, List<LogEntry> entries, int from, int to, ByteBuffer buf) {
    buf.flip();
    int total = buf.remaining();
    long place = write(g, buf);
    long rel = 0;
    for (int k = from; k < to; k++) {
      LogEntry e = entries.get(k);
      int size = WalRecord.entrySize(e);
      g.add(e.index(), e.term(), place + rel, size);
      rel += size;
    }
    addLive(place, total);
    buf.clear();
  }

  /** Compacts a group's log to {@code index} (in (base, last]). Group's event loop. */
  void compact(WalGroup g, long index) {
    g.lock.lock();
    try {
      checkUsable();
      long term = g.terms.termOf(index);
      ByteBuffer b = ByteBuffer.allocate(WalRecord.HEADER + 16);
      WalRecord.encodePoint(b, WalRecord.COMPACT, g.number, index, term);
      long place = write(g, b.flip());
      g.compactTo(index, term, dead);
      restateBase(g, place, b.limit());
    } finally {
      g.lock.unlock();
    }
    LockSupport.unpark(gcThread);
  }

  /** Resets a group's log; durable on return. Group's event loop. */
  void reset(WalGroup g, long index, long term) {
    long lsn;
    g.lock.lock();
    try {
      checkUsable();
      ByteBuffer b = ByteBuffer.allocate(WalRecord.HEADER + 16);
      WalRecord.encodePoint(b, WalRecord.RESET, g.number, index, term);
      long place = write(g, b.flip());
      g.clear(index, term, dead);
      restateBase(g, place, b.limit());
      g.pendingIndex = -1;
      g.pendingBytes = 0;
      lsn = g.writtenLsn;
    } finally {
      g.lock.unlock();
    }
    awaitForced(lsn);
    g.lock.lock();
    try {
      if (g.last == index) {
        g.durableIndex = index;
      }
    } finally {
      g.lock.unlock();
    }
    LockSupport.unpark(gcThread);
  }

  /** Saves a group's metadata; durable on return. Group's event loop. */
  void saveMeta(WalGroup g, FileMetaStore.Stored stored) {
    long lsn;
    g.lock.lock();
    try {
      checkUsable();
      writeMeta(g, stored);
      lsn = g.writtenLsn;
    } finally {
      g.lock.unlock();
    }
    awaitForced(lsn);
  }

  /**
   * Saves a group's metadata without waiting for the disk: the sync thread runs {@code onDurable}
   * once a force covers the record, together with the other groups' saves and appends of that force
   * (one {@code fsync} for all). A later save's callback runs no earlier than an earlier one's
   * (records are forced in log order). If the log fails, no callback runs and every group's
   * listener is told. Group's event loop.
   */
  void saveMetaAsync(WalGroup g, FileMetaStore.Stored stored, Runnable onDurable) {
    g.lock.lock();
    try {
      checkUsable();
      writeMeta(g, stored);
      g.metaPendingLsn = g.writtenLsn;
      Runnable earlier = g.metaOnDurable;
      g.metaOnDurable =
          earlier == null
              ? onDurable
              : () -> {
                earlier.run();
                onDurable.run();
              };
      enqueue(g);
    } finally {
      g.lock.unlock();
    }
    LockSupport.unpark(syncThread);
  }

  /** Writes a META record and makes it the group's live one. Caller holds the group's lock. */
  private void writeMeta(WalGroup g, FileMetaStore.Stored stored) {
    ByteBuffer body = FileMetaStore.encode(stored);
    ByteBuffer b = ByteBuffer.allocate(WalRecord.HEADER + body.remaining());
    WalRecord.encodeMeta(b, g.number, body);
    b.flip();
    int size = b.remaining();
    long place = write(g, b);
    if (g.metaPlace != WalGroup.NOWHERE) {
      dead.dead(g.metaPlace, g.metaSize);
    }
    g.meta = stored;
    g.metaPlace = place;
    g.metaSize = size;
    addLive(place, size);
  }

  /** Makes the record at {@code place} the group's live statement of its base. Group's lock. */
  private void restateBase(WalGroup g, long place, int size) {
    if (g.basePlace != WalGroup.NOWHERE) {
      dead.dead(g.basePlace, g.baseSize);
    }
    g.basePlace = place;
    g.baseSize = g.base > 0 ? size : 0;
    addLive(place, g.baseSize);
  }

  /** Waits until a group's writes so far are durable (its view's close). */
  void flush(WalGroup g) {
    long lsn;
    g.lock.lock();
    try {
      lsn = g.writtenLsn;
    } finally {
      g.lock.unlock();
    }
    if (!closed && failure.get() == null) {
      awaitForced(lsn);
    }
  }

  /** Reads entry {@code index} of a group from its segment. Caller holds the group's lock. */
  LogEntry read(WalGroup g, long index) {
    long place = g.placeOf(index);
    int size = g.sizeOf(index);
    long offset = WalSegment.offsetOf(place);
    WalSegment seg = segment(WalSegment.sequenceOf(place));
    if (seg == null) {
      throw new IllegalStateException(
          "entry " + index + " of group " + g.id + " is in deleted segment " + place);
    }
    ByteBuffer b = ByteBuffer.allocate(size);
    try {
      readFully(seg.channel, b, offset);
    } catch (IOException e) {
      throw new StorageException(
          "cannot read entry "
              + index
              + " of group "
              + g.id
              + " from "
              + seg.path
              + " at offset "
              + offset,
          e);
    }
    String why = WalRecord.invalidReason(b, 0, size);
    if (why == null
        && WalRecord.kind(b, 0) != WalRecord.ENTRY
        && WalRecord.kind(b, 0) != WalRecord.REWRITE) {
      why = "not an entry record";
    }
    if (why == null && WalRecord.long1(b, 0) != index) {
      why = "index " + WalRecord.long1(b, 0) + " where " + index + " was expected";
    }
    if (why != null) {
      throw new StorageException(
          "corrupt record in " + seg.path + " at offset " + offset + ": " + why);
    }
    return WalRecord.decodeEntry(b, 0);
  }

  // ------------------------------------------------------------------ the append path

  /**
   * Writes complete records of group {@code g} at the end of the log, declaring the group in the
   * active segment first if it is not yet, rolling the segment if they do not fit. Caller holds the
   * group's lock.
   *
   * @param buf the records, flipped
   * @return the place of the first byte written from {@code buf}
   */
  private long write(WalGroup g, ByteBuffer buf) {
    appendLock.lock();
    try {
      checkUsable();
      int n = buf.remaining();
      WalSegment seg = active;
      int declSize = g.declaredIn == seg.sequence ? 0 : declarationSize(g);
      if (seg.end > WalRecord.SEGMENT_HEADER && seg.end + declSize + n > options.segmentSize()) {
        roll();
        seg = active;
        declSize = declarationSize(g);
      }
      if (declSize > 0) {
        ByteBuffer d = ByteBuffer.allocate(declSize);
        WalRecord.encodeGroup(
            d, g.number, g.base, g.baseTerm, g.id.getBytes(StandardCharsets.UTF_8));
        long at = seg.end;
        writeFully(seg.channel, d.flip(), at);
        seg.end += declSize;
        g.declaredIn = seg.sequence;
        seg.declared.add(g);
        restateBase(g, WalSegment.place(seg.sequence, at), declSize);
      }
      long at = seg.end;
      writeFully(seg.channel, buf, at);
      seg.end += n;
      appendedLsn += declSize + n;
      writtenLsn = appendedLsn;
      g.writtenLsn = appendedLsn;
      return WalSegment.place(seg.sequence, at);
    } catch (IOException e) {
      throw fail(new StorageException("cannot write to shared log " + dir + ": " + e, e));
    } finally {
      appendLock.unlock();
    }
  }

  private static int declarationSize(WalGroup g) {
    return WalRecord.HEADER + 16 + g.id.getBytes(StandardCharsets.UTF_8).length;
  }

  /** Seals the active segment (forced first) and starts the next. Under appendLock. */
  private void roll() throws IOException {
    WalSegment old = active;
    old.channel.force(false);
    old.sealed = true;
    startSegment(preallocator == null ? null : preallocator.take());
    LockSupport.unpark(gcThread);
  }

  /** Creates the next segment (from a zero-filled spare if given) and makes it active. */
  private void startSegment(Path spare) throws IOException {
    long seq = nextSequence++;
    Path path = dir.resolve(WalSegment.fileName(seq));
    FileChannel ch;
    if (spare != null) {
      Files.move(spare, path, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
      ch = channels.open(path, StandardOpenOption.READ, StandardOpenOption.WRITE);
    } else {
      ch =
          channels.open(
              path,
              StandardOpenOption.CREATE,
              StandardOpenOption.TRUNCATE_EXISTING,
              StandardOpenOption.READ,
              StandardOpenOption.WRITE);
    }
    try {
      writeFully(ch, WalRecord.segmentHeader(seq), 0);
      if (spare == null) {
        // sparse: the file reads as zeros up to the segment size
        ch.write(ByteBuffer.allocate(1), options.segmentSize() - 1);
      }
    } catch (IOException e) {
      ch.close();
      throw e;
    }
    // the directory entry is durable before any record of the segment is reported durable
    syncDirectory(dir);
    WalSegment seg = new WalSegment(seq, path, ch, WalRecord.SEGMENT_HEADER);
    WalSegment[] next = Arrays.copyOf(segments, segments.length + 1);
    next[next.length - 1] = seg;
    segments = next;
    active = seg;
  }

  private WalSegment segment(long sequence) {
    WalSegment[] segs = segments;
    int lo = 0;
    int hi = segs.length - 1;
    while (lo <= hi) {
      int mid = (lo + hi) >>> 1;
      long s = segs[mid].sequence;
      if (s == sequence) {
        return segs[mid];
      } else if (s < sequence) {
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    return null;
  }

  private void addLive(long place, long bytes) {
    if (bytes == 0) {
      return;
    }
    WalSegment seg = segment(WalSegment.sequenceOf(place));
    if (seg != null) {
      seg.live.addAndGet(bytes);
    }
  }

  static void writeFully(FileChannel ch, ByteBuffer b, long at) throws IOException {
    long p = at;
    while (b.hasRemaining()) {
      p += ch.write(b, p);
    }
  }

  private static void readFully(FileChannel ch, ByteBuffer b, long at) throws IOException {
    long p = at;
    while (b.hasRemaining()) {
      int n = ch.read(b, p);
      if (n < 0) {
        throw new IOException("unexpected end of file at offset " + p);
      }
      p += n;
    }
  }

  static void syncDirectory(Path dir) throws IOException {
    try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
      d.force(true);
    }
  }

  // ------------------------------------------------------------------ group commit

  /** Puts a group in the sync thread's list to report. Caller holds the group's lock. */
  private void enqueue(WalGroup g) {
    dirtyLock.lock();
    try {
      if (!g.queued) {
        g.queued = true;
        dirty.add(g);
      }
    } finally {
      dirtyLock.unlock();
    }
  }

  /** Waits until the log is forced up to {@code lsn}. Called with no lock held. */
  private void awaitForced(long lsn) {
    LockSupport.unpark(syncThread);
    syncLock.lock();
    try {
      while (forcedLsn < lsn) {
        checkFailed();
        if (!syncThread.isAlive()) {
          throw new IllegalStateException("shared log " + dir + " is closed");
        }
        synced.await(100, TimeUnit.MILLISECONDS);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new StorageException("interrupted while waiting for the shared log to sync", e);
    } finally {
      syncLock.unlock();
    }
    checkFailed();
  }

  private void awaitBelowUnsyncedBound() {
    if (writtenLsn - forcedLsn <= options.maxUnsyncedBytes()) {
      return;
    }
    syncLock.lock();
    try {
      while (writtenLsn - forcedLsn > options.maxUnsyncedBytes()) {
        checkUsable();
        LockSupport.unpark(syncThread);
        synced.await(100, TimeUnit.MILLISECONDS);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new StorageException("interrupted while waiting for the shared log to sync", e);
    } finally {
      syncLock.unlock();
    }
  }

  private void syncLoop() {
    try {
      while (true) {
        WalSegment seg;
        long lsn;
        appendLock.lock();
        try {
          seg = active;
          lsn = writtenLsn;
        } finally {
          appendLock.unlock();
        }
        if (lsn > forcedLsn) {
          long start = System.nanoTime();
          seg.channel.force(false);
          long nanos = System.nanoTime() - start;
          groupCommits.incrementAndGet();
          syncLock.lock();
          try {
            forcedLsn = lsn;
            synced.signalAll();
          } finally {
            syncLock.unlock();
          }
          report(lsn, nanos);
          if (System.nanoTime() - marksWrittenAt >= MARK_INTERVAL_NANOS) {
            writeMarks();
          }
          continue;
        }
        if (!markQueue.isEmpty()) {
          // idle: record the marks (one small force nobody waits for)
          writeMarks();
          continue;
        }
        if (stopping) {
          return;
        }
        LockSupport.park(this);
      }
    } catch (IOException | RuntimeException | Error e) {
      fail(e);
    }
  }

  /** Reports to every queued group whose last write the force up to {@code lsn} covered. */
  private void report(long lsn, long nanos) {
    ArrayList<WalGroup> batch;
    dirtyLock.lock();
    try {
      batch = dirty;
      dirty = new ArrayList<>();
    } finally {
      dirtyLock.unlock();
    }
    for (WalGroup g : batch) {
      g.lock.lock();
      try {
        boolean keep = false;
        if (g.metaPendingLsn >= 0) {
          if (g.metaPendingLsn <= lsn) {
            Runnable r = g.metaOnDurable;
            g.metaPendingLsn = -1;
            g.metaOnDurable = null;
            r.run();
          } else {
            keep = true;
          }
        }
        if (g.pendingIndex >= 0) {
          if (g.pendingLsn <= lsn) {
            if (g.pendingIndex > g.durableIndex) {
              long entries = g.pendingIndex - g.durableIndex;
              g.durableIndex = g.pendingIndex;
              g.listener.synced(entries, g.pendingBytes, nanos);
              g.listener.durable(g.pendingIndex, g.pendingTerm);
              g.reportedMark = g.reportedMark.max(g.pendingIndex, g.pendingTerm);
              if (!g.markQueued) {
                g.markQueued = true;
                markQueue.add(g);
              }
            }
            g.pendingIndex = -1;
            g.pendingBytes = 0;
          } else {
            keep = true;
          }
        }
        dirtyLock.lock();
        try {
          if (keep) {
            dirty.add(g);
          } else {
            g.queued = false;
          }
        } finally {
          dirtyLock.unlock();
        }
      } finally {
        g.lock.unlock();
      }
    }
  }

  /** Records the marks of the groups reported since the last time. Sync thread. */
  private void writeMarks() throws IOException {
    marksLock.lock();
    try {
      List<DurableMark> written = new ArrayList<>(markQueue.size());
      for (WalGroup g : markQueue) {
        DurableMark m = g.reportedMark;
        written.add(m);
        if (!g.removed && !m.equals(g.recordedMark)) {
          marks.add(g.id, m);
        }
      }
      marks.flush();
      for (int i = 0; i < markQueue.size(); i++) {
        WalGroup g = markQueue.get(i);
        g.markQueued = false;
        if (!g.removed) {
          g.recordedMark = written.get(i);
        }
      }
      if (marks.wantsRewrite()) {
        rewriteMarks(); // the lock is reentrant
      }
    } finally {
      marksLock.unlock();
    }
    markQueue.clear();
    marksWrittenAt = System.nanoTime();
  }

  // ------------------------------------------------------------------ garbage collection

  private void gcLoop() {
    try {
      while (!gcStopping) {
        long requested = gcRequested.get();
        boolean full = requested > gcDone;
        collect(full);
        if (full) {
          rewriteMarks();
          syncLock.lock();
          try {
            gcDone = requested;
            synced.signalAll();
          } finally {
            syncLock.unlock();
          }
        } else {
          LockSupport.parkNanos(this, TimeUnit.SECONDS.toNanos(1));
        }
      }
    } catch (IOException | RuntimeException | Error e) {
      if (!gcStopping) {
        fail(e);
      }
    }
  }

  /** Rewrites the marks file with the live groups' marks only (no removed group's name). */
  private void rewriteMarks() throws IOException {
    marksLock.lock();
    try {
      Map<String, DurableMark> all = new HashMap<>();
      for (WalGroup g : groups.values()) {
        if (!g.removed && !g.recordedMark.equals(DurableMark.NONE)) {
          all.put(g.id, g.recordedMark);
        }
      }
      marks.rewrite(all);
    } finally {
      marksLock.unlock();
    }
  }

  /** Deletes the oldest segments that nobody needs, rewriting them when the bound says so. */
  private void collect(boolean full) throws IOException {
    long upTo = -1;
    if (full) {
      appendLock.lock();
      try {
        checkUsable();
        if (active.end > WalRecord.SEGMENT_HEADER) {
          roll();
        }
        upTo = active.sequence - 1;
      } finally {
        appendLock.unlock();
      }
    }
    while (!gcStopping && failure.get() == null) {
      WalSegment[] segs = segments;
      WalSegment oldest = segs[0];
      if (!oldest.sealed) {
        return;
      }
      if (oldest.live.get() > 0) {
        boolean over = segs.length > options.maxSegments();
        if (over && oldest.sequence > upTo) {
          long live = 0;
          for (WalSegment s : segs) {
            live += s.live.get();
          }
          if (live > (options.maxSegments() - 1) * options.segmentSize() / 2) {
            if (!warnedBound) {
              warnedBound = true;
              log.warn(
                  "Shared log {} holds {} live bytes, more than half its bound of {} segments of {}"
                      + " bytes: segments are not rewritten and the bound is exceeded",
                  dir,
                  live,
                  options.maxSegments(),
                  options.segmentSize());
            }
            over = false;
          }
        }
        if (!over && oldest.sequence > upTo) {
          return;
        }
        rewrite(oldest);
        if (oldest.live.get() != 0) {
          throw new IllegalStateException(
              "segment " + oldest + " still has live records after its rewrite");
        }
      }
      delete(oldest);
    }
  }

  /** Copies every group's live records in {@code seg} to the head of the log. Collector. */
  private void rewrite(WalSegment seg) throws IOException {
    for (WalGroup g : seg.declared) {
      rewriteGroup(g, seg);
    }
    rewrites.incrementAndGet();
  }

  private void rewriteGroup(WalGroup g, WalSegment seg) throws IOException {
    g.lock.lock();
    try {
      if (g.tombstoned) {
        return;
      }
      ByteBuffer buf = encoders.get();
      buf.clear();
      long chunkFirst = -1;
      for (long i = g.base + 1; i <= g.last; i++) {
        long place = g.placeOf(i);
        if (WalSegment.sequenceOf(place) != seg.sequence) {
          continue;
        }
        int size = g.sizeOf(i);
        if (buf.position() > 0 && buf.position() + size > buf.capacity()) {
          relocate(g, seg, chunkFirst, i, buf);
          chunkFirst = -1;
        }
        boolean oversize = size > buf.capacity();
        ByteBuffer target = oversize ? ByteBuffer.allocate(size) : buf;
        int at = target.position();
        ByteBuffer slice = target.duplicate().limit(at + size).position(at);
        readFully(seg.channel, slice, WalSegment.offsetOf(place));
        String why = WalRecord.invalidReason(target, at, at + size);
        if (why == null && WalRecord.long1(target, at) != i) {
          why = "index " + WalRecord.long1(target, at) + " where " + i + " was expected";
        }
        if (why != null) {
          throw new StorageException(
              "corrupt record in "
                  + seg.path
                  + " at offset "
                  + WalSegment.offsetOf(place)
                  + " while collecting garbage: "
                  + why);
        }
        WalRecord.retag(target, at, WalRecord.REWRITE, g.number);
        target.position(at + size);
        if (oversize) {
          relocate(g, seg, i, i + 1, target);
          continue;
        }
        if (chunkFirst < 0) {
          chunkFirst = i;
        }
      }
      if (buf.position() > 0) {
        relocate(g, seg, chunkFirst, g.last + 1, buf);
      }
      if (g.metaPlace != WalGroup.NOWHERE && WalSegment.sequenceOf(g.metaPlace) == seg.sequence) {
        writeMeta(g, g.meta);
      }
      if (g.basePlace != WalGroup.NOWHERE
          && WalSegment.sequenceOf(g.basePlace) == seg.sequence
          && g.baseSize > 0) {
        ByteBuffer b = ByteBuffer.allocate(WalRecord.HEADER + 16);
        WalRecord.encodePoint(b, WalRecord.COMPACT, g.number, g.base, g.baseTerm);
        long place = write(g, b.flip());
        restateBase(g, place, b.limit());
      }
    } finally {
      g.lock.unlock();
    }
  }

  /** Writes the copies in {@code buf} of the group's records in {@code seg} for [from, to). */
  private void relocate(WalGroup g, WalSegment seg, long from, long to, ByteBuffer buf) {
    buf.flip();
    long place = write(g, buf);
    long rel = 0;
    for (long i = from; i < to; i++) {
      long old = g.placeOf(i);
      if (WalSegment.sequenceOf(old) != seg.sequence) {
        continue;
      }
      int size = g.sizeOf(i);
      g.relocate(i, place + rel);
      dead.dead(old, size);
      addLive(place + rel, size);
      rel += size;
    }
    buf.clear();
  }

  /** Deletes the oldest segment, once what superseded its records is durable. Collector. */
  private void delete(WalSegment seg) throws IOException {
    awaitForced(writtenLsn);
    appendLock.lock();
    try {
      WalSegment[] segs = segments;
      if (segs[0].sequence != seg.sequence) {
        throw new IllegalStateException("deleting " + seg + " which is not the oldest segment");
      }
      segments = Arrays.copyOfRange(segs, 1, segs.length);
    } finally {
      appendLock.unlock();
    }
    Files.deleteIfExists(seg.path);
    syncDirectory(dir);
    seg.channel.close();
    log.debug("Deleted segment {}", seg.path);
  }

  // ------------------------------------------------------------------ failure and close

  void checkUsable() {
    checkFailed();
    if (closed) {
      throw new IllegalStateException("shared log " + dir + " is closed");
    }
  }

  private void checkFailed() {
    Throwable cause = failure.get();
    if (cause != null) {
      throw new StorageException("shared log " + dir + " has failed: " + cause, cause);
    }
  }

  private StorageException fail(Throwable cause) {
    StorageException ex =
        cause instanceof StorageException se
            ? se
            : new StorageException("shared log " + dir + " failed: " + cause, cause);
    failure.compareAndSet(null, ex);
    if (failureReported.compareAndSet(false, true)) {
      log.error(
          "Shared log {} failed; it accepts no more writes from any group and will not retry",
          dir,
          ex);
      for (WalGroup g : groups.values()) {
        g.listener.failed(ex);
      }
    }
    syncLock.lock();
    try {
      synced.signalAll();
    } finally {
      syncLock.unlock();
    }
    return ex;
  }

  boolean isClosed() {
    return closed;
  }

  /**
   * Syncs what is pending (every group's appends are durable on return and reported), stops the
   * sync and collector threads, closes the files and releases the directory. The views of every
   * group are unusable afterwards. Idempotent.
   *
   * @throws StorageException if the final sync fails
   */
  @Override
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    gcStopping = true;
    LockSupport.unpark(gcThread);
    join(gcThread);
    stopping = true;
    LockSupport.unpark(syncThread);
    join(syncThread);
    if (preallocator != null) {
      preallocator.close();
    }
    try {
      if (failure.get() == null && !markQueue.isEmpty()) {
        writeMarks();
      }
    } catch (IOException e) {
      throw fail(e);
    } finally {
      closeFiles();
      lock.close();
    }
  }

  private void join(Thread t) {
    try {
      t.join(TimeUnit.SECONDS.toMillis(60));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    if (t.isAlive()) {
      log.error("Thread {} of shared log {} did not stop in 60 s", t.getName(), dir);
    }
  }

  private void closeFiles() {
    for (WalSegment s : segments) {
      try {
        s.channel.close();
      } catch (IOException e) {
        log.warn("Cannot close {}", s.path, e);
      }
    }
    if (marks != null) {
      try {
        marks.close();
      } catch (IOException e) {
        log.warn("Cannot close the durable marks of {}", dir, e);
      }
    }
  }

  @Override
  public String toString() {
    return "SharedLog[" + dir + ", " + groups.size() + " groups, " + segments.length + " segments]";
  }
}
