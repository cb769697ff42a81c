package org.flotilla.raft.cluster;

import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.flotilla.raft.RaftNode;

/**
 * The membership of a Raft group at one point of its log: voters, learners and, during a joint
 * consensus change (Raft §6), the outgoing voters.
 *
 * <p>In a simple configuration {@code outgoing} is empty and decisions need a majority of {@code
 * voters}. In a joint configuration (C<sub>old,new</sub>) decisions need a majority of {@code
 * voters} (C<sub>new</sub>) <em>and</em> a majority of {@code outgoing} (C<sub>old</sub>). Learners
 * receive the log and are never counted. {@code promotable} names the learners that the leader,
 * whichever member leads, promotes to voters once they have caught up ({@link
 * RaftNode#addMember(Member)}); being part of the configuration, that intent survives a change of
 * leader.
 *
 * <p>{@link #EMPTY}, with no member at all, is the configuration of a member that has none of its
 * own yet: one started with {@code RaftNode.Builder.join()}, until the leader that adds it sends
 * the group's configuration. Under it no election and no quorum can ever succeed.
 *
 * @param voters the voters (C<sub>new</sub> during a joint change)
 * @param outgoing the outgoing voters of a joint change (C<sub>old</sub>), empty otherwise
 * @param learners the non-voting members
 * @param promotable the ids of the learners to promote once caught up, a subset of {@code learners}
 */
public record Configuration(
    List<Member> voters, List<Member> outgoing, List<Member> learners, List<String> promotable) {

  /**
   * The configuration of a member that has none of its own yet (no voters, no learners): it never
   * campaigns, and nothing it would count ever reaches a quorum.
   */
  public static final Configuration EMPTY =
      new Configuration(List.of(), List.of(), List.of(), List.of());

  private static final int FORMAT_VERSION = 1;
  // Version 2 adds the promotable list; a configuration without one is still written as version 1.
  private static final int FORMAT_VERSION_PROMOTABLE = 2;

  /**
   * Creates a configuration, checking that ids are unique within each list, that no learner is also
   * a voter, and that there is at least one voter unless the configuration is {@linkplain #EMPTY
   * empty} (no member at all). Ids in {@code promotable} that name no learner are dropped, so
   * removing or promoting a learner also ends the intent to promote it.
   *
   * @param voters the voters
   * @param outgoing the outgoing voters, or empty
   * @param learners the learners
   * @param promotable the learners to promote once caught up
   */
  public Configuration {
    voters = List.copyOf(voters);
    outgoing = List.copyOf(outgoing);
    learners = List.copyOf(learners);
    if (voters.isEmpty() && !(outgoing.isEmpty() && learners.isEmpty())) {
      throw new IllegalArgumentException("a configuration needs at least one voter");
    }
    Set<String> voterIds = ids(voters, "voters");
    ids(outgoing, "outgoing voters");
    Set<String> learnerIds = ids(learners, "learners");
    for (String id : learnerIds) {
      if (voterIds.contains(id)) {
        throw new IllegalArgumentException("member " + id + " is both a voter and a learner");
      }
    }
    promotable = promotable.stream().filter(learnerIds::contains).distinct().toList();
  }

  /**
   * Creates a configuration with no learner marked for promotion.
   *
   * @param voters the voters
   * @param outgoing the outgoing voters, or empty
   * @param learners the learners
   */
  public Configuration(List<Member> voters, List<Member> outgoing, List<Member> learners) {
    this(voters, outgoing, learners, List.of());
  }

  private static Set<String> ids(List<Member> members, String what) {
    Set<String> ids = new LinkedHashSet<>();
    for (Member m : members) {
      if (!ids.add(m.id())) {
        throw new IllegalArgumentException("duplicate member id " + m.id() + " in " + what);
      }
    }
    return ids;
  }

  /**
   * Returns a simple (non-joint) configuration.
   *
   * @param voters the voters, at least one
   * @param learners the learners
   * @return the configuration
   * @throws IllegalArgumentException if there is no voter, or an id is used twice
   */
  public static Configuration of(List<Member> voters, List<Member> learners) {
    requireVoter(voters);
    return new Configuration(voters, List.of(), learners);
  }

  /**
   * Returns a simple configuration of voters only.
   *
   * @param voters the voters, at least one
   * @return the configuration
   * @throws IllegalArgumentException if there is no voter, or an id is used twice
   */
  public static Configuration ofVoters(List<Member> voters) {
    requireVoter(voters);
    return new Configuration(voters, List.of(), List.of());
  }

  private static void requireVoter(List<Member> voters) {
    if (voters.isEmpty()) {
      throw new IllegalArgumentException("a configuration needs at least one voter");
    }
  }

  /**
   * Tells whether this is the {@linkplain #EMPTY empty} configuration of a member that has none of
   * its own yet.
   *
   * @return true if there is no member at all
   */
  public boolean isEmpty() {
    return voters.isEmpty(); // the constructor allows no voter only with no other member
  }

  /**
   * Tells whether this is a joint configuration (C<sub>old,new</sub>).
   *
   * @return true while a voter change is in its joint phase
   */
  public boolean isJoint() {
    return !outgoing.isEmpty();
  }

  /**
   * Tells whether the member is a voter in either half of the configuration.
   *
   * @param id the member id
   * @return true for a voter
   */
  public boolean isVoter(String id) {
    return contains(voters, id) || contains(outgoing, id);
  }

  /**
   * Tells whether the member is a learner.
   *
   * @param id the member id
   * @return true for a learner
   */
  public boolean isLearner(String id) {
    return contains(learners, id) && !isVoter(id);
  }

  /**
   * Tells whether the member belongs to the configuration in any role.
   *
   * @param id the member id
   * @return true if it is a voter or a learner
   */
  public boolean contains(String id) {
    return isVoter(id) || contains(learners, id);
  }

  private static boolean contains(List<Member> members, String id) {
    for (Member m : members) {
      if (m.id().equals(id)) {
        return true;
      }
    }
    return false;
  }

  /**
   * Returns the member with this id in any role.
   *
   * @param id the member id
   * @return the member, or empty
   */
  public Optional<Member> member(String id) {
    return all().stream().filter(m -> m.id().equals(id)).findFirst();
  }

  /**
   * Returns every member once: voters, then outgoing voters, then learners.
   *
   * @return the members, unmodifiable
   */
  public List<Member> all() {
    Map<String, Member> all = new LinkedHashMap<>();
    for (Member m : voters) {
      all.putIfAbsent(m.id(), m);
    }
    for (Member m : outgoing) {
      all.putIfAbsent(m.id(), m);
    }
    for (Member m : learners) {
      all.putIfAbsent(m.id(), m);
    }
    return Collections.unmodifiableList(new ArrayList<>(all.values()));
  }

  /**
   * Returns the configuration that ends a joint change: C<sub>new</sub> alone.
   *
   * @return this configuration without its outgoing voters
   */
  public Configuration leaveJoint() {
    return new Configuration(voters, List.of(), learners, promotable);
  }

  /**
   * Returns this configuration with a new learner, marked for promotion once caught up or not.
   *
   * @param learner the new learner
   * @param promote whether the leader promotes it to voter once it has caught up
   * @return the new configuration, simple (without the outgoing voters of a joint change: a change
   *     is proposed only once the joint phase is over)
   * @throws IllegalArgumentException if the id is already a member
   */
  public Configuration withLearner(Member learner, boolean promote) {
    if (contains(learner.id())) {
      throw new IllegalArgumentException(learner.id() + " is already a member");
    }
    List<Member> newLearners = new ArrayList<>(learners);
    newLearners.add(learner);
    List<String> newPromotable = new ArrayList<>(promotable);
    if (promote) {
      newPromotable.add(learner.id());
    }
    return new Configuration(voters, List.of(), newLearners, newPromotable);
  }

  /**
   * Encodes this configuration for a log entry or a snapshot.
   *
   * @return a new buffer, flipped for reading
   */
  public ByteBuffer encode() {
    List<byte[]> strings = new ArrayList<>();
    int size = 4 + 3 * 4;
    for (List<Member> list : List.of(voters, outgoing, learners)) {
      for (Member m : list) {
        byte[] id = m.id().getBytes(StandardCharsets.UTF_8);
        byte[] addr = m.address().getBytes(StandardCharsets.UTF_8);
        strings.add(id);
        strings.add(addr);
        size += 2 + id.length + 2 + addr.length + 1;
      }
    }
    List<byte[]> promotableIds = new ArrayList<>();
    if (!promotable.isEmpty()) {
      size += 4;
      for (String id : promotable) {
        byte[] bytes = id.getBytes(StandardCharsets.UTF_8);
        promotableIds.add(bytes);
        size += 2 + bytes.length;
      }
    }
    ByteBuffer b = ByteBuffer.allocate(size);
    b.putInt(promotable.isEmpty() ? FORMAT_VERSION : FORMAT_VERSION_PROMOTABLE);
    int s = 0;
    for (List<Member> list : List.of(voters, outgoing, learners)) {
      b.putInt(list.size());
      for (Member m : list) {
        byte[] id = strings.get(s++);
        byte[] addr = strings.get(s++);
        b.putShort((short) id.length).put(id);
        b.putShort((short) addr.length).put(addr);
        b.put((byte) m.priority());
      }
    }
    if (!promotable.isEmpty()) {
      b.putInt(promotableIds.size());
      for (byte[] id : promotableIds) {
        b.putShort((short) id.length).put(id);
      }
    }
    return b.flip();
  }

  /**
   * Decodes a configuration written by {@link #encode()}.
   *
   * @param buffer the bytes; not modified (a duplicate is read)
   * @return the configuration
   * @throws IllegalArgumentException if the bytes are not a valid configuration
   */
  public static Configuration decode(ByteBuffer buffer) {
    ByteBuffer b = buffer.duplicate();
    try {
      int version = b.getInt();
      if (version != FORMAT_VERSION && version != FORMAT_VERSION_PROMOTABLE) {
        throw new IllegalArgumentException("unknown configuration format version " + version);
      }
      List<List<Member>> lists = new ArrayList<>(3);
      for (int l = 0; l < 3; l++) {
        int n = b.getInt();
        if (n < 0 || n > 10_000) {
          throw new IllegalArgumentException("bad member count " + n);
        }
        List<Member> list = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
          String id = string(b);
          String addr = string(b);
          int priority = b.get();
          list.add(new Member(id, addr, priority));
        }
        lists.add(list);
      }
      List<String> promotable = new ArrayList<>();
      if (version == FORMAT_VERSION_PROMOTABLE) {
        int n = b.getInt();
        if (n < 0 || n > lists.get(2).size()) {
          throw new IllegalArgumentException("bad promotable count " + n);
        }
        for (int i = 0; i < n; i++) {
          promotable.add(string(b));
        }
      }
      if (b.hasRemaining()) {
        throw new IllegalArgumentException(b.remaining() + " trailing bytes after configuration");
      }
      return new Configuration(lists.get(0), lists.get(1), lists.get(2), promotable);
    } catch (BufferUnderflowException e) {
      throw new IllegalArgumentException("truncated configuration", e);
    }
  }

  private static String string(ByteBuffer b) {
    int len = Short.toUnsignedInt(b.getShort());
    if (len > b.remaining()) {
      throw new IllegalArgumentException("string length " + len + " beyond end of configuration");
    }
    byte[] bytes = new byte[len];
    b.get(bytes);
    return new String(bytes, StandardCharsets.UTF_8);
  }
}
