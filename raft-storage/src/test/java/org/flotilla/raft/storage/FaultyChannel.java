package org.flotilla.raft.storage;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.ReadableByteChannel;
import java.nio.channels.WritableByteChannel;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A file channel that delegates to a real one and can be told to fail its writes or forces, or to
 * hold a force until released, or to make every force slow: the injected faults of the storage
 * tests.
 */
final class FaultyChannel extends FileChannel {

  /** Shared switches for every channel a factory opens. */
  static final class Faults {
    volatile boolean failForce;
    volatile boolean failWrite;
    volatile CountDownLatch holdForce;
    // a force takes at least this long (a slow disk), so that group commit has something to batch
    volatile long forceDelayMillis;
    final CountDownLatch forceEntered = new CountDownLatch(1);
    final AtomicInteger forces = new AtomicInteger();
    // forces of segment files only (not the durable mark or the directory)
    final AtomicInteger segmentForces = new AtomicInteger();

    ChannelFactory factory() {
      return (path, options) ->
          new FaultyChannel(
              FileChannel.open(path, options),
              this,
              path.getFileName().toString().endsWith(".log")
                  || path.getFileName().toString().endsWith(".wal"));
    }
  }

  private final FileChannel delegate;
  private final Faults faults;
  private final boolean segment;

  FaultyChannel(FileChannel delegate, Faults faults, boolean segment) {
    this.delegate = delegate;
    this.faults = faults;
    this.segment = segment;
  }

  private void checkWrite() throws IOException {
    if (faults.failWrite) {
      throw new IOException("injected write failure (EIO)");
    }
  }

  @Override
  public void force(boolean metaData) throws IOException {
    faults.forces.incrementAndGet();
    if (segment) {
      faults.segmentForces.incrementAndGet();
    }
    CountDownLatch hold = faults.holdForce;
    if (hold != null) {
      faults.forceEntered.countDown();
      try {
        if (!hold.await(30, TimeUnit.SECONDS)) {
          throw new IOException("test did not release the held force");
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IOException(e);
      }
    }
    if (faults.failForce) {
      throw new IOException("injected fsync failure (EIO)");
    }
    long delay = faults.forceDelayMillis;
    if (delay > 0) {
      try {
        Thread.sleep(delay);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IOException(e);
      }
    }
    delegate.force(metaData);
  }

  @Override
  public int read(ByteBuffer dst) throws IOException {
    return delegate.read(dst);
  }

  @Override
  public long read(ByteBuffer[] dsts, int offset, int length) throws IOException {
    return delegate.read(dsts, offset, length);
  }

  @Override
  public int write(ByteBuffer src) throws IOException {
    checkWrite();
    return delegate.write(src);
  }

  @Override
  public long write(ByteBuffer[] srcs, int offset, int length) throws IOException {
    checkWrite();
    return delegate.write(srcs, offset, length);
  }

  @Override
  public long position() throws IOException {
    return delegate.position();
  }

  @Override
  public FileChannel position(long newPosition) throws IOException {
    delegate.position(newPosition);
    return this;
  }

  @Override
  public long size() throws IOException {
    return delegate.size();
  }

  @Override
  public FileChannel truncate(long size) throws IOException {
    checkWrite();
    delegate.truncate(size);
    return this;
  }

  @Override
  public long transferTo(long position, long count, WritableByteChannel target) throws IOException {
    return delegate.transferTo(position, count, target);
  }

  @Override
  public long transferFrom(ReadableByteChannel src, long position, long count) throws IOException {
    checkWrite();
    return delegate.transferFrom(src, position, count);
  }

  @Override
  public int read(ByteBuffer dst, long position) throws IOException {
    return delegate.read(dst, position);
  }

  @Override
  public int write(ByteBuffer src, long position) throws IOException {
    checkWrite();
    return delegate.write(src, position);
  }

  @Override
  public MappedByteBuffer map(MapMode mode, long position, long size) throws IOException {
    return delegate.map(mode, position, size);
  }

  @Override
  public FileLock lock(long position, long size, boolean shared) throws IOException {
    return delegate.lock(position, size, shared);
  }

  @Override
  public FileLock tryLock(long position, long size, boolean shared) throws IOException {
    return delegate.tryLock(position, size, shared);
  }

  @Override
  protected void implCloseChannel() throws IOException {
    delegate.close();
  }
}
