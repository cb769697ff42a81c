/**
 * Flotilla's network transport: Netty over TCP (optionally TLS), with protobuf frames. The
 * generated protobuf classes ({@code org.flotilla.raft.transport.netty.proto}) are not exported.
 *
 * <p>It requires protobuf-java by its automatic module name ({@code com.google.protobuf}): the jar
 * has no module descriptor. Netty's handler and transport modules are required transitively, as
 * {@code NettyTransport}'s builder takes an {@code SslContext} and {@code bindService} a channel
 * initializer.
 */
@SuppressWarnings("requires-automatic")
module org.flotilla.raft.transport.netty {
  requires transitive org.flotilla.raft;
  requires com.google.protobuf;
  requires io.netty.buffer;
  requires io.netty.codec;
  requires io.netty.common;
  requires transitive io.netty.handler;
  requires transitive io.netty.transport;
  requires io.netty.transport.classes.epoll;

  exports org.flotilla.raft.transport.netty;
}
