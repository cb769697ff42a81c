package org.flotilla.raft.sim;

import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import org.flotilla.raft.message.RaftMessage;

/**
 * The simulated network of a {@link RuntimeSimulation}: every message is an event of the virtual
 * scheduler after a random delay (so messages are reordered), some are lost or duplicated, and
 * links can be cut one way or both. While the run heals, nothing is lost and delays are short.
 *
 * <p>Not thread-safe: confined to the simulation's thread.
 */
final class SimNetwork {

  private static final long US = 1_000;

  private final VirtualScheduler scheduler;
  private final SplittableRandom random;
  private final Trace trace;
  private final List<SimServer> servers;
  private final boolean loss;
  private final boolean delays;
  // blocked[from][to]: messages from 'from' to 'to' are lost
  private final boolean[][] blocked;
  private boolean healed;

  SimNetwork(
      VirtualScheduler scheduler,
      SplittableRandom random,
      Trace trace,
      List<SimServer> servers,
      boolean loss,
      boolean delays) {
    this.scheduler = scheduler;
    this.random = random;
    this.trace = trace;
    this.servers = servers;
    this.loss = loss;
    this.delays = delays;
    this.blocked = new boolean[servers.size()][servers.size()];
  }

  void send(SimServer from, RaftMessage m) {
    SimServer to = byId(m.to());
    if (to == null) {
      trace.event("drop", m.from(), m.to());
      return;
    }
    if (loss && !healed && random.nextInt(100) < 2) {
      trace.event("drop", m.from(), m.to());
      return;
    }
    int copies = loss && !healed && random.nextInt(100) < 2 ? 2 : 1;
    for (int i = 0; i < copies; i++) {
      long delay;
      if (healed) {
        delay = 100 + random.nextLong(500);
      } else if (delays && random.nextInt(100) < 5) {
        delay = 1_000 + random.nextLong(40_000);
      } else {
        delay = 100 + random.nextLong(3_000);
      }
      scheduler.schedule(
          delay * US,
          () -> {
            if (blocked[from.index][to.index]) {
              trace.event("cut", m);
            } else {
              to.deliver(m);
            }
          });
    }
  }

  private SimServer byId(String id) {
    for (SimServer s : servers) {
      if (s.id.equals(id)) {
        return s;
      }
    }
    return null;
  }

  /** Cuts a new partition, of one of three shapes, replacing the one before. */
  String partition() {
    clear();
    int n = servers.size();
    if (n < 2) {
      return "none";
    }
    int a = random.nextInt(n);
    int shape = random.nextInt(3);
    String what;
    if (shape == 0) {
      // one member cut off from a random subset of the others, both ways
      for (int j = 0; j < n; j++) {
        if (j != a && random.nextBoolean()) {
          blocked[a][j] = true;
          blocked[j][a] = true;
        }
      }
      what = "isolate " + servers.get(a).id;
    } else if (shape == 1) {
      // one way: a's messages to b are lost, b's to a arrive
      int b = (a + 1 + random.nextInt(n - 1)) % n;
      blocked[a][b] = true;
      what = "one-way " + servers.get(a).id + "->" + servers.get(b).id;
    } else {
      // a bridge: two halves that cannot talk, and a member that talks to both
      for (int i = 0; i < n; i++) {
        for (int j = 0; j < n; j++) {
          if (i != a && j != a && (i % 2) != (j % 2)) {
            blocked[i][j] = true;
          }
        }
      }
      what = "bridge " + servers.get(a).id;
    }
    trace.event("partition", what, Arrays.deepToString(blocked));
    return what;
  }

  /** Heals every cut link. */
  void clear() {
    for (boolean[] row : blocked) {
      Arrays.fill(row, false);
    }
  }

  /** Stops losing messages and shortens delays, for the run's heal phase. */
  void heal() {
    clear();
    healed = true;
    trace.event("network-healed");
  }
}
