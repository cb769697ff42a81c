package org.flotilla.raft.examples.embedding;

import static java.util.concurrent.CompletableFuture.delayedExecutor;
import static java.util.concurrent.TimeUnit.MILLISECONDS;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.flotilla.raft.OverloadedException;
import org.flotilla.raft.RaftNode;
import org.flotilla.raft.RaftOptions;
import org.flotilla.raft.ReadConsistency;
import org.flotilla.raft.Result;
import org.flotilla.raft.cluster.Member;
import org.flotilla.raft.storage.FileLogStore;
import org.flotilla.raft.storage.FileMetaStore;
import org.flotilla.raft.storage.FileSnapshotStore;
import org.flotilla.raft.transport.netty.NettyTransport;

/** A replicated {@link Counter}: one member of its Raft group. Thread-safe. */
public final class CounterService implements AutoCloseable {
  private final RaftNode node;

  /**
   * Opens the stores in {@code dir} and starts this member.
   *
   * @param self this member; it listens on its address, {@code host:port}
   * @param voters a new group's voters (self included), or none to join a running group
   * @param dir the member's own directory
   * @param options the Raft options
   * @throws IOException if a store cannot be opened
   */
  public CounterService(Member self, List<Member> voters, Path dir, RaftOptions options)
      throws IOException {
    String[] hostPort = self.address().split(":", 2);
    RaftNode.Builder b = RaftNode.builder().id(self.id());
    node =
        (voters.isEmpty() ? b.join() : b.bootstrap(voters)) // stored at the first start
            .stateMachine(new Counter())
            .transport(
                NettyTransport.builder()
                    .clusterId("counter")
                    .bindAddress(hostPort[0], Integer.parseInt(hostPort[1]))
                    .acceptNonMembers(true) // a joining member knows no leader yet
                    .adminRequests(true) // `flotilla --cluster-id counter status -m HOST:PORT`
                    .build())
            .logStore(FileLogStore.open(dir.resolve("log"), FileLogStore.Options.defaults()))
            .metaStore(FileMetaStore.open(dir.resolve("meta")))
            .snapshotStore(FileSnapshotStore.open(dir.resolve("snapshots"), 2))
            .options(options)
            .build();
    node.start();
  }

  /**
   * Adds to the counter, once per {@code (clientId, sequence)}; retries overload with backoff.
   *
   * @param clientId the client's id
   * @param sequence increases per command; a retry after an unknown outcome reuses it
   * @param delta what to add
   * @return the counter after the addition; fails with {@code NotLeaderException} on a follower
   */
  public CompletableFuture<Long> add(String clientId, long sequence, long delta) {
    ByteBuffer command = ByteBuffer.allocate(8).putLong(0, delta);
    return submit(clientId, sequence, command, 0).thenApply(r -> r.value().getLong(0));
  }

  private CompletableFuture<Result> submit(String client, long seq, ByteBuffer cmd, int attempt) {
    return node.submit(client, seq, cmd)
        .exceptionallyCompose(
            e ->
                e instanceof OverloadedException && attempt < 8 // not proposed: retry later
                    ? CompletableFuture.supplyAsync(
                            () -> cmd, delayedExecutor(5L << attempt, MILLISECONDS))
                        .thenCompose(c -> submit(client, seq, c, attempt + 1))
                    : CompletableFuture.failedFuture(e));
  }

  /**
   * {@return the counter's value}
   *
   * @param consistency how fresh the value must be
   */
  public CompletableFuture<Long> get(ReadConsistency consistency) {
    return node.read(ByteBuffer.allocate(0), consistency).thenApply(r -> r.value().getLong(0));
  }

  RaftNode node() { // for the test: status, snapshots, membership changes
    return node;
  }

  /** Stops the member: its pending futures fail with {@code NodeStoppedException}. */
  @Override
  public void close() {
    node.close();
  }
}
