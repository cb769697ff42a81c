package org.flotilla.raft.transport.netty;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.UnpooledByteBufAllocator;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import org.flotilla.raft.CommandRejectedException;
import org.flotilla.raft.cluster.Configuration;
import org.flotilla.raft.cluster.Member;
import org.flotilla.raft.message.AppendEntries;
import org.flotilla.raft.message.AppendEntriesResponse;
import org.flotilla.raft.message.EntryType;
import org.flotilla.raft.message.ForwardRequest;
import org.flotilla.raft.message.ForwardResponse;
import org.flotilla.raft.message.Heartbeat;
import org.flotilla.raft.message.HeartbeatResponse;
import org.flotilla.raft.message.InstallSnapshot;
import org.flotilla.raft.message.InstallSnapshotResponse;
import org.flotilla.raft.message.LogEntry;
import org.flotilla.raft.message.RaftMessage;
import org.flotilla.raft.message.ReadIndexRequest;
import org.flotilla.raft.message.ReadIndexResponse;
import org.flotilla.raft.message.RequestVote;
import org.flotilla.raft.message.RequestVoteResponse;
import org.flotilla.raft.message.TimeoutNow;
import org.flotilla.raft.transport.netty.proto.Wire;
import org.junit.jupiter.api.Test;

class WireCodecTest {

  static final WireCodec CODEC = new WireCodec("c1", "g1");
  static final Configuration CONF =
      new Configuration(
          List.of(Member.of("a", "127.0.0.1:1"), new Member("b", "127.0.0.1:2", 9)),
          List.of(Member.of("a", "127.0.0.1:1")),
          List.of(new Member("l", "", 0)),
          List.of("l"));

  /** One message of every kind, from "a" to "b". */
  static List<RaftMessage> everyKind() {
    return List.of(
        new AppendEntries(
            "a",
            "b",
            3,
            10,
            2,
            9,
            List.of(
                new LogEntry(11, 2, EntryType.COMMAND, ByteBuffer.wrap(new byte[] {1, 2, 3})),
                LogEntry.noop(12, 3),
                new LogEntry(13, 3, EntryType.CONFIGURATION, CONF.encode()))),
        new AppendEntriesResponse("a", "b", 3, false, 0, 10, 7, 2),
        new Heartbeat("a", "b", 3, 9, 77),
        new Heartbeat("a", "b", 3, 9, 78, true),
        new HeartbeatResponse("a", "b", 3, 77),
        new HeartbeatResponse("a", "b", 3, 78, true),
        new RequestVote("a", "b", 4, 13, 3, true, true),
        new RequestVoteResponse("a", "b", 4, false, true),
        new InstallSnapshot(
            "a", "b", 3, 100, 2, CONF, 10, 0x89ABCDEF, 4, ByteBuffer.wrap(new byte[6]), true),
        new InstallSnapshotResponse("a", "b", 3, 100, 10, true, true),
        new TimeoutNow("a", "b", 3),
        new ReadIndexRequest("a", "b", 3, Long.MIN_VALUE),
        new ReadIndexResponse("a", "b", 3, Long.MAX_VALUE, 13, true),
        new ForwardRequest("a", "b", 3, 42, ByteBuffer.wrap(new byte[] {1, 0, 9, 9})),
        new ForwardResponse(
            "a",
            "b",
            3,
            42,
            ForwardResponse.Status.APPLIED,
            14,
            3,
            ByteBuffer.wrap(new byte[] {5}),
            "",
            null),
        new ForwardResponse(
            "a", "b", 3, 43, ForwardResponse.Status.OVERLOADED, 0, 0, null, "queue full", null),
        new ForwardResponse(
            "a",
            "b",
            3,
            44,
            ForwardResponse.Status.REJECTED,
            0,
            0,
            null,
            "a later command of this client session was already applied",
            CommandRejectedException.Reason.SESSION_SUPERSEDED));
  }

  static RaftMessage roundTrip(RaftMessage m) throws Exception {
    ByteBuf frame =
        WireCodec.frame(UnpooledByteBufAllocator.DEFAULT, CODEC.toEnvelope(m), Integer.MAX_VALUE);
    try {
      assertThat(frame.readInt()).isEqualTo(frame.readableBytes());
      return CODEC.fromEnvelope(WireCodec.parseEnvelope(frame), "a", "b");
    } finally {
      frame.release();
    }
  }

  @Test
  void everyMessageKindRoundTrips() throws Exception {
    for (RaftMessage m : everyKind()) {
      assertThat(roundTrip(m)).isEqualTo(m);
    }
    // Every body but BODY_NOT_SET, the two admin bodies and the batch of a host connection, which
    // carry no RaftMessage of their own.
    assertThat(everyKind().stream().map(RaftMessage::getClass).distinct())
        .hasSize(Wire.Envelope.BodyCase.values().length - 4);
  }

  @Test
  void aStatusRoundTripsThroughTheAdminProtocol() {
    org.flotilla.raft.cluster.Configuration c =
        org.flotilla.raft.cluster.Configuration.ofVoters(
            List.of(
                org.flotilla.raft.cluster.Member.of("n1", "127.0.0.1:7001"),
                org.flotilla.raft.cluster.Member.of("n2", "127.0.0.1:7002")));
    org.flotilla.raft.NodeStatus s =
        new org.flotilla.raft.NodeStatus(
            "n1",
            org.flotilla.raft.cluster.Role.LEADER,
            7,
            java.util.Optional.of("n1"),
            40,
            39,
            41,
            20,
            c,
            List.of(
                new org.flotilla.raft.NodeStatus.PeerStatus(
                    "n2", true, 40, 42, "REPLICATE", true, 12)),
            List.of(new org.flotilla.raft.NodeStatus.SnapshotTransfer("n2", true, 20, 100, 400)),
            java.util.Optional.empty());
    assertThat(AdminProtocol.toRecord(AdminProtocol.toWire(s))).isEqualTo(s);
  }

  @Test
  void appendEntriesFrameIsByteForByteTheGeneratedEncoding() {
    java.util.Random rnd = new java.util.Random(42);
    EntryType[] types = EntryType.values();
    for (int round = 0; round < 300; round++) {
      List<LogEntry> entries = new ArrayList<>();
      long prev = rnd.nextInt(3) == 0 ? 0 : rnd.nextInt(1 << 20);
      int n = rnd.nextInt(6);
      for (int i = 1; i <= n; i++) {
        byte[] p = new byte[rnd.nextInt(4) == 0 ? 0 : rnd.nextInt(300)];
        rnd.nextBytes(p);
        // Offsets inside a larger array and read-only buffers, as the runtime hands them over.
        ByteBuffer b = ByteBuffer.allocate(p.length + 7).position(3);
        b.put(p).flip().position(3);
        entries.add(
            new LogEntry(prev + i, 1 + rnd.nextInt(5), types[rnd.nextInt(types.length)], b));
      }
      long term = rnd.nextInt(3) == 0 ? 5 : 5 + rnd.nextInt(1 << 30);
      AppendEntries m =
          new AppendEntries(
              "node-" + rnd.nextInt(3),
              "n" + rnd.nextInt(3),
              term,
              prev,
              prev == 0 ? 0 : 1,
              rnd.nextInt(2) == 0 ? 0 : rnd.nextInt(1 << 20),
              entries);
      ByteBuf generic =
          WireCodec.frame(UnpooledByteBufAllocator.DEFAULT, CODEC.toEnvelope(m), 1 << 20);
      ByteBuf direct = CODEC.appendEntriesFrame(UnpooledByteBufAllocator.DEFAULT, m, 1 << 20);
      try {
        assertThat(ByteBufUtilBytes.of(direct)).isEqualTo(ByteBufUtilBytes.of(generic));
        // Writing does not move the entries' buffers.
        for (LogEntry e : m.entries()) {
          assertThat(e.payload().position()).isEqualTo(3);
        }
      } finally {
        generic.release();
        direct.release();
      }
    }
    // Too large for the frame limit: refused, as frame() refuses.
    List<LogEntry> big = List.of(new LogEntry(1, 1, EntryType.COMMAND, ByteBuffer.allocate(2000)));
    assertThat(
            CODEC.appendEntriesFrame(
                UnpooledByteBufAllocator.DEFAULT,
                new AppendEntries("a", "b", 1, 0, 0, 0, big),
                1000))
        .isNull();
  }

  /** The readable bytes of a buffer, without moving its reader index. */
  private static final class ByteBufUtilBytes {
    static byte[] of(ByteBuf b) {
      return io.netty.buffer.ByteBufUtil.getBytes(b);
    }
  }

  @Test
  void decodedPayloadsAreReadOnlyViewsOfOneFrameCopy() throws Exception {
    List<LogEntry> entries = new ArrayList<>();
    for (int i = 1; i <= 3; i++) {
      entries.add(new LogEntry(i, 1, EntryType.COMMAND, ByteBuffer.wrap(new byte[100])));
    }
    AppendEntries got = (AppendEntries) roundTrip(new AppendEntries("a", "b", 1, 0, 0, 0, entries));
    for (LogEntry e : got.entries()) {
      assertThat(e.payload().isReadOnly()).isTrue();
      assertThat(e.payload().remaining()).isEqualTo(100);
    }
    // Views of one backing array: each payload starts at a different offset of the same frame.
    ByteBuffer first = got.entries().get(0).payload();
    ByteBuffer second = got.entries().get(1).payload();
    assertThat(second.position() - first.position()).isGreaterThan(100);
  }

  @Test
  void oversizedMessageIsNotFramed() {
    RaftMessage big =
        new InstallSnapshot(
            "a", "b", 1, 1, 1, CONF, 1000, 0, 0, ByteBuffer.wrap(new byte[1000]), true);
    assertThat(WireCodec.frame(UnpooledByteBufAllocator.DEFAULT, CODEC.toEnvelope(big), 999))
        .isNull();
  }

  private static Wire.Envelope.Builder valid() {
    return CODEC.toEnvelope(new Heartbeat("a", "b", 1, 0, 1)).toBuilder();
  }

  @Test
  void rejectsEnvelopesThatDoNotMatchTheConnection() {
    assertThatThrownBy(() -> CODEC.fromEnvelope(valid().setClusterId("x").build(), "a", "b"))
        .hasMessageContaining("cluster");
    assertThatThrownBy(() -> CODEC.fromEnvelope(valid().setGroupId("x").build(), "a", "b"))
        .hasMessageContaining("group");
    assertThatThrownBy(() -> CODEC.fromEnvelope(valid().build(), "z", "b"))
        .hasMessageContaining("sender");
    assertThatThrownBy(() -> CODEC.fromEnvelope(valid().build(), "a", "z"))
        .hasMessageContaining("reached");
    assertThatThrownBy(() -> CODEC.fromEnvelope(valid().setProtocolVersion(2).build(), "a", "b"))
        .hasMessageContaining("version");
    assertThatThrownBy(() -> CODEC.fromEnvelope(valid().clearBody().build(), "a", "b"))
        .hasMessageContaining("without a known message");
  }

  @Test
  void rejectsFieldsTheRecordsRefuse() {
    Wire.Envelope negativeTerm =
        valid().setHeartbeat(Wire.Heartbeat.newBuilder().setTerm(-1)).build();
    assertThatThrownBy(() -> CODEC.fromEnvelope(negativeTerm, "a", "b"))
        .isInstanceOf(IllegalArgumentException.class);
    Wire.Envelope gap =
        valid()
            .setAppendEntries(
                Wire.AppendEntries.newBuilder()
                    .setTerm(1)
                    .setPrevLogIndex(5)
                    .addEntries(Wire.Entry.newBuilder().setIndex(7).setTerm(1)))
            .build();
    assertThatThrownBy(() -> CODEC.fromEnvelope(gap, "a", "b")).hasMessageContaining("consecutive");
    Wire.Envelope badType =
        valid()
            .setAppendEntries(
                Wire.AppendEntries.newBuilder()
                    .setTerm(1)
                    .addEntries(Wire.Entry.newBuilder().setIndex(1).setTerm(1).setTypeValue(9)))
            .build();
    assertThatThrownBy(() -> CODEC.fromEnvelope(badType, "a", "b"))
        .hasMessageContaining("entry type");
    Wire.Envelope overflow =
        valid()
            .setInstallSnapshot(
                Wire.InstallSnapshot.newBuilder()
                    .setTerm(1)
                    .setConfiguration(Wire.Configuration.newBuilder().addVoters(member("a")))
                    .setTotalSize(Long.MAX_VALUE)
                    .setOffset(Long.MAX_VALUE - 1)
                    .setData(com.google.protobuf.ByteString.copyFrom(new byte[10])))
            .build();
    assertThatThrownBy(() -> CODEC.fromEnvelope(overflow, "a", "b"))
        .hasMessageContaining("beyond size");
    Wire.Envelope noConfiguration =
        valid().setInstallSnapshot(Wire.InstallSnapshot.newBuilder().setTerm(1)).build();
    assertThatThrownBy(() -> CODEC.fromEnvelope(noConfiguration, "a", "b"))
        .hasMessageContaining("without configuration");
    Wire.Envelope badMember =
        valid()
            .setInstallSnapshot(
                Wire.InstallSnapshot.newBuilder()
                    .setTerm(1)
                    .setConfiguration(
                        Wire.Configuration.newBuilder().addVoters(member("a").setPriority(101))))
            .build();
    assertThatThrownBy(() -> CODEC.fromEnvelope(badMember, "a", "b"))
        .hasMessageContaining("priority");
  }

  private static Wire.Member.Builder member(String id) {
    return Wire.Member.newBuilder().setId(id).setAddress("h:1");
  }

  @Test
  void helloIsCheckedAgainstThisNode() {
    Wire.Hello ok = CODEC.hello("a", "b");
    assertThat(CODEC.checkHello(ok, "b", "a"::equals, false)).isNull();
    assertThat(CODEC.checkHello(ok.toBuilder().setMagic(1).build(), "b", id -> true, false))
        .contains("magic");
    assertThat(new WireCodec("other", "g1").checkHello(ok, "b", id -> true, false))
        .contains("cluster");
    assertThat(new WireCodec("c1", "other").checkHello(ok, "b", id -> true, false))
        .contains("group");
    assertThat(CODEC.checkHello(ok, "c", id -> true, false)).contains("receiver");
    assertThat(CODEC.checkHello(ok, "b", id -> false, false)).contains("unknown member");
    assertThat(
            CODEC.checkHello(ok.toBuilder().setProtocolVersion(0).build(), "b", id -> true, false))
        .contains("version");
  }

  @Test
  void aHostAndASingleGroupMemberRefuseEachOtherClearly() {
    WireCodec host = new WireCodec("c1", WireCodec.HOST_GROUP);
    Wire.Hello fromHost = host.hello("a", "b");
    assertThat(host.checkHello(fromHost, "b", "a"::equals, false, g -> false)).isNull();
    assertThat(CODEC.checkHello(fromHost, "b", "a"::equals, false))
        .contains("a host of many groups (a RaftHost) connected")
        .contains("'g1' alone");
    assertThat(host.checkHello(CODEC.hello("a", "b"), "b", "a"::equals, false, g -> false))
        .contains("takes host connections only")
        .contains("group 'g1'");
    // An operator's tool names the group it administers, which the host must run.
    Wire.Hello admin = CODEC.hello("tool", "").toBuilder().setAdmin(true).build();
    assertThat(host.checkHello(admin, "b", id -> false, true, "g1"::equals)).isNull();
    assertThat(host.checkHello(admin, "b", id -> false, true, "g2"::equals))
        .contains("group id 'g1' is not this node's group");
  }

  @Test
  void parsesHostPortAddresses() {
    assertThat(NettyTransport.parseAddress("127.0.0.1:7001").getPort()).isEqualTo(7001);
    assertThat(NettyTransport.parseAddress("[::1]:7001").getHostString()).isEqualTo("::1");
    assertThatThrownBy(() -> NettyTransport.parseAddress("nohost"))
        .hasMessageContaining("host:port");
    assertThatThrownBy(() -> NettyTransport.parseAddress("h:x")).hasMessageContaining("port");
    assertThatThrownBy(() -> NettyTransport.parseAddress("h:0")).hasMessageContaining("host:port");
  }
}
