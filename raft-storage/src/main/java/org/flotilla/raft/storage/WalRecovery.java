package org.flotilla.raft.storage;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.NavigableMap;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.flotilla.raft.spi.StorageException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Recovery of the shared log at open: reads every segment in sequence order, checks every record,
 * repairs a torn tail of the last segment, and rebuilds each group's index, metadata, base and
 * removal by replaying the records in order (docs/storage-format.md, "The shared log").
 *
 * <p>Confined to the thread that opens the log.
 */
final class WalRecovery {
  private static final Logger log = LoggerFactory.getLogger(WalRecovery.class);
  private static final Pattern SEGMENT_NAME = Pattern.compile("(\\d{20})\\.wal");

  /** What recovery found. */
  record Result(
      List<WalSegment> segments, Map<String, WalGroup> groups, Set<String> removed, int numbers) {}

  private final Path dir;
  private final ChannelFactory channels;
  private final List<WalSegment> segments = new ArrayList<>();
  private final Map<String, WalGroup> groups = new HashMap<>();
  private final Set<String> removed = new HashSet<>();
  private int numbers;

  private WalRecovery(Path dir, ChannelFactory channels) {
    this.dir = dir;
    this.channels = channels;
  }

  /** The segment files in {@code dir}, by sequence number. */
  static NavigableMap<Long, Path> list(Path dir) throws IOException {
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

  /**
   * Recovers the log in {@code dir}.
   *
   * @throws StorageException naming the file and offset of any corruption; the channels opened so
   *     far are closed
   */
  static Result recover(Path dir, ChannelFactory channels) throws IOException {
    WalRecovery r = new WalRecovery(dir, channels);
    try {
      r.run();
    } catch (IOException | RuntimeException e) {
      for (WalSegment s : r.segments) {
        s.channel.close();
      }
      throw e;
    }
    return new Result(r.segments, r.groups, r.removed, r.numbers);
  }

  private void run() throws IOException {
    NavigableMap<Long, Path> files = list(dir);
    long previous = -1;
    Path previousPath = null;
    List<Map.Entry<Long, Path>> all = new ArrayList<>(files.entrySet());
    for (int i = 0; i < all.size(); i++) {
      long seq = all.get(i).getKey();
      Path path = all.get(i).getValue();
      if (previous >= 0 && seq != previous + 1) {
        throw new StorageException(
            "missing segment: "
                + previousPath
                + " is followed by "
                + path
                + " (sequence "
                + (previous + 1)
                + " to "
                + (seq - 1)
                + " missing)");
      }
      boolean last = i == all.size() - 1;
      scan(seq, path, last);
      previous = seq;
      previousPath = path;
    }
    for (WalGroup g : groups.values()) {
      String why = g.finishReplay();
      if (why != null) {
        throw new StorageException("shared log " + dir + " is incomplete: " + why);
      }
    }
  }

  private void scan(long seq, Path path, boolean last) throws IOException {
    FileChannel ch = channels.open(path, StandardOpenOption.READ, StandardOpenOption.WRITE);
    try {
      long size = ch.size();
      if (size > Integer.MAX_VALUE) {
        throw new StorageException("segment " + path + " is larger than 2 GiB: " + size + " bytes");
      }
      MappedByteBuffer buf = ch.map(FileChannel.MapMode.READ_ONLY, 0, size);
      int limit = (int) size;
      boolean headerOk = limit >= WalRecord.SEGMENT_HEADER && Crc.of(buf, 0, 28) == buf.getInt(28);
      if (!headerOk) {
        if (SegmentScan.allZero(buf, Math.min(limit, WalRecord.SEGMENT_HEADER), limit)) {
          if (!last) {
            throw new StorageException(
                "segment " + path + " has a torn header (offset 0) but later segments follow");
          }
          log.warn("Deleting {}: a new segment whose header never reached the disk", path);
          ch.close();
          Files.delete(path);
          SharedLog.syncDirectory(dir);
          return;
        }
        throw new StorageException(
            "segment " + path + " has a corrupt header (offset 0): bad magic or checksum");
      }
      if (buf.getInt(0) != WalRecord.SEGMENT_MAGIC) {
        throw new StorageException(
            "segment "
                + path
                + " is not a Flotilla shared log segment: magic "
                + Integer.toHexString(buf.getInt(0)));
      }
      if (buf.getInt(4) != WalRecord.SEGMENT_VERSION) {
        throw new StorageException(
            "segment "
                + path
                + " has unknown format version "
                + buf.getInt(4)
                + " (this build reads version "
                + WalRecord.SEGMENT_VERSION
                + ")");
      }
      if (buf.getLong(8) != seq) {
        throw new StorageException(
            "segment " + path + " holds sequence " + buf.getLong(8) + " but its name says " + seq);
      }
      WalSegment segment = new WalSegment(seq, path, ch, WalRecord.SEGMENT_HEADER);
      segment.sealed = true;
      Replayer replayer = new Replayer(segment);
      SegmentScan.Stop stop =
          SegmentScan.records(buf, WalRecord.SEGMENT_HEADER, limit, WalRecord.HEADER, replayer);
      if (stop.ending() == SegmentScan.End.CORRUPT
          || (stop.ending() == SegmentScan.End.TORN && !last)) {
        throw new StorageException(
            "corrupt shared log segment "
                + path
                + " at offset "
                + stop.end()
                + ": "
                + stop.reason()
                + (stop.ending() == SegmentScan.End.CORRUPT
                    ? "; valid records follow, so this is not a torn write"
                    : "; it is not the last segment"));
      }
      if (stop.ending() == SegmentScan.End.TORN) {
        log.warn(
            "Truncating the torn tail of {} at offset {}: {}; {} bytes discarded",
            path,
            stop.end(),
            stop.reason(),
            size - stop.end());
        ch.truncate(stop.end());
        ch.force(false);
      }
      segment.end = stop.end();
      if (last && segment.end == WalRecord.SEGMENT_HEADER) {
        // an active segment that never got a record: the log starts a new one anyway
        ch.close();
        Files.delete(path);
        SharedLog.syncDirectory(dir);
        return;
      }
      segments.add(segment);
    } catch (IOException | RuntimeException e) {
      if (ch.isOpen()) {
        ch.close();
      }
      throw e;
    }
  }

  /** Replays one segment's records, in order, into the groups. */
  private final class Replayer implements SegmentScan.RecordFormat {
    private final WalSegment segment;
    // group numbers declared in this segment
    private final Map<Integer, WalGroup> declared = new HashMap<>();

    Replayer(WalSegment segment) {
      this.segment = segment;
    }

    @Override
    public String invalidReason(ByteBuffer buf, int pos, int limit) {
      return WalRecord.invalidReason(buf, pos, limit);
    }

    @Override
    public int size(ByteBuffer buf, int pos) {
      return WalRecord.size(buf, pos);
    }

    @Override
    public boolean validAt(ByteBuffer buf, int pos, int limit) {
      byte kind = buf.get(pos + 8);
      return kind >= WalRecord.GROUP
          && kind <= WalRecord.REMOVE
          && WalRecord.invalidReason(buf, pos, limit) == null;
    }

    private StorageException corrupt(int pos, String why) {
      return new StorageException(
          "corrupt shared log segment " + segment.path + " at offset " + pos + ": " + why);
    }

    @Override
    public void accept(ByteBuffer buf, int pos) {
      byte kind = WalRecord.kind(buf, pos);
      int number = WalRecord.group(buf, pos);
      int size = WalRecord.size(buf, pos);
      long place = WalSegment.place(segment.sequence, pos);
      if (kind == WalRecord.GROUP) {
        if (declared.containsKey(number)) {
          throw corrupt(pos, "group number " + number + " declared twice");
        }
        byte[] id = new byte[size - WalRecord.HEADER - 16];
        buf.get(pos + WalRecord.HEADER + 16, id);
        String name = new String(id, StandardCharsets.UTF_8);
        long baseIndex = WalRecord.long0(buf, pos);
        long baseTerm = WalRecord.long1(buf, pos);
        WalGroup g = groups.get(name);
        if (g == null) {
          g = new WalGroup(name, numbers++);
          g.base = baseIndex;
          g.baseTerm = baseTerm;
          g.last = baseIndex;
          groups.put(name, g);
          removed.remove(name);
        } else if (baseIndex > g.base) {
          g.compactTo(baseIndex, baseTerm, (p, s) -> {});
        } else if (baseIndex < g.base) {
          throw corrupt(
              pos,
              "group " + name + " declared with base " + baseIndex + " below its base " + g.base);
        }
        g.basePlace = place;
        g.baseSize = baseIndex > 0 ? size : 0;
        declared.put(number, g);
        segment.declared.add(g);
        return;
      }
      WalGroup g = declared.get(number);
      if (g == null) {
        throw corrupt(pos, "record of undeclared group number " + number);
      }
      if (g.removed) {
        throw corrupt(pos, "record of group " + g.id + " after its removal");
      }
      switch (kind) {
        case WalRecord.ENTRY, WalRecord.REWRITE -> {
          String why =
              g.replayEntry(
                  WalRecord.long1(buf, pos),
                  WalRecord.long0(buf, pos),
                  place,
                  size,
                  kind == WalRecord.ENTRY,
                  segment.path + " offset " + pos);
          if (why != null) {
            throw corrupt(pos, "group " + g.id + ": " + why);
          }
        }
        case WalRecord.META -> {
          ByteBuffer body =
              buf.duplicate().limit(pos + size).position(pos + WalRecord.HEADER).slice();
          try {
            g.meta = FileMetaStore.decode(segment.path, body);
          } catch (StorageException e) {
            throw corrupt(pos, "group " + g.id + ": " + e.getMessage());
          }
          g.metaPlace = place;
          g.metaSize = size;
        }
        case WalRecord.COMPACT -> {
          long index = WalRecord.long0(buf, pos);
          if (index > g.base) {
            g.compactTo(index, WalRecord.long1(buf, pos), (p, s) -> {});
          }
          g.basePlace = place;
          g.baseSize = g.base > 0 ? size : 0;
        }
        case WalRecord.RESET -> {
          g.clear(WalRecord.long0(buf, pos), WalRecord.long1(buf, pos), (p, s) -> {});
          g.basePlace = place;
          g.baseSize = g.base > 0 ? size : 0;
        }
        case WalRecord.REMOVE -> {
          g.removed = true;
          g.tombstoned = true;
          groups.remove(g.id);
          removed.add(g.id);
        }
        default -> throw corrupt(pos, "unknown record kind " + kind);
      }
    }
  }
}
