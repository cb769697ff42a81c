package org.flotilla.raft.memory;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.zip.CRC32C;
import org.flotilla.raft.spi.SnapshotMeta;
import org.flotilla.raft.spi.SnapshotStore;

/**
 * An in-memory {@link SnapshotStore} for tests and the deterministic simulator.
 *
 * <p>Keeps the newest {@code retain} committed snapshots (newest by index, then term) as byte
 * arrays, with their CRC32C. A committed snapshot survives {@link #crash()}; a sink still being
 * written when the store crashes can no longer commit, as its temporary file would be gone.
 *
 * <p>Thread-safe, as the contract asks: the list of committed snapshots is an immutable list
 * swapped atomically, so readers never lock and see either the old or the new list. One sink is
 * used by one thread at a time.
 */
public final class MemorySnapshotStore implements SnapshotStore {

  private static final Comparator<Stored> NEWEST_LAST =
      Comparator.comparingLong((Stored s) -> s.meta().index())
          .thenComparingLong(s -> s.meta().term());

  private final int retain;
  // immutable list, oldest first; replaced as a whole
  private final AtomicReference<List<Stored>> snapshots = new AtomicReference<>(List.of());
  // bumped by crash(); a sink from an older generation cannot commit
  private final AtomicLong generation = new AtomicLong();
  private final AtomicBoolean closed = new AtomicBoolean();

  /** Creates a store that keeps the newest two snapshots. */
  public MemorySnapshotStore() {
    this(2);
  }

  /**
   * Creates a store.
   *
   * @param retain how many of the newest committed snapshots to keep, at least 1
   */
  public MemorySnapshotStore(int retain) {
    if (retain < 1) {
      throw new IllegalArgumentException("must retain at least one snapshot: " + retain);
    }
    this.retain = retain;
  }

  @Override
  public Optional<Stored> latest() throws IOException {
    checkOpen();
    List<Stored> list = snapshots.get();
    return list.isEmpty() ? Optional.empty() : Optional.of(list.get(list.size() - 1));
  }

  /**
   * Returns every committed snapshot still kept, oldest first.
   *
   * @return an immutable list
   */
  public List<Stored> all() {
    return snapshots.get();
  }

  @Override
  public Sink create(SnapshotMeta meta) throws IOException {
    checkOpen();
    if (meta == null) {
      throw new IllegalArgumentException("meta is null");
    }
    return new MemorySink(meta, generation.get());
  }

  /**
   * Simulates a power loss and restart: committed snapshots survive, sinks being written can no
   * longer commit, and a closed store is open again.
   */
  public void crash() {
    generation.incrementAndGet();
    closed.set(false);
  }

  @Override
  public void close() {
    closed.set(true);
  }

  private void checkOpen() throws IOException {
    if (closed.get()) {
      throw new IOException("snapshot store is closed");
    }
  }

  private Stored add(Stored s) {
    snapshots.updateAndGet(
        old -> {
          List<Stored> list = new ArrayList<>(old);
          list.add(s);
          list.sort(NEWEST_LAST);
          while (list.size() > retain) {
            list.remove(0);
          }
          return List.copyOf(list);
        });
    return s;
  }

  /** An immutable committed snapshot; the byte array is never written after construction. */
  private static final class MemoryStored implements Stored {
    private final SnapshotMeta meta;
    private final byte[] bytes;
    private final int checksum;

    MemoryStored(SnapshotMeta meta, byte[] bytes, int checksum) {
      this.meta = meta;
      this.bytes = bytes;
      this.checksum = checksum;
    }

    @Override
    public SnapshotMeta meta() {
      return meta;
    }

    @Override
    public int checksum() {
      return checksum;
    }

    @Override
    public long size() {
      return bytes.length;
    }

    @Override
    public InputStream open() {
      return new ByteArrayInputStream(bytes);
    }

    @Override
    public String toString() {
      return "snapshot " + meta.index() + "@" + meta.term() + " (" + bytes.length + " bytes)";
    }
  }

  /** Not thread-safe; used by one thread at a time. */
  private final class MemorySink implements Sink {
    private final SnapshotMeta meta;
    private final long sinkGeneration;
    private final CRC32C crc = new CRC32C();
    private final ByteArrayOutputStream buffer = new ByteArrayOutputStream();
    private boolean done;
    private final OutputStream output =
        new OutputStream() {
          @Override
          public void write(int b) throws IOException {
            checkWritable();
            buffer.write(b);
            crc.update(b);
          }

          @Override
          public void write(byte[] b, int off, int len) throws IOException {
            checkWritable();
            buffer.write(b, off, len);
            crc.update(b, off, len);
          }
        };

    MemorySink(SnapshotMeta meta, long sinkGeneration) {
      this.meta = meta;
      this.sinkGeneration = sinkGeneration;
    }

    private void checkWritable() throws IOException {
      if (done) {
        throw new IOException("snapshot sink for " + meta.index() + " is closed");
      }
    }

    @Override
    public SnapshotMeta meta() {
      return meta;
    }

    @Override
    public OutputStream output() {
      return output;
    }

    @Override
    public long size() {
      return buffer.size();
    }

    @Override
    public int checksum() {
      return (int) crc.getValue();
    }

    @Override
    public Stored commit() throws IOException {
      checkWritable();
      if (generation.get() != sinkGeneration) {
        done = true;
        throw new IOException(
            "snapshot store crashed while snapshot " + meta.index() + " was written");
      }
      checkOpen();
      done = true;
      return add(new MemoryStored(meta, buffer.toByteArray(), checksum()));
    }

    @Override
    public void close() {
      done = true;
    }
  }
}
