package org.flotilla.raft.transport.netty;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.flotilla.raft.RaftListener;
import org.flotilla.raft.RaftNode;
import org.flotilla.raft.RaftOptions;
import org.flotilla.raft.cluster.Member;
import org.flotilla.raft.memory.MemoryLogStore;
import org.flotilla.raft.memory.MemoryMetaStore;
import org.flotilla.raft.memory.MemorySnapshotStore;
import org.flotilla.raft.message.AppendEntries;
import org.flotilla.raft.message.EntryType;
import org.flotilla.raft.message.Heartbeat;
import org.flotilla.raft.message.LogEntry;
import org.flotilla.raft.message.RaftMessage;
import org.flotilla.raft.spi.HardState;
import org.flotilla.raft.spi.Transport;
import org.flotilla.raft.testkit.TestCluster;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A message larger than the frame limit is reported to the node instead of being dropped in
 * silence, a node does not build with messages larger than the frames, and a leader with an entry
 * no frame can carry stops instead of re-sending it for ever (issue 14, item 4).
 */
@Timeout(60)
class NettyOversizedMessageTest {

  private static final int FRAME = 64 * 1024;

  private static final Duration WAIT = Duration.ofSeconds(20);

  /** The node's side of a transport: what arrived and what was reported unsendable. */
  private static final class RecordingInbox implements Transport.Inbox {
    final BlockingQueue<RaftMessage> received = new ArrayBlockingQueue<>(1000);
    final BlockingQueue<String> unsendable = new ArrayBlockingQueue<>(1000);

    @Override
    public void receive(RaftMessage message) {
      received.add(message);
    }

    @Override
    public void unsendable(RaftMessage message, String reason) {
      unsendable.add(message.getClass().getSimpleName() + " to " + message.to() + ": " + reason);
    }
  }

  private static AppendEntries appendOf(int payloadBytes) {
    return new AppendEntries(
        "a",
        "b",
        1,
        0,
        0,
        0,
        List.of(new LogEntry(1, 1, EntryType.COMMAND, ByteBuffer.allocate(payloadBytes))));
  }

  private static void sendTooLargeThenSmall(NettyTransport.Builder builderOfA, String reason)
      throws Exception {
    RecordingInbox atA = new RecordingInbox();
    RecordingInbox atB = new RecordingInbox();
    try (NettyTransport a = builderOfA.build();
        NettyTransport b = NettyTransportConformanceTest.loopback(0).maxFrameSize(FRAME).build()) {
      assertThat(a.maxMessageBytes()).isEqualTo(FRAME);
      a.start("a", atA);
      b.start("b", atB);
      List<Member> members =
          List.of(
              Member.of("a", "127.0.0.1:" + a.localAddress().getPort()),
              Member.of("b", "127.0.0.1:" + b.localAddress().getPort()));
      a.updateMembers(members);
      b.updateMembers(members);

      a.send(appendOf(FRAME + 1000));
      a.send(new Heartbeat("a", "b", 1, 0, 7));
      a.flush();

      assertThat(atA.unsendable.poll(20, TimeUnit.SECONDS))
          .as("the report of the oversized AppendEntries")
          .startsWith("AppendEntries to b: ")
          .contains(reason);
      // The heartbeat sent after it arrives, and the AppendEntries never did.
      assertThat(atB.received.poll(20, TimeUnit.SECONDS))
          .isEqualTo(new Heartbeat("a", "b", 1, 0, 7));
      assertThat(atB.received).isEmpty();
      assertThat(atA.unsendable).isEmpty();
      assertThat(a.droppedMessages()).isEqualTo(1);
    }
  }

  @Test
  void aMessageAboveTheFrameLimitIsReportedAsUnsendable() throws Exception {
    sendTooLargeThenSmall(
        NettyTransportConformanceTest.loopback(0).maxFrameSize(FRAME),
        "larger than the maximum frame size of " + FRAME + " bytes");
  }

  @Test
  void aMessageAboveThePeerQueuesBoundIsReportedAsUnsendable() throws Exception {
    sendTooLargeThenSmall(
        NettyTransportConformanceTest.loopback(0).maxFrameSize(FRAME).maxQueued(16, FRAME),
        "bound of " + FRAME + " bytes queued for one peer");
  }

  @Test
  void aNodeDoesNotBuildWithMessagesLargerThanTheTransportsFrames() {
    try (NettyTransport t = NettyClusterTest.transport(0).maxFrameSize(1 << 20).build()) {
      assertThatThrownBy(
              () ->
                  RaftNode.builder()
                      .id("n1")
                      .members(List.of(Member.of("n1", "127.0.0.1:1")))
                      .stateMachine(new TestCluster.KvStateMachine(false))
                      .transport(t)
                      .logStore(new MemoryLogStore())
                      .metaStore(new MemoryMetaStore())
                      .snapshotStore(new MemorySnapshotStore())
                      .build())
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("maxMessageBytes (" + (16 << 20) + " bytes")
          .hasMessageContaining("(" + (1 << 20) + " bytes, its maxMessageBytes())")
          .hasMessageContaining("maxFrameSize");
    }
  }

  /**
   * The log of n1 holds an entry larger than any frame (written under a larger limit, or before
   * limits were checked). As leader it must send it to n2; the transport drops it, and n1 used to
   * re-send it about 45 times a second for ever while every write timed out. Now it stops with a
   * fatal error naming the message.
   */
  @Test
  void aLeaderWithAnEntryNoFrameCanCarryStopsInsteadOfResendingItForEver() throws Exception {
    int p1 = NettyClusterTest.freePort();
    int p2 = NettyClusterTest.freePort();
    List<Member> voters =
        List.of(Member.of("n1", "127.0.0.1:" + p1), Member.of("n2", "127.0.0.1:" + p2));
    RaftOptions options =
        TestCluster.fastOptions()
            .maxMessageBytes(FRAME)
            .maxAppendBytes(16 * 1024)
            .snapshotChunkBytes(16 * 1024)
            .build();
    MemoryLogStore log = new MemoryLogStore();
    log.append(List.of(new LogEntry(1, 1, EntryType.COMMAND, ByteBuffer.allocate(2 * FRAME))));
    MemoryMetaStore meta = new MemoryMetaStore();
    meta.save(new HardState(1, ""));
    AtomicReference<Throwable> fatal = new AtomicReference<>();
    NettyTransport t1 = NettyClusterTest.transport(p1).maxFrameSize(FRAME).build();
    try (RaftNode n1 =
            RaftNode.builder()
                .id("n1")
                .members(voters)
                .stateMachine(new TestCluster.KvStateMachine(false))
                .transport(t1)
                .logStore(log)
                .metaStore(meta)
                .snapshotStore(new MemorySnapshotStore())
                .options(options)
                .listener(
                    new RaftListener() {
                      @Override
                      public void onFatalError(Throwable cause) {
                        fatal.set(cause);
                      }
                    })
                .build();
        RaftNode n2 =
            RaftNode.builder()
                .id("n2")
                .members(voters)
                .stateMachine(new TestCluster.KvStateMachine(false))
                .transport(NettyClusterTest.transport(p2).maxFrameSize(FRAME).build())
                .logStore(new MemoryLogStore())
                .metaStore(new MemoryMetaStore())
                .snapshotStore(new MemorySnapshotStore())
                .options(options)
                .build()) {
      n1.start();
      n2.start();
      // Only n1 can win (its log is ahead of n2's), and then it must send the entry.
      TestCluster.await("n1 stops", WAIT, () -> !n1.isRunning());
      TestCluster.await("the fatal error is reported", WAIT, () -> fatal.get() != null);
      assertThat(fatal.get())
          .hasMessageContaining("cannot send a AppendEntries to n2")
          .hasMessageContaining("maximum frame size of " + FRAME);
      assertThat(t1.droppedMessages()).as("messages n1 dropped").isLessThan(20);
      assertThat(n2.isRunning()).isTrue();
    }
  }
}
