package org.flotilla.raft;

import java.time.Duration;

/**
 * The settings of a {@link RaftNode}, validated when built. Every setting has a default that suits
 * a cluster on one data centre's network; see each builder method for the range and when to change
 * it.
 *
 * <pre>{@code
 * RaftOptions options = RaftOptions.builder().electionTimeout(Duration.ofMillis(500)).build();
 * }</pre>
 *
 * <p>Immutable and thread-safe.
 */
public final class RaftOptions {

  /**
   * The bytes of every message kept free for what is not entry payload or snapshot data: the
   * transport's framing, the member and group ids, the message's own fields, and each entry's
   * index, term and type. 4 KiB; an AppendEntries with one entry needs about 400 bytes of it.
   */
  public static final int MESSAGE_OVERHEAD_BYTES = 4096;

  private final Duration tickInterval;
  private final Duration electionTimeout;
  private final Duration heartbeatInterval;
  private final Duration leaseDriftMargin;
  private final boolean preVote;
  private final boolean checkQuorum;
  private final int maxInflightAppends;
  private final int maxAppendBytes;
  private final int maxMessageBytes;
  private final int maxPendingProposals;
  private final long maxPendingBytes;
  private final int maxApplyBatchBytes;
  private final long snapshotThresholdEntries;
  private final long snapshotThresholdBytes;
  private final long snapshotTrailingEntries;
  private final int snapshotChunkBytes;
  private final Duration sessionTimeout;
  private final int maxSessions;
  private final boolean forwardToLeader;
  private final long autoPromoteLagEntries;
  private final int inboundQueueCapacity;

  private RaftOptions(Builder b) {
    this.tickInterval = b.tickInterval;
    this.electionTimeout = b.electionTimeout;
    this.heartbeatInterval = b.heartbeatInterval;
    this.leaseDriftMargin = b.leaseDriftMargin;
    this.preVote = b.preVote;
    this.checkQuorum = b.checkQuorum;
    this.maxInflightAppends = b.maxInflightAppends;
    this.maxAppendBytes = b.maxAppendBytes;
    this.maxMessageBytes = b.maxMessageBytes;
    this.maxPendingProposals = b.maxPendingProposals;
    this.maxPendingBytes = b.maxPendingBytes;
    this.maxApplyBatchBytes = b.maxApplyBatchBytes;
    this.snapshotThresholdEntries = b.snapshotThresholdEntries;
    this.snapshotThresholdBytes = b.snapshotThresholdBytes;
    this.snapshotTrailingEntries = b.snapshotTrailingEntries;
    this.snapshotChunkBytes = b.snapshotChunkBytes;
    this.sessionTimeout = b.sessionTimeout;
    this.maxSessions = b.maxSessions;
    this.forwardToLeader = b.forwardToLeader;
    this.autoPromoteLagEntries = b.autoPromoteLagEntries;
    this.inboundQueueCapacity = b.inboundQueueCapacity;
  }

  /** {@return the defaults} */
  public static RaftOptions defaults() {
    return builder().build();
  }

  /** {@return a builder starting from the defaults} */
  public static Builder builder() {
    return new Builder();
  }

  /** {@return a builder starting from these options} */
  public Builder toBuilder() {
    Builder b = new Builder();
    b.tickInterval = tickInterval;
    b.electionTimeout = electionTimeout;
    b.heartbeatInterval = heartbeatInterval;
    b.leaseDriftMargin = leaseDriftMargin;
    b.preVote = preVote;
    b.checkQuorum = checkQuorum;
    b.maxInflightAppends = maxInflightAppends;
    b.maxAppendBytes = maxAppendBytes;
    b.maxMessageBytes = maxMessageBytes;
    b.maxPendingProposals = maxPendingProposals;
    b.maxPendingBytes = maxPendingBytes;
    b.maxApplyBatchBytes = maxApplyBatchBytes;
    b.snapshotThresholdEntries = snapshotThresholdEntries;
    b.snapshotThresholdBytes = snapshotThresholdBytes;
    b.snapshotTrailingEntries = snapshotTrailingEntries;
    b.snapshotChunkBytes = snapshotChunkBytes;
    b.sessionTimeout = sessionTimeout;
    b.maxSessions = maxSessions;
    b.forwardToLeader = forwardToLeader;
    b.autoPromoteLagEntries = autoPromoteLagEntries;
    b.inboundQueueCapacity = inboundQueueCapacity;
    return b;
  }

  /** {@return the tick interval} */
  public Duration tickInterval() {
    return tickInterval;
  }

  /** {@return the base election timeout} */
  public Duration electionTimeout() {
    return electionTimeout;
  }

  /** {@return the heartbeat interval} */
  public Duration heartbeatInterval() {
    return heartbeatInterval;
  }

  /** {@return the clock-drift margin of leader leases} */
  public Duration leaseDriftMargin() {
    return leaseDriftMargin;
  }

  /**
   * Tells whether pre-vote is on.
   *
   * @return the flag
   */
  public boolean preVote() {
    return preVote;
  }

  /**
   * Tells whether check-quorum is on.
   *
   * @return the flag
   */
  public boolean checkQuorum() {
    return checkQuorum;
  }

  /** {@return the pipelining window per follower} */
  public int maxInflightAppends() {
    return maxInflightAppends;
  }

  /** {@return the soft limit of entry bytes per AppendEntries} */
  public int maxAppendBytes() {
    return maxAppendBytes;
  }

  /** {@return the largest message, framing included, this node hands its transport} */
  public int maxMessageBytes() {
    return maxMessageBytes;
  }

  /**
   * Returns the largest log entry this node accepts: a command's encoded size (the command and its
   * session header) or a configuration's, {@link #maxMessageBytes()} less {@link
   * #MESSAGE_OVERHEAD_BYTES}. A larger command is refused with {@link CommandTooLargeException}.
   *
   * @return bytes
   */
  public int maxEntryBytes() {
    return maxMessageBytes - MESSAGE_OVERHEAD_BYTES;
  }

  /** {@return the most commands pending (submitted, not yet applied) before submits are refused} */
  public int maxPendingProposals() {
    return maxPendingProposals;
  }

  /** {@return the most command bytes pending before submits are refused} */
  public long maxPendingBytes() {
    return maxPendingBytes;
  }

  /** {@return the soft limit of committed-entry bytes handed to the apply thread at once} */
  public int maxApplyBatchBytes() {
    return maxApplyBatchBytes;
  }

  /** {@return after how many applied entries a snapshot is taken (0: only on request)} */
  public long snapshotThresholdEntries() {
    return snapshotThresholdEntries;
  }

  /**
   * Returns after how many bytes of applied entries a snapshot is taken (0: no byte threshold).
   *
   * @return bytes
   */
  public long snapshotThresholdBytes() {
    return snapshotThresholdBytes;
  }

  /** {@return how many entries the log keeps behind a snapshot for slow followers} */
  public long snapshotTrailingEntries() {
    return snapshotTrailingEntries;
  }

  /** {@return the size of snapshot chunks sent to followers} */
  public int snapshotChunkBytes() {
    return snapshotChunkBytes;
  }

  /** {@return how long a client session lives without commands, in log time} */
  public Duration sessionTimeout() {
    return sessionTimeout;
  }

  /** {@return how many client sessions the group remembers at most} */
  public int maxSessions() {
    return maxSessions;
  }

  /** {@return whether a follower forwards commands to the leader instead of refusing them} */
  public boolean forwardToLeader() {
    return forwardToLeader;
  }

  /**
   * Returns how close to the leader's log a member added with {@link RaftNode#addMember} must be
   * before it is promoted from learner to voter.
   *
   * @return entries
   */
  public long autoPromoteLagEntries() {
    return autoPromoteLagEntries;
  }

  /** {@return the capacity of the event loop's inbound queue} */
  public int inboundQueueCapacity() {
    return inboundQueueCapacity;
  }

  @Override
  public String toString() {
    return "RaftOptions{tick="
        + tickInterval
        + ", election="
        + electionTimeout
        + ", heartbeat="
        + heartbeatInterval
        + ", preVote="
        + preVote
        + ", checkQuorum="
        + checkQuorum
        + ", snapshotEvery="
        + snapshotThresholdEntries
        + " entries or "
        + snapshotThresholdBytes
        + " bytes"
        + "}";
  }

  /** Builds {@link RaftOptions}; {@link #build()} validates. Not thread-safe. */
  public static final class Builder {
    private Duration tickInterval = Duration.ofMillis(10);
    private Duration electionTimeout = Duration.ofSeconds(1);
    private Duration heartbeatInterval = Duration.ofMillis(100);
    private Duration leaseDriftMargin = Duration.ofMillis(100);
    private boolean preVote = true;
    private boolean checkQuorum = true;
    private int maxInflightAppends = 256;
    private int maxAppendBytes = 1 << 20;
    private int maxMessageBytes = 16 << 20;
    private int maxPendingProposals = 16_384;
    private long maxPendingBytes = 64L << 20;
    private int maxApplyBatchBytes = 4 << 20;
    private long snapshotThresholdEntries = 100_000;
    private long snapshotThresholdBytes = 256L << 20;
    private long snapshotTrailingEntries = 10_000;
    private int snapshotChunkBytes = 1 << 20;
    private Duration sessionTimeout = Duration.ofMinutes(10);
    private int maxSessions = 100_000;
    private boolean forwardToLeader;
    private long autoPromoteLagEntries = 1_000;
    private int inboundQueueCapacity = 65_536;

    private Builder() {}

    /**
     * Sets the tick: the resolution of every timer. Default 10 ms; range [1 ms, 1 s]. Lower it only
     * with election timeouts below 100 ms.
     *
     * @param value the interval
     * @return this builder
     */
    public Builder tickInterval(Duration value) {
      tickInterval = value;
      return this;
    }

    /**
     * Sets the base election timeout T; a follower that hears no leader for a random time in [T,
     * 2T) starts an election. Default 1 s; range [2 ticks, 60 s] and more than the heartbeat
     * interval. Lower it for faster fail-over on a quiet network; raise it on a network or JVM with
     * long pauses.
     *
     * @param value the timeout
     * @return this builder
     */
    public Builder electionTimeout(Duration value) {
      electionTimeout = value;
      return this;
    }

    /**
     * Sets the leader's heartbeat interval. Default 100 ms; range [1 tick, election timeout). About
     * a tenth of the election timeout is usual.
     *
     * @param value the interval
     * @return this builder
     */
    public Builder heartbeatInterval(Duration value) {
      heartbeatInterval = value;
      return this;
    }

    /**
     * Sets the clock-drift margin subtracted from leader leases ({@link ReadConsistency#LEASE}).
     * Default 100 ms; range [0, election timeout). Raise it where clocks may run at different rates
     * (virtual machines that pause).
     *
     * @param value the margin
     * @return this builder
     */
    public Builder leaseDriftMargin(Duration value) {
      leaseDriftMargin = value;
      return this;
    }

    /**
     * Turns pre-vote on or off (thesis §9.6). Default on. Keep it on: it stops a partitioned member
     * from disrupting the cluster when it returns.
     *
     * @param value the flag
     * @return this builder
     */
    public Builder preVote(boolean value) {
      preVote = value;
      return this;
    }

    /**
     * Turns check-quorum on or off (thesis §6.2): a leader steps down when it has not heard from a
     * quorum for an election timeout, and followers that hear a leader ignore votes. Default on;
     * lease reads need it.
     *
     * @param value the flag
     * @return this builder
     */
    public Builder checkQuorum(boolean value) {
      checkQuorum = value;
      return this;
    }

    /**
     * Sets the pipelining window: AppendEntries in flight to one follower. Default 256; range [1,
     * 4096].
     *
     * @param value the window
     * @return this builder
     */
    public Builder maxInflightAppends(int value) {
      maxInflightAppends = value;
      return this;
    }

    /**
     * Sets the soft limit of entry bytes in one AppendEntries; a single larger entry (at most
     * {@link RaftOptions#maxEntryBytes()}) is sent alone. Default 1 MiB; range [1 KiB, 64 MiB], and
     * at most half of {@link RaftOptions#maxEntryBytes()} (an AppendEntries of many small entries
     * takes more bytes on the wire than its entries count).
     *
     * @param value bytes
     * @return this builder
     */
    public Builder maxAppendBytes(int value) {
      maxAppendBytes = value;
      return this;
    }

    /**
     * Sets the largest message, framing included, this node hands its transport. It bounds every
     * message: a command whose entry (command and session header) is larger than this less {@link
     * RaftOptions#MESSAGE_OVERHEAD_BYTES} is refused with {@link CommandTooLargeException}, and
     * {@link #maxAppendBytes(int)} and {@link #snapshotChunkBytes(int)} must be at most half of
     * that. Default 16 MiB; range [64 KiB, 1 GiB]. {@link RaftNode.Builder#build()} refuses a value
     * above the transport's {@link org.flotilla.raft.spi.Transport#maxMessageBytes()} (for {@code
     * NettyTransport}, its maximum frame size).
     *
     * @param value bytes
     * @return this builder
     */
    public Builder maxMessageBytes(int value) {
      maxMessageBytes = value;
      return this;
    }

    /**
     * Sets the most commands pending (submitted but not applied) before {@link RaftNode#submit}
     * fails fast with {@link OverloadedException}. Default 16,384; range [1, 1,000,000].
     *
     * @param value the count
     * @return this builder
     */
    public Builder maxPendingProposals(int value) {
      maxPendingProposals = value;
      return this;
    }

    /**
     * Sets the most command bytes pending before submits fail with {@link OverloadedException}.
     * Default 64 MiB; range [1 KiB, 16 GiB].
     *
     * @param value bytes
     * @return this builder
     */
    public Builder maxPendingBytes(long value) {
      maxPendingBytes = value;
      return this;
    }

    /**
     * Sets the soft limit of committed-entry bytes handed to the apply thread at once. Default 4
     * MiB; range [1 KiB, 256 MiB].
     *
     * @param value bytes
     * @return this builder
     */
    public Builder maxApplyBatchBytes(int value) {
      maxApplyBatchBytes = value;
      return this;
    }

    /**
     * Sets after how many applied entries a snapshot is taken and the log compacted. Default
     * 100,000; 0 takes snapshots only on request. Lower it for large entries or to bound restart
     * time.
     *
     * @param value entries
     * @return this builder
     */
    public Builder snapshotThresholdEntries(long value) {
      snapshotThresholdEntries = value;
      return this;
    }

    /**
     * Sets after how many bytes of applied entries (their payloads) a snapshot is taken and the log
     * compacted, whichever of this and {@link #snapshotThresholdEntries(long)} comes first. Default
     * 256 MiB; 0 disables the byte threshold; range [0, 1 TiB]. Lower it to bound the log's disk
     * use and restart time when entries are large.
     *
     * @param value bytes
     * @return this builder
     */
    public Builder snapshotThresholdBytes(long value) {
      snapshotThresholdBytes = value;
      return this;
    }

    /**
     * Sets how many entries the log keeps behind a snapshot, so that slightly slow followers catch
     * up from the log rather than need the snapshot. Default 10,000; range [0, 10^9].
     *
     * @param value entries
     * @return this builder
     */
    public Builder snapshotTrailingEntries(long value) {
      snapshotTrailingEntries = value;
      return this;
    }

    /**
     * Sets the size of the chunks a snapshot is sent in. Default 1 MiB; range [4 KiB, 16 MiB] and
     * at most half of {@link RaftOptions#maxEntryBytes()} (each chunk also carries the group's
     * configuration).
     *
     * @param value bytes
     * @return this builder
     */
    public Builder snapshotChunkBytes(int value) {
      snapshotChunkBytes = value;
      return this;
    }

    /**
     * Sets how long a client session lives without commands, measured in log time (each leader's
     * monotonic clock from the moment it became leader, as written in the entries), never by a
     * member's local clock. Default 10 minutes; range [1 s, 30 days].
     *
     * @param value the timeout
     * @return this builder
     */
    public Builder sessionTimeout(Duration value) {
      sessionTimeout = value;
      return this;
    }

    /**
     * Sets how many client sessions the group remembers at most; when that many are open, a command
     * that would open another is refused (on every member alike) until sessions expire by {@link
     * #sessionTimeout}. Live sessions are never dropped to make room, since a retry of a dropped
     * session's first command would be applied twice. Every session keeps its last result, so this
     * bounds the table's memory. Default 100,000; range [1, 10,000,000].
     *
     * @param value the limit
     * @return this builder
     */
    public Builder maxSessions(int value) {
      maxSessions = value;
      return this;
    }

    /**
     * Sets whether {@code submit} on a follower forwards the command to the leader it knows
     * (through the transport) instead of failing with {@link NotLeaderException}. A forwarded
     * command's future completes, as a local one does, once the entry is committed and applied on
     * this member, with its result; if the leader refuses it, it fails with the leader's reason
     * (not applied); with no answer within ten election timeouts it fails with a {@link
     * RaftException} whose outcome is unknown. With no leader known, {@code submit} still fails
     * with {@link NotLeaderException}. Default false.
     *
     * @param value true to forward
     * @return this builder
     */
    public Builder forwardToLeader(boolean value) {
      forwardToLeader = value;
      return this;
    }

    /**
     * Sets how close to the leader's last index a member added with {@link RaftNode#addMember} must
     * be before the leader promotes it to voter. Default 1,000; range [0, 10^9].
     *
     * @param value entries
     * @return this builder
     */
    public Builder autoPromoteLagEntries(long value) {
      autoPromoteLagEntries = value;
      return this;
    }

    /**
     * Sets the capacity of the event loop's inbound queue (messages, proposals, reads). When it is
     * full, inbound messages are dropped and submits fail with {@link OverloadedException}. Default
     * 65,536; range [64, 10,000,000].
     *
     * @param value tasks
     * @return this builder
     */
    public Builder inboundQueueCapacity(int value) {
      inboundQueueCapacity = value;
      return this;
    }

    /**
     * Validates and builds the options.
     *
     * @return the options
     * @throws IllegalArgumentException naming the first invalid setting and its value
     */
    public RaftOptions build() {
      positive("tickInterval", tickInterval);
      range("tickInterval", tickInterval, Duration.ofMillis(1), Duration.ofSeconds(1));
      positive("electionTimeout", electionTimeout);
      range(
          "electionTimeout", electionTimeout, tickInterval.multipliedBy(2), Duration.ofSeconds(60));
      positive("heartbeatInterval", heartbeatInterval);
      if (heartbeatInterval.compareTo(tickInterval) < 0
          || heartbeatInterval.compareTo(electionTimeout) >= 0) {
        throw new IllegalArgumentException(
            "heartbeatInterval must be in [tickInterval, electionTimeout): "
                + heartbeatInterval
                + " with tick "
                + tickInterval
                + " and election timeout "
                + electionTimeout);
      }
      if (leaseDriftMargin == null
          || leaseDriftMargin.isNegative()
          || leaseDriftMargin.compareTo(electionTimeout) >= 0) {
        throw new IllegalArgumentException(
            "leaseDriftMargin must be in [0, electionTimeout): " + leaseDriftMargin);
      }
      range("maxInflightAppends", maxInflightAppends, 1, 4096);
      range("maxAppendBytes", maxAppendBytes, 1024, 64 << 20);
      range("maxPendingProposals", maxPendingProposals, 1, 1_000_000);
      range("maxPendingBytes", maxPendingBytes, 1024, 16L << 30);
      range("maxApplyBatchBytes", maxApplyBatchBytes, 1024, 256 << 20);
      range("snapshotThresholdEntries", snapshotThresholdEntries, 0, 1_000_000_000_000L);
      range("snapshotThresholdBytes", snapshotThresholdBytes, 0, 1L << 40);
      range("snapshotTrailingEntries", snapshotTrailingEntries, 0, 1_000_000_000);
      range("snapshotChunkBytes", snapshotChunkBytes, 4096, 16 << 20);
      range("maxMessageBytes", maxMessageBytes, 64 << 10, 1 << 30);
      int halfEntry = (maxMessageBytes - MESSAGE_OVERHEAD_BYTES) / 2;
      if (maxAppendBytes > halfEntry || snapshotChunkBytes > halfEntry) {
        throw new IllegalArgumentException(
            (maxAppendBytes > halfEntry
                    ? "maxAppendBytes (" + maxAppendBytes
                    : "snapshotChunkBytes (" + snapshotChunkBytes)
                + ") must be at most half of maxMessageBytes ("
                + maxMessageBytes
                + ") less "
                + MESSAGE_OVERHEAD_BYTES
                + " bytes of message overhead: "
                + halfEntry);
      }
      positive("sessionTimeout", sessionTimeout);
      range("sessionTimeout", sessionTimeout, Duration.ofSeconds(1), Duration.ofDays(30));
      range("maxSessions", maxSessions, 1, 10_000_000);
      range("autoPromoteLagEntries", autoPromoteLagEntries, 0, 1_000_000_000);
      range("inboundQueueCapacity", inboundQueueCapacity, 64, 10_000_000);
      return new RaftOptions(this);
    }

    private static void positive(String name, Duration value) {
      if (value == null || value.isZero() || value.isNegative()) {
        throw new IllegalArgumentException(name + " must be positive: " + value);
      }
    }

    private static void range(String name, Duration value, Duration min, Duration max) {
      if (value.compareTo(min) < 0 || value.compareTo(max) > 0) {
        throw new IllegalArgumentException(
            name + " must be in [" + min + ", " + max + "]: " + value);
      }
    }

    private static void range(String name, long value, long min, long max) {
      if (value < min || value > max) {
        throw new IllegalArgumentException(
            name + " must be in [" + min + ", " + max + "]: " + value);
      }
    }
  }
}
