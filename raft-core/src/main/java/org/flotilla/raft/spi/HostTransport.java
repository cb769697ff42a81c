package org.flotilla.raft.spi;

/**
 * A transport shared by every group of a {@code RaftHost}: one connection (or link) per remote host
 * whatever the number of groups, each message tagged with its group's id.
 *
 * <p>{@link #group(String)} returns a {@link Transport} for one group, which the group's node uses
 * as it would a transport of its own: it starts it with the host's member id and its inbox, tells
 * it its members, sends and flushes through it, and closes it when the node stops. Closing a
 * group's transport removes only that group; the connections stay for the others. Messages that
 * arrive for a group this host does not run (being created, or removed) are dropped and counted.
 *
 * <p>Every group of one host has the same member id, the host's; a remote member id names a host,
 * and has one address in every group that names it.
 *
 * <p>Threading: {@link #group(String)} from any thread; each group's transport as {@link Transport}
 * says, from its node's event loop, so several groups' transports are called at once from the
 * host's several event-loop threads.
 */
public interface HostTransport extends AutoCloseable {

  /**
   * The group, reserved on every host transport, on which a {@code RaftHost} whose groups quiesce
   * sends each remote host one liveness message per heartbeat interval (docs/architecture.md,
   * "Quiescence"). A host asks for it with {@link #group(String)} like any group; no user group may
   * have this id.
   */
  String LIVENESS_GROUP = "_liveness";

  /**
   * Starts the shared transport for the host: binds, if it listens. Called once, by the host,
   * before any group's transport starts. The default does nothing.
   *
   * @param hostId the host's member id, every group's local member id
   * @throws java.io.IOException if the transport cannot start (for example its port is taken)
   */
  default void start(String hostId) throws java.io.IOException {}

  /**
   * Returns a new transport for one group, not started. At most one of a group's transports is
   * started at a time.
   *
   * @param groupId the group's id
   * @return the group's transport
   */
  Transport group(String groupId);

  /** Stops the shared transport: its connections, threads and every group's transport. */
  @Override
  void close();
}
