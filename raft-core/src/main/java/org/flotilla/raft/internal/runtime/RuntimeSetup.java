package org.flotilla.raft.internal.runtime;

import java.util.List;
import java.util.concurrent.Executor;
import org.flotilla.raft.RaftListener;
import org.flotilla.raft.RaftNode;
import org.flotilla.raft.RaftOptions;
import org.flotilla.raft.StateMachine;
import org.flotilla.raft.cluster.Member;
import org.flotilla.raft.spi.LogStore;
import org.flotilla.raft.spi.MetaStore;
import org.flotilla.raft.spi.RaftMetrics;
import org.flotilla.raft.spi.Scheduler;
import org.flotilla.raft.spi.SnapshotStore;
import org.flotilla.raft.spi.Transport;

/**
 * What a {@code RaftNode.Builder} gathered, handed to the runtime it builds: the builder has
 * checked every value (none is null but {@code members} and {@code listener}).
 *
 * @param node the node this runtime serves, for the transport's administrative requests
 * @param id this member's id
 * @param groupId the group's id
 * @param members the initial voters, or null when not given
 * @param learners the initial learners
 * @param join whether the member joins an existing group
 * @param stateMachine the user's state machine
 * @param transport the transport
 * @param logStore the log store
 * @param metaStore the term and vote store
 * @param snapshotStore the snapshot store
 * @param options the options
 * @param callbackExecutor where futures complete
 * @param listener a first listener, or null
 * @param scheduler the threads and clock
 * @param metrics the metrics sink
 * @param quiescence whether idle groups quiesce: only for a group of a {@code RaftHost}, whose
 *     host-level liveness wakes them when a peer's host fails
 */
public record RuntimeSetup(
    RaftNode node,
    String id,
    String groupId,
    List<Member> members,
    List<Member> learners,
    boolean join,
    StateMachine stateMachine,
    Transport transport,
    LogStore logStore,
    MetaStore metaStore,
    SnapshotStore snapshotStore,
    RaftOptions options,
    Executor callbackExecutor,
    RaftListener listener,
    Scheduler scheduler,
    RaftMetrics metrics,
    boolean quiescence) {}
