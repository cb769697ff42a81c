package org.flotilla.raft.transport.netty;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.PooledByteBufAllocator;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.flotilla.raft.message.AppendEntries;
import org.flotilla.raft.message.EntryType;
import org.flotilla.raft.message.LogEntry;
import org.flotilla.raft.message.RaftMessage;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Encoding and decoding of one AppendEntries with 64 entries of 128 bytes: record to frame (as a
 * peer's drain does) and frame to validated record (as the inbound handler does).
 *
 * <p>Run: {@code mvn -B -P jmh -pl raft-transport-netty -am clean verify -DskipTests} (see
 * docs/wire-format.md for options).
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class WireCodecBenchmark {

  private final WireCodec codec = new WireCodec("bench", "g1");
  private final ByteBufAllocator alloc = PooledByteBufAllocator.DEFAULT;
  private AppendEntries message;
  private ByteBuf encoded;

  /** Builds the message and one encoded frame. */
  @Setup
  public void setUp() {
    Random random = new Random(1);
    List<LogEntry> entries = new ArrayList<>();
    for (int i = 1; i <= 64; i++) {
      byte[] payload = new byte[128];
      random.nextBytes(payload);
      entries.add(new LogEntry(1000 + i, 7, EntryType.COMMAND, ByteBuffer.wrap(payload)));
    }
    message = new AppendEntries("n1", "n2", 7, 1000, 7, 999, entries);
    encoded = encodeFrame();
  }

  /** Releases the encoded frame. */
  @TearDown
  public void tearDown() {
    encoded.release();
  }

  private ByteBuf encodeFrame() {
    return WireCodec.frame(alloc, codec.toEnvelope(message), Integer.MAX_VALUE);
  }

  private RaftMessage decodeFrame(ByteBuf frame) throws Exception {
    ByteBuf body = frame.skipBytes(WireCodec.LENGTH_PREFIX_BYTES);
    return codec.fromEnvelope(WireCodec.parseEnvelope(body), "n1", "n2");
  }

  /**
   * Record to frame.
   *
   * @return the frame size, so the work is not optimised away
   */
  @Benchmark
  public int encode() {
    ByteBuf frame = encodeFrame();
    int size = frame.readableBytes();
    frame.release();
    return size;
  }

  /**
   * Frame to validated record.
   *
   * @return the record
   * @throws Exception never
   */
  @Benchmark
  public RaftMessage decode() throws Exception {
    return decodeFrame(encoded.duplicate());
  }

  /**
   * Both: one message's trip through the codec.
   *
   * @return the record
   * @throws Exception never
   */
  @Benchmark
  public RaftMessage encodeDecode() throws Exception {
    ByteBuf frame = encodeFrame();
    try {
      return decodeFrame(frame);
    } finally {
      frame.release();
    }
  }
}
