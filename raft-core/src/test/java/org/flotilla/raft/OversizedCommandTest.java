package org.flotilla.raft;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Collection;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.flotilla.raft.cluster.Member;
import org.flotilla.raft.memory.MemoryLogStore;
import org.flotilla.raft.memory.MemoryMetaStore;
import org.flotilla.raft.memory.MemoryNetwork;
import org.flotilla.raft.memory.MemorySnapshotStore;
import org.flotilla.raft.memory.MemoryTransport;
import org.flotilla.raft.message.CommandEnvelope;
import org.flotilla.raft.message.EntryType;
import org.flotilla.raft.message.ForwardRequest;
import org.flotilla.raft.message.ForwardResponse;
import org.flotilla.raft.message.LogEntry;
import org.flotilla.raft.message.RaftMessage;
import org.flotilla.raft.spi.HardState;
import org.flotilla.raft.spi.PeerStats;
import org.flotilla.raft.spi.Transport;
import org.flotilla.raft.testkit.TestCluster;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Commands too large for one message are refused before they are proposed, a node does not build
 * with a message size its transport cannot carry, and a message the transport can never send stops
 * the member instead of being re-sent for ever (issue 14, item 4).
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class OversizedCommandTest {

  private static final Duration WAIT = Duration.ofSeconds(20);
  private static final int MAX_MESSAGE = 64 * 1024;

  private final MemoryNetwork network = MemoryNetwork.create();
  private TestCluster cluster;

  @AfterEach
  void close() {
    if (cluster != null) {
      cluster.close();
    }
    network.close();
  }

  private static RaftOptions smallMessages() {
    return TestCluster.fastOptions()
        .maxMessageBytes(MAX_MESSAGE)
        .maxAppendBytes(16 * 1024)
        .snapshotChunkBytes(16 * 1024)
        .build();
  }

  private TestCluster cluster(RaftOptions options) {
    cluster =
        new TestCluster(
            Member::of,
            id -> new LimitedTransport(network.transport(), MAX_MESSAGE),
            id -> new TestCluster.MemoryStores(),
            options);
    return cluster;
  }

  private static <T> T join(CompletableFuture<T> f) {
    try {
      return f.get(30, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    } catch (ExecutionException | TimeoutException e) {
      throw new CompletionException(e);
    }
  }

  private static Throwable failure(CompletableFuture<?> f) {
    try {
      f.get(10, TimeUnit.SECONDS);
    } catch (ExecutionException e) {
      return e.getCause();
    } catch (InterruptedException | TimeoutException e) {
      throw new AssertionError("the future did not fail within 10 s", e);
    }
    throw new AssertionError("the future completed normally");
  }

  private static ByteBuffer command(int bytes) {
    return ByteBuffer.wrap(("Pk=" + "x".repeat(bytes - 3)).getBytes(StandardCharsets.UTF_8));
  }

  @Test
  void aCommandTooLargeForOneMessageIsRefusedAndTheGroupKeepsCommitting() {
    RaftOptions options = smallMessages();
    TestCluster c = cluster(options).start("n1", "n2", "n3");
    RaftNode leader = c.awaitLeader(WAIT);
    RaftNode follower = c.nodes().values().stream().filter(n -> n != leader).findFirst().get();
    long before = join(leader.submit(TestCluster.put("a", "1"))).index();

    int tooLarge = options.maxEntryBytes() + 1;
    for (RaftNode n : List.of(leader, follower)) {
      Throwable e = failure(n.submit(command(tooLarge)));
      assertThat(e)
          .as("on %s", n.id())
          .isInstanceOf(CommandTooLargeException.class)
          .isInstanceOf(CommandRejectedException.class)
          .hasMessageContaining(String.valueOf(options.maxEntryBytes()))
          .hasMessageContaining("not proposed");
      assertThat(((CommandTooLargeException) e).size()).isGreaterThan(tooLarge);
      assertThat(((CommandTooLargeException) e).limit()).isEqualTo(options.maxEntryBytes());
    }
    // With a session, the header counts too: a command that fits alone is refused with it.
    int fitsAlone = options.maxEntryBytes() - 16;
    assertThat(failure(leader.submit("client-" + "c".repeat(200), 1, command(fitsAlone))))
        .isInstanceOf(CommandTooLargeException.class);

    // Nothing was proposed, the group keeps committing, and the largest entry that fits is
    // replicated to every member.
    Result next = join(leader.submit(TestCluster.put("b", "2")));
    assertThat(next.index()).isEqualTo(before + 1);
    Result largest = join(leader.submit(command(options.maxEntryBytes() - 64)));
    assertThat(largest.index()).isEqualTo(before + 2);
    join(leader.submit(TestCluster.put("c", "3")));
    for (String id : List.of("n1", "n2", "n3")) {
      TestCluster.await(id + " applies", WAIT, () -> "3".equals(c.machine(id).value("c")));
      assertThat(c.node(id).isRunning()).isTrue();
    }
  }

  @Test
  void aFollowerThatForwardsRefusesATooLargeCommandBeforeForwardingIt() {
    RaftOptions options = smallMessages().toBuilder().forwardToLeader(true).build();
    TestCluster c = cluster(options).start("n1", "n2", "n3");
    RaftNode leader = c.awaitLeader(WAIT);
    RaftNode follower = c.nodes().values().stream().filter(n -> n != leader).findFirst().get();
    TestCluster.await(
        follower.id() + " knows the leader", WAIT, () -> follower.leader().isPresent());

    assertThat(failure(follower.submit(command(options.maxEntryBytes() + 1))))
        .isInstanceOf(CommandTooLargeException.class);
    assertThat(join(follower.submit(TestCluster.put("f", "1"))).index()).isPositive();
  }

  /** The leader checks forwarded commands itself: the follower's limit may be higher than its. */
  @Test
  void theLeaderRefusesAForwardedCommandAboveItsLimit() throws Exception {
    TestCluster c = cluster(smallMessages());
    List<Member> voters = List.of(Member.of("n1"), Member.of("n2"), Member.of("n3"));
    c.startNode("n1", voters);
    c.startNode("n2", voters);
    BlockingQueue<RaftMessage> toN3 = new ArrayBlockingQueue<>(100_000);
    MemoryTransport n3 = network.transport();
    n3.start("n3", toN3::offer);
    n3.updateMembers(voters);
    RaftNode leader = c.awaitLeader(WAIT);
    long before = join(leader.submit(TestCluster.put("a", "1"))).index();

    // A well-formed envelope (no session) around a command above the leader's limit.
    ByteBuffer envelope =
        CommandEnvelope.encode(null, 0, ByteBuffer.allocate(smallMessages().maxEntryBytes() + 100));
    n3.send(new ForwardRequest("n3", leader.id(), leader.status().term(), 77, envelope));
    ForwardResponse answer = null;
    long deadline = System.nanoTime() + WAIT.toNanos();
    while (answer == null && System.nanoTime() < deadline) {
      RaftMessage m = toN3.poll(100, TimeUnit.MILLISECONDS);
      if (m instanceof ForwardResponse r && r.requestId() == 77) {
        answer = r;
      }
    }
    assertThat(answer).as("the leader's answer to n3").isNotNull();
    assertThat(answer.status()).isEqualTo(ForwardResponse.Status.REJECTED);
    assertThat(answer.error()).contains("forwarded by n3", "larger than the largest entry");
    assertThat(join(leader.submit(TestCluster.put("b", "2"))).index()).isEqualTo(before + 1);
    n3.close();
  }

  @Test
  void theBuilderRefusesAMessageSizeAboveTheTransportsLimit() {
    RaftNode.Builder b =
        RaftNode.builder()
            .id("n1")
            .members(List.of(Member.of("n1")))
            .stateMachine(new TestCluster.KvStateMachine(false))
            .transport(new LimitedTransport(network.transport(), 1 << 20))
            .logStore(new MemoryLogStore())
            .metaStore(new MemoryMetaStore())
            .snapshotStore(new MemorySnapshotStore());
    assertThatThrownBy(b::build)
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("maxMessageBytes (" + (16 << 20) + " bytes")
        .hasMessageContaining("(" + (1 << 20) + " bytes, its maxMessageBytes())");
    // At the transport's limit it builds.
    RaftOptions fits =
        RaftOptions.builder()
            .maxMessageBytes(1 << 20)
            .maxAppendBytes(256 << 10)
            .snapshotChunkBytes(256 << 10)
            .build();
    b.options(fits).build().close();
  }

  @Test
  void optionsRefuseBatchesAndChunksThatCouldOutgrowAMessage() {
    assertThatThrownBy(() -> RaftOptions.builder().maxMessageBytes(1 << 20).build())
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("maxAppendBytes (" + (1 << 20) + ")")
        .hasMessageContaining("maxMessageBytes (" + (1 << 20) + ")");
    assertThatThrownBy(
            () ->
                RaftOptions.builder()
                    .maxMessageBytes(1 << 20)
                    .maxAppendBytes(4096)
                    .snapshotChunkBytes(1 << 20)
                    .build())
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("snapshotChunkBytes");
    assertThatThrownBy(() -> RaftOptions.builder().maxMessageBytes(1000).build())
        .hasMessageContaining("maxMessageBytes must be in");
    assertThat(RaftOptions.defaults().maxEntryBytes())
        .isEqualTo((16 << 20) - RaftOptions.MESSAGE_OVERHEAD_BYTES);
  }

  /**
   * A leader whose log holds an entry no message can carry (written before the limit existed, or
   * under a larger one) does not re-send it for ever: the transport reports it unsendable and the
   * member stops with a fatal error that names the message.
   */
  @Test
  void aMessageTheTransportCanNeverSendStopsTheMemberInsteadOfLooping() {
    List<Member> voters = List.of(Member.of("n1"), Member.of("n2"));
    MemoryLogStore log = new MemoryLogStore();
    log.append(
        List.of(new LogEntry(1, 1, EntryType.COMMAND, ByteBuffer.allocate(MAX_MESSAGE * 2))));
    MemoryMetaStore meta = new MemoryMetaStore();
    meta.save(new HardState(1, ""));
    AtomicReference<Throwable> fatal = new AtomicReference<>();
    LimitedTransport t1 = new LimitedTransport(network.transport(), MAX_MESSAGE);
    RaftNode n1 =
        RaftNode.builder()
            .id("n1")
            .members(voters)
            .stateMachine(new TestCluster.KvStateMachine(false))
            .transport(t1)
            .logStore(log)
            .metaStore(meta)
            .snapshotStore(new MemorySnapshotStore())
            .options(smallMessages())
            .listener(
                new RaftListener() {
                  @Override
                  public void onFatalError(Throwable cause) {
                    fatal.set(cause);
                  }
                })
            .build();
    cluster = cluster(smallMessages());
    try (n1) {
      n1.start();
      // n2 has an empty log: only n1 can win an election, and it must send n2 the big entry.
      cluster.startNode("n2", voters);
      TestCluster.await("n1 stops on the unsendable message", WAIT, () -> !n1.isRunning());
      TestCluster.await("the fatal error is reported", WAIT, () -> fatal.get() != null);
      assertThat(fatal.get())
          .hasMessageContaining("cannot send a AppendEntries to n2")
          .hasMessageContaining("larger than " + MAX_MESSAGE);
      assertThat(t1.unsendable.get()).as("reports before the member stopped").isLessThan(10);
      assertThat(failure(n1.submit(TestCluster.put("a", "1"))))
          .isInstanceOf(NodeStoppedException.class);
    }
  }

  /**
   * An in-memory transport that carries messages up to a size, as a framed transport would, and
   * reports larger ones as unsendable.
   */
  static final class LimitedTransport implements Transport {
    private final Transport delegate;
    private final int limit;
    private volatile Inbox inbox;
    final AtomicInteger unsendable = new AtomicInteger();

    LimitedTransport(Transport delegate, int limit) {
      this.delegate = delegate;
      this.limit = limit;
    }

    @Override
    public void start(String localId, Inbox in) throws IOException {
      this.inbox = in;
      delegate.start(localId, in);
    }

    @Override
    public void updateMembers(Collection<Member> members) {
      delegate.updateMembers(members);
    }

    @Override
    public void send(RaftMessage message) {
      if (message.sizeInBytes() > limit) {
        unsendable.incrementAndGet();
        inbox.unsendable(
            message, message.sizeInBytes() + " bytes is larger than " + limit + " bytes");
        return;
      }
      delegate.send(message);
    }

    @Override
    public void flush() {
      delegate.flush();
    }

    @Override
    public int maxMessageBytes() {
      return limit;
    }

    @Override
    public List<PeerStats> peerStats() {
      return delegate.peerStats();
    }

    @Override
    public void close() {
      delegate.close();
    }
  }
}
