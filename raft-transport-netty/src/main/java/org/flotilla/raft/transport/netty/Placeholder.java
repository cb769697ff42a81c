package org.flotilla.raft.transport.netty;

/** Build probe. */
public final class Placeholder {
  private Placeholder() {}

  /**
   * Returns a probe message's value.
   *
   * @return the value
   */
  public static long probe() {
    return org.flotilla.raft.transport.netty.proto.Probe.newBuilder().setX(3).build().getX();
  }
}
