package org.flotilla.raft.transport.netty;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Queue;
import java.util.Random;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.zip.CRC32C;
import org.flotilla.raft.cluster.Configuration;
import org.flotilla.raft.cluster.Member;
import org.flotilla.raft.message.AppendEntries;
import org.flotilla.raft.message.AppendEntriesResponse;
import org.flotilla.raft.message.EntryType;
import org.flotilla.raft.message.InstallSnapshot;
import org.flotilla.raft.message.InstallSnapshotResponse;
import org.flotilla.raft.message.LogEntry;
import org.flotilla.raft.message.RaftMessage;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Streams many snapshot chunks and large AppendEntries between two transports on loopback, with a
 * small window of unacknowledged messages as the runtime keeps, and checks that everything arrives
 * in order and intact. The test thread plays the leader's event loop; the follower answers from its
 * inbox callback (a transport I/O thread), as a node would through its own loop.
 *
 * <p>{@code -Dflotilla.stream.mib=N} sets the snapshot size (64 MiB by default).
 */
@Timeout(300)
class StreamingIntegrationTest {

  private static final int WINDOW = 8;

  private NettyTransport leader;
  private NettyTransport follower;
  private final BlockingQueue<RaftMessage> acks = new ArrayBlockingQueue<>(10_000);
  // Written by the follower's I/O thread, read by the test thread.
  private final Queue<String> problems = new ConcurrentLinkedQueue<>();

  // Follower state: confined to the follower's inbox callback (one connection, one I/O thread).
  private long nextOffset;
  private final CRC32C received = new CRC32C();
  private long lastIndex;

  @BeforeEach
  void start() throws Exception {
    leader = NettyTransport.builder().clusterId("stream").bindAddress("127.0.0.1", 0).build();
    follower = NettyTransport.builder().clusterId("stream").bindAddress("127.0.0.1", 0).build();
    leader.start("leader", m -> acks.add(m));
    follower.start("follower", this::onFollower);
    List<Member> members =
        List.of(
            Member.of("leader", "127.0.0.1:" + leader.localAddress().getPort()),
            Member.of("follower", "127.0.0.1:" + follower.localAddress().getPort()));
    leader.updateMembers(members);
    follower.updateMembers(members);
  }

  @AfterEach
  void stop() {
    leader.close();
    follower.close();
  }

  private void onFollower(RaftMessage m) {
    if (m instanceof InstallSnapshot c) {
      if (c.offset() != nextOffset) {
        problems.add("chunk at " + c.offset() + ", expected " + nextOffset);
      }
      received.update(c.data().duplicate());
      nextOffset = c.offset() + c.data().remaining();
      boolean ok = !c.done() || (int) received.getValue() == c.checksum();
      if (!ok) {
        problems.add("snapshot checksum mismatch");
      }
      follower.send(
          new InstallSnapshotResponse(
              "follower", "leader", c.term(), c.snapshotIndex(), nextOffset, c.done() && ok, !ok));
    } else if (m instanceof AppendEntries ae) {
      if (ae.prevLogIndex() != lastIndex) {
        problems.add("AppendEntries after " + ae.prevLogIndex() + ", expected " + lastIndex);
      }
      for (LogEntry e : ae.entries()) {
        if (!e.payload().equals(payload(e.index(), e.payload().remaining()))) {
          problems.add("entry " + e.index() + " corrupted");
        }
      }
      lastIndex = ae.lastIndex();
      follower.send(
          new AppendEntriesResponse("follower", "leader", ae.term(), true, lastIndex, 0, 0, 0));
    }
    follower.flush();
  }

  @Test
  void streamsASnapshotInChunksInOrderAndIntact() throws Exception {
    int mib = Integer.getInteger("flotilla.stream.mib", 64);
    int chunk = 256 * 1024;
    long total = (long) mib * 1024 * 1024;
    byte[] data = new byte[chunk];
    CRC32C crc = new CRC32C();
    // The snapshot is chunks of the same pseudo-random block, each with its offset stamped in.
    List<ByteBuffer> chunks = new ArrayList<>();
    new Random(1).nextBytes(data);
    for (long off = 0; off < total; off += chunk) {
      ByteBuffer b = ByteBuffer.wrap(data.clone());
      b.putLong(0, off);
      crc.update(b.duplicate());
      chunks.add(b.asReadOnlyBuffer());
    }
    int checksum = (int) crc.getValue();
    Configuration conf =
        Configuration.ofVoters(List.of(Member.of("leader"), Member.of("follower")));

    int sent = 0;
    int inFlight = 0;
    long acked = 0;
    long start = System.nanoTime();
    while (acked < total) {
      while (inFlight < WINDOW && sent < chunks.size()) {
        long offset = (long) sent * chunk;
        boolean done = sent == chunks.size() - 1;
        leader.send(
            new InstallSnapshot(
                "leader",
                "follower",
                3,
                5000,
                2,
                conf,
                total,
                checksum,
                offset,
                chunks.get(sent),
                done));
        sent++;
        inFlight++;
      }
      leader.flush();
      InstallSnapshotResponse r = (InstallSnapshotResponse) acks.poll(30, TimeUnit.SECONDS);
      assertThat(r).as("an acknowledgement within 30 s").isNotNull();
      assertThat(r.rejected()).as("rejected: %s", problems).isFalse();
      assertThat(r.nextOffset()).isEqualTo(acked + chunk);
      acked = r.nextOffset();
      inFlight--;
      if (acked == total) {
        assertThat(r.done()).isTrue();
      }
    }
    assertThat(problems).isEmpty();
    assertThat(leader.droppedMessages()).isZero();
    System.out.printf(
        "StreamingIntegrationTest: %d MiB snapshot in %d chunks, %d ms%n",
        mib, chunks.size(), (System.nanoTime() - start) / 1_000_000);
  }

  @Test
  void streamsLargeAppendEntriesInOrderAndIntact() throws Exception {
    int messages = 200;
    int entries = 64;
    int size = 2048;
    long index = 0;
    int inFlight = 0;
    int sent = 0;
    long acked = 0;
    while (acked < (long) messages * entries) {
      while (inFlight < WINDOW && sent < messages) {
        List<LogEntry> batch = new ArrayList<>(entries);
        for (int i = 1; i <= entries; i++) {
          batch.add(new LogEntry(index + i, 1, EntryType.COMMAND, payload(index + i, size)));
        }
        leader.send(
            new AppendEntries("leader", "follower", 1, index, index == 0 ? 0 : 1, 0, batch));
        index += entries;
        sent++;
        inFlight++;
      }
      leader.flush();
      AppendEntriesResponse r = (AppendEntriesResponse) acks.poll(30, TimeUnit.SECONDS);
      assertThat(r).as("an acknowledgement within 30 s").isNotNull();
      assertThat(r.matchIndex()).as("problems: %s", problems).isEqualTo(acked + entries);
      acked = r.matchIndex();
      inFlight--;
    }
    assertThat(problems).isEmpty();
    assertThat(leader.droppedMessages()).isZero();
  }

  private static ByteBuffer payload(long index, int size) {
    ByteBuffer b = ByteBuffer.allocate(size);
    long x = index * 0x9E3779B97F4A7C15L;
    while (b.remaining() >= 8) {
      x ^= x << 13;
      x ^= x >>> 7;
      x ^= x << 17;
      b.putLong(x);
    }
    return b.flip().asReadOnlyBuffer();
  }
}
