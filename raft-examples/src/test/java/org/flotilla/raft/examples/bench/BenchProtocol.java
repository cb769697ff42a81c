package org.flotilla.raft.examples.bench;

import java.util.concurrent.ThreadLocalRandom;

/**
 * The benchmark's binary client protocol and the workload's data (WORKLOAD.md).
 *
 * <p>Every frame is a 4-byte big-endian length, then the body. A request body is an 8-byte request
 * id, a one-byte opcode and the operation's bytes; a reply body is the request's id, a one-byte
 * status and the result's bytes (the value for a GET, an error message for a failure).
 */
public final class BenchProtocol {

  private BenchProtocol() {}

  /** PUT: 16-byte key, then the value. */
  public static final byte OP_PUT = 'P';

  /** Linearizable GET: 16-byte key. */
  public static final byte OP_GET = 'G';

  /** Does this member lead? The reply is one byte, 1 if it does. */
  public static final byte OP_IS_LEADER = 'L';

  /** Heap use: one byte, 1 to reset the peak; the reply is the peak and current heap bytes. */
  public static final byte OP_HEAP = 'M';

  /** Multi-group: a text line "started S leaders L leading M quiesced Q" about this member. */
  public static final byte OP_STATUS = 'S';

  /** Multi-group: the groups this member leads, as text: their numbers, comma-separated. */
  public static final byte OP_LEADS = 'D';

  /**
   * Multi-group: the member hands each group it leads to member {@code g mod 3}; the reply is
   * "done/asked" once every transfer ended.
   */
  public static final byte OP_TRANSFER = 'T';

  /** Multi-group: one PUT to every group the member leads; the reply comes once all are done. */
  public static final byte OP_PUT_GROUP = 'U';

  /** Live heap after a full collection: the reply is the used heap bytes (8 bytes). */
  public static final byte OP_GC_HEAP = 'C';

  /** The reply's status for success. */
  public static final byte STATUS_OK = 0;

  /** The reply's status for a failure; the body is the error's text. */
  public static final byte STATUS_ERROR = 1;

  /** Keys are drawn uniformly from [0, KEY_SPACE). */
  public static final int KEY_SPACE = 100_000;

  /** A key's length in bytes. */
  public static final int KEY_BYTES = 16;

  /** A value's length in bytes. */
  public static final int VALUE_BYTES = 128;

  /**
   * Returns the number of a key written by {@link #randomKey}.
   *
   * @param key the key's bytes
   * @return its number
   */
  public static int keyNumber(byte[] key) {
    int n = 0;
    for (int i = 1; i < KEY_BYTES; i++) {
      n = n * 10 + (key[i] - '0');
    }
    return n;
  }

  /**
   * Writes a random key: ASCII {@code k} then the 15-digit zero-padded decimal of a uniform random
   * integer in [0, 100000).
   *
   * @param dst where to write it
   * @param off the offset of its first byte
   * @return the key's number
   */
  public static int randomKey(byte[] dst, int off) {
    int k = ThreadLocalRandom.current().nextInt(KEY_SPACE);
    int number = k;
    dst[off] = 'k';
    for (int i = KEY_BYTES - 1; i >= 1; i--) {
      dst[off + i] = (byte) ('0' + (k % 10));
      k /= 10;
    }
    return number;
  }
}
