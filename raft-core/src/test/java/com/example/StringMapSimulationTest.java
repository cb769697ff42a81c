package com.example;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.flotilla.raft.StateMachine;
import org.flotilla.raft.sim.Model;
import org.flotilla.raft.sim.Operation;
import org.flotilla.raft.sim.RuntimeSimulation;
import org.flotilla.raft.sim.Workload;
import org.junit.jupiter.api.Test;

/** A user's state machine, a map of strings, tested in Flotilla's runtime simulator. */
class StringMapSimulationTest {

  static ByteBuffer bytes(String s) {
    return ByteBuffer.wrap(s.getBytes(StandardCharsets.UTF_8));
  }

  static String string(ByteBuffer b) {
    return StandardCharsets.UTF_8.decode(b.duplicate()).toString();
  }

  /** The state machine: "key=value" puts a value and answers the old one; "key" reads one. */
  static class StringMap implements StateMachine {
    Map<String, String> map = new HashMap<>();

    @Override
    public ByteBuffer apply(long index, ByteBuffer command) {
      String[] kv = string(command).split("=", 2);
      String old = map.put(kv[0], kv[1]);
      return bytes(old == null ? "" : old);
    }

    @Override
    public ByteBuffer query(ByteBuffer query) {
      return bytes(map.getOrDefault(string(query), ""));
    }

    @Override
    public Snapshot snapshot() {
      Map<String, String> copy = new HashMap<>(map);
      return out -> {
        DataOutputStream data = new DataOutputStream(out);
        data.writeInt(copy.size());
        for (Map.Entry<String, String> e : copy.entrySet()) {
          data.writeUTF(e.getKey());
          data.writeUTF(e.getValue());
        }
      };
    }

    @Override
    public void restore(long index, long term, InputStream in) throws IOException {
      DataInputStream data = new DataInputStream(in);
      map = new HashMap<>();
      for (int n = data.readInt(); n > 0; n--) {
        map.put(data.readUTF(), data.readUTF());
      }
    }
  }

  /** What clients do: put a new value under one of four keys, or read one (a third of the time). */
  static class StringMapWorkload implements Workload {
    int written;

    @Override
    public Request next(SplittableRandom random, int client) {
      String key = "k" + random.nextInt(4);
      if (random.nextInt(3) == 0) {
        return Request.query(key, "get", null, bytes(key), StringMapSimulationTest::string);
      }
      String value = "v" + ++written;
      return Request.command(
          key, "put", value, bytes(key + "=" + value), StringMapSimulationTest::string);
    }

    @Override
    public boolean uniqueCommands() {
      return true; // every value is new
    }
  }

  /** One key's sequential specification: its value ("" when absent), which a put replaces. */
  static class StringMapModel implements Model<String> {
    @Override
    public String init() {
      return "";
    }

    @Override
    public String step(String value, Operation op) {
      // a put answers the value it replaced, a get the value; an unknown outcome answers null
      if (op.output() != null && !op.output().equals(value)) {
        return null;
      }
      return op.kind().equals("put") ? (String) op.input() : value;
    }

    @Override
    public boolean isReadOnly(Operation op) {
      return op.kind().equals("get");
    }
  }

  static RuntimeSimulation.Builder simulation() {
    return RuntimeSimulation.builder()
        .stateMachine(StringMap::new)
        .workload(StringMapWorkload::new)
        .model(new StringMapModel());
  }

  @Test
  void theMapStaysCorrectUnderEveryFault() {
    // 10 seeds, each with its own mix of crashes, partitions, membership changes, ...;
    // -Dflotilla.sim.seed=S runs only seed S
    List<String> violations = simulation().runSeeds(1, 10);
    assertThat(violations).isEmpty();
  }

  @Test
  void aSeedReplaysExactly() {
    RuntimeSimulation first = simulation().seed(7).build();
    RuntimeSimulation again = simulation().seed(7).build();
    assertThat(first.run()).isEmpty();
    assertThat(again.run()).isEmpty();
    assertThat(again.traceDigest()).isEqualTo(first.traceDigest());
  }

  /** A bug to find: the snapshot forgets the map, so a member restored from one is wrong. */
  static class ForgetfulStringMap extends StringMap {
    @Override
    public Snapshot snapshot() {
      return out -> new DataOutputStream(out).writeInt(0);
    }
  }

  @Test
  void theSimulatorFindsABugInTheStateMachine() {
    List<String> violations = simulation().stateMachine(ForgetfulStringMap::new).runSeeds(1, 20);
    assertThat(violations).isNotEmpty();
    System.out.println(violations.get(0));
  }
}
