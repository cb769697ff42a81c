package org.flotilla.raft.sim;

/**
 * One client operation as the simulator recorded it.
 *
 * @param client the client
 * @param key the register
 * @param kind what it did
 * @param input the value written, or the expected value of a CAS
 * @param input2 the new value of a CAS
 * @param output the value read, the previous value of a PUT, or 1/0 for a CAS
 * @param invokedAt when the client sent it
 * @param completedAt when the client got the answer or gave up
 * @param outcome the answer
 */
record OpRecord(
    int client,
    String key,
    Kind kind,
    long input,
    long input2,
    long output,
    long invokedAt,
    long completedAt,
    Outcome outcome) {

  enum Kind {
    PUT,
    CAS,
    GET
  }

  enum Outcome {
    OK,
    FAILED,
    UNKNOWN
  }

  static Builder builder(int client, String key, Kind kind) {
    return new Builder(client, key, kind);
  }

  /** Collects an operation's fields as it runs. Not thread-safe. */
  static final class Builder {
    private final int client;
    private final String key;
    private final Kind kind;
    private long input;
    private long input2;
    private long invokedAt;
    private long completedAt;

    private Builder(int client, String key, Kind kind) {
      this.client = client;
      this.key = key;
      this.kind = kind;
    }

    Kind kind() {
      return kind;
    }

    Builder input(long value) {
      input = value;
      return this;
    }

    Builder input2(long value) {
      input2 = value;
      return this;
    }

    Builder invokedAt(long time) {
      invokedAt = time;
      return this;
    }

    Builder completedAt(long time) {
      completedAt = time;
      return this;
    }

    OpRecord ok(long output) {
      return build(output, Outcome.OK);
    }

    OpRecord failed() {
      return build(0, Outcome.FAILED);
    }

    OpRecord unknown() {
      return build(0, Outcome.UNKNOWN);
    }

    private OpRecord build(long output, Outcome outcome) {
      return new OpRecord(
          client, key, kind, input, input2, output, invokedAt, completedAt, outcome);
    }
  }
}
