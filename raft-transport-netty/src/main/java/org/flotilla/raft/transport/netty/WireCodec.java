package org.flotilla.raft.transport.netty;

import com.google.protobuf.ByteString;
import com.google.protobuf.CodedInputStream;
import com.google.protobuf.CodedOutputStream;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.MessageLite;
import com.google.protobuf.UnsafeByteOperations;
import com.google.protobuf.WireFormat;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;
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

/**
 * Maps raft-core's message records to the protobuf {@link Wire.Envelope} and back, and reads and
 * writes length-prefixed frames.
 *
 * <p>No payload bytes are copied that need not be: on the way out, entry payloads and snapshot data
 * are wrapped with {@link UnsafeByteOperations#unsafeWrap(ByteBuffer)} (they are immutable by
 * contract) and copied once, into the outgoing frame buffer; on the way in, the frame is copied
 * once out of Netty's reusable buffer into a byte array that the decoded payloads then alias.
 *
 * <p>Immutable and thread-safe.
 */
final class WireCodec {

  /** The protocol version this codec speaks. */
  static final int PROTOCOL_VERSION = 1;

  /** "FLOT" in ASCII: the first field of every Hello. */
  static final int MAGIC = 0x464C4F54;

  /** Bytes of the frame length prefix. */
  static final int LENGTH_PREFIX_BYTES = 4;

  private static final Pattern ID = Pattern.compile("[A-Za-z0-9._-]{1,64}");

  /**
   * The group id a host's connection names in its Hello: it carries the messages of every group the
   * two hosts share, each envelope naming its own group. Not a valid group id, so never a group's.
   */
  static final String HOST_GROUP = "*";

  private final String clusterId;
  private final String groupId;

  WireCodec(String clusterId, String groupId) {
    this.clusterId = clusterId;
    this.groupId = groupId;
  }

  String clusterId() {
    return clusterId;
  }

  String groupId() {
    return groupId;
  }

  // ---------------------------------------------------------------- frames

  /**
   * Writes {@code message} as one frame (length prefix and body) into a new buffer.
   *
   * @return the frame, or null if its body would exceed {@code maxBody} bytes
   */
  static ByteBuf frame(ByteBufAllocator alloc, MessageLite message, int maxBody) {
    int size = message.getSerializedSize();
    if (size > maxBody || size < 0) {
      return null;
    }
    ByteBuf buf = alloc.ioBuffer(LENGTH_PREFIX_BYTES + size);
    boolean done = false;
    try {
      buf.writeInt(size);
      ByteBuffer body = buf.nioBuffer(LENGTH_PREFIX_BYTES, size);
      CodedOutputStream out = CodedOutputStream.newInstance(body);
      message.writeTo(out);
      out.checkNoSpaceLeft();
      buf.writerIndex(LENGTH_PREFIX_BYTES + size);
      done = true;
      return buf;
    } catch (IOException e) {
      // Writing into a buffer of exactly the serialized size cannot fail; if it does, it is a bug.
      throw new IllegalStateException("protobuf serialization into a sized buffer failed", e);
    } finally {
      if (!done) {
        buf.release();
      }
    }
  }

  /**
   * Writes an AppendEntries as one frame, byte for byte what {@code frame(alloc, toEnvelope(m),
   * maxBody)} writes, without building protobuf objects per entry: each payload goes once, straight
   * from the entry's buffer into the frame. (Protobuf 4 copies a read-only heap buffer into a new
   * array when it wraps it in a {@code ByteString}, and entry payloads are read-only: the generic
   * path copied every payload once per follower before copying it into the frame.)
   *
   * @return the frame, or null if its body would exceed {@code maxBody} bytes
   */
  ByteBuf appendEntriesFrame(ByteBufAllocator alloc, AppendEntries m, int maxBody) {
    List<LogEntry> entries = m.entries();
    int n = entries.size();
    int[] entrySizes = new int[n];
    long aeSize =
        (long) uint64Size(1, m.term())
            + uint64Size(2, m.prevLogIndex())
            + uint64Size(3, m.prevLogTerm())
            + uint64Size(4, m.leaderCommit());
    for (int i = 0; i < n; i++) {
      LogEntry e = entries.get(i);
      int len = e.payload().remaining();
      int size =
          uint64Size(1, e.index())
              + uint64Size(2, e.term())
              + (e.type().code() == 0 ? 0 : CodedOutputStream.computeEnumSize(3, e.type().code()))
              + (len == 0 ? 0 : 1 + CodedOutputStream.computeUInt32SizeNoTag(len) + len);
      entrySizes[i] = size;
      aeSize += 1L + CodedOutputStream.computeUInt32SizeNoTag(size) + size;
    }
    if (aeSize > maxBody) {
      return null;
    }
    long size =
        (long) CodedOutputStream.computeUInt32Size(1, PROTOCOL_VERSION)
            + stringSize(2, clusterId)
            + stringSize(3, groupId)
            + stringSize(4, m.from())
            + stringSize(5, m.to())
            + 1
            + CodedOutputStream.computeUInt32SizeNoTag((int) aeSize)
            + aeSize;
    if (size > maxBody) {
      return null;
    }
    int body = (int) size;
    ByteBuf buf = alloc.ioBuffer(LENGTH_PREFIX_BYTES + body);
    boolean done = false;
    try {
      buf.writeInt(body);
      CodedOutputStream out =
          CodedOutputStream.newInstance(buf.nioBuffer(LENGTH_PREFIX_BYTES, body));
      out.writeUInt32(1, PROTOCOL_VERSION);
      writeString(out, 2, clusterId);
      writeString(out, 3, groupId);
      writeString(out, 4, m.from());
      writeString(out, 5, m.to());
      out.writeTag(Wire.Envelope.APPEND_ENTRIES_FIELD_NUMBER, WireFormat.WIRETYPE_LENGTH_DELIMITED);
      out.writeUInt32NoTag((int) aeSize);
      writeUInt64(out, 1, m.term());
      writeUInt64(out, 2, m.prevLogIndex());
      writeUInt64(out, 3, m.prevLogTerm());
      writeUInt64(out, 4, m.leaderCommit());
      for (int i = 0; i < n; i++) {
        LogEntry e = entries.get(i);
        out.writeTag(5, WireFormat.WIRETYPE_LENGTH_DELIMITED);
        out.writeUInt32NoTag(entrySizes[i]);
        writeUInt64(out, 1, e.index());
        writeUInt64(out, 2, e.term());
        if (e.type().code() != 0) {
          out.writeEnum(3, e.type().code());
        }
        ByteBuffer payload = e.payloadView();
        if (payload.hasRemaining()) {
          out.writeTag(4, WireFormat.WIRETYPE_LENGTH_DELIMITED);
          out.writeUInt32NoTag(payload.remaining());
          out.write(payload); // the remaining bytes (writeRawBytes would write the whole capacity)
        }
      }
      out.checkNoSpaceLeft();
      buf.writerIndex(LENGTH_PREFIX_BYTES + body);
      done = true;
      return buf;
    } catch (IOException e) {
      // Writing into a buffer of exactly the computed size cannot fail; if it does, it is a bug.
      throw new IllegalStateException("AppendEntries serialization into a sized buffer failed", e);
    } finally {
      if (!done) {
        buf.release();
      }
    }
  }

  // proto3: fields at their default value (0, "") are not written.
  private static int uint64Size(int field, long v) {
    return v == 0 ? 0 : CodedOutputStream.computeUInt64Size(field, v);
  }

  private static int stringSize(int field, String v) {
    return v.isEmpty() ? 0 : CodedOutputStream.computeStringSize(field, v);
  }

  private static void writeUInt64(CodedOutputStream out, int field, long v) throws IOException {
    if (v != 0) {
      out.writeUInt64(field, v);
    }
  }

  private static void writeString(CodedOutputStream out, int field, String v) throws IOException {
    if (!v.isEmpty()) {
      out.writeString(field, v);
    }
  }

  /**
   * Copies one frame body out of Netty's buffer into an array that decoded payloads may alias.
   *
   * @param body the frame body (without its length prefix); its reader index is advanced
   * @return a coded input over the copy, with aliasing on
   */
  static CodedInputStream input(ByteBuf body) {
    byte[] bytes = new byte[body.readableBytes()];
    body.readBytes(bytes);
    // A coded input over an immutable ByteString may alias it: bytes fields become views.
    CodedInputStream in = UnsafeByteOperations.unsafeWrap(bytes).newCodedInput();
    in.enableAliasing(true);
    return in;
  }

  static Wire.Hello parseHello(ByteBuf body) throws InvalidProtocolBufferException {
    try {
      return Wire.Hello.parseFrom(input(body));
    } catch (InvalidProtocolBufferException e) {
      throw e;
    } catch (IOException e) {
      throw new InvalidProtocolBufferException(e);
    }
  }

  static Wire.HelloAck parseHelloAck(ByteBuf body) throws InvalidProtocolBufferException {
    try {
      return Wire.HelloAck.parseFrom(input(body));
    } catch (InvalidProtocolBufferException e) {
      throw e;
    } catch (IOException e) {
      throw new InvalidProtocolBufferException(e);
    }
  }

  static Wire.Envelope parseEnvelope(ByteBuf body) throws InvalidProtocolBufferException {
    try {
      return Wire.Envelope.parseFrom(input(body));
    } catch (InvalidProtocolBufferException e) {
      throw e;
    } catch (IOException e) {
      throw new InvalidProtocolBufferException(e);
    }
  }

  // ---------------------------------------------------------------- handshake

  Wire.Hello hello(String senderId, String receiverId) {
    return hello(senderId, receiverId, "");
  }

  Wire.Hello hello(String senderId, String receiverId, String senderAddress) {
    return Wire.Hello.newBuilder()
        .setMagic(MAGIC)
        .setProtocolVersion(PROTOCOL_VERSION)
        .setClusterId(clusterId)
        .setGroupId(groupId)
        .setSenderId(senderId)
        .setReceiverId(receiverId)
        .setSenderAddress(senderAddress)
        .build();
  }

  static Wire.HelloAck accept(String localId) {
    return Wire.HelloAck.newBuilder()
        .setAccepted(true)
        .setProtocolVersion(PROTOCOL_VERSION)
        .setReceiverId(localId)
        .build();
  }

  static Wire.HelloAck refuse(String localId, String reason) {
    return Wire.HelloAck.newBuilder()
        .setAccepted(false)
        .setReason(reason)
        .setProtocolVersion(PROTOCOL_VERSION)
        .setReceiverId(localId)
        .build();
  }

  /**
   * Checks a Hello against this node, whose admin connections are for its own group.
   *
   * @return null if acceptable, otherwise why not
   */
  String checkHello(
      Wire.Hello hello,
      String localId,
      java.util.function.Predicate<String> known,
      boolean adminEnabled) {
    return checkHello(hello, localId, known, adminEnabled, groupId::equals);
  }

  /**
   * Checks a Hello against this node. A member's connection must name this codec's group ({@link
   * #HOST_GROUP} for a host's connection, which carries every group); an operator's admin
   * connection names the one group it administers, which {@code adminGroup} must accept.
   *
   * @return null if acceptable, otherwise why not
   */
  String checkHello(
      Wire.Hello hello,
      String localId,
      java.util.function.Predicate<String> known,
      boolean adminEnabled,
      java.util.function.Predicate<String> adminGroup) {
    if (hello.getMagic() != MAGIC) {
      return "not a Flotilla peer (bad magic 0x" + Integer.toHexString(hello.getMagic()) + ")";
    }
    if (hello.getProtocolVersion() < PROTOCOL_VERSION) {
      return "unsupported protocol version " + hello.getProtocolVersion();
    }
    if (!clusterId.equals(hello.getClusterId())) {
      return "cluster id '" + hello.getClusterId() + "' is not this cluster's";
    }
    String group = hello.getGroupId();
    if (hello.getAdmin() ? !adminGroup.test(group) : !groupId.equals(group)) {
      if (hello.getAdmin() || !(HOST_GROUP.equals(groupId) || HOST_GROUP.equals(group))) {
        return "group id '" + group + "' is not this node's group";
      }
      return HOST_GROUP.equals(groupId)
          ? "this member is a host of many groups (a RaftHost) and takes host connections only,"
              + " not one of group '"
              + group
              + "'"
          : "a host of many groups (a RaftHost) connected, but this member runs group '"
              + groupId
              + "' alone";
    }
    if (hello.getAdmin()) {
      if (!adminEnabled) {
        return "admin requests are off on this member (the embedder enables them with"
            + " NettyTransport.Builder.adminRequests(true))";
      }
      if (!hello.getReceiverId().isEmpty() && !localId.equals(hello.getReceiverId())) {
        return "receiver id '" + hello.getReceiverId() + "' is not this node's id";
      }
      return ID.matcher(hello.getSenderId()).matches()
          ? null
          : "invalid tool name '" + hello.getSenderId() + "'";
    }
    if (!localId.equals(hello.getReceiverId())) {
      return "receiver id '" + hello.getReceiverId() + "' is not this node's id";
    }
    if (!ID.matcher(hello.getSenderId()).matches() || !known.test(hello.getSenderId())) {
      return "unknown member '" + hello.getSenderId() + "'";
    }
    return null;
  }

  // ---------------------------------------------------------------- records to the wire

  Wire.Envelope toEnvelope(RaftMessage message) {
    Wire.Envelope.Builder b = envelope(message.from(), message.to());
    if (message instanceof AppendEntries m) {
      Wire.AppendEntries.Builder ae =
          Wire.AppendEntries.newBuilder()
              .setTerm(m.term())
              .setPrevLogIndex(m.prevLogIndex())
              .setPrevLogTerm(m.prevLogTerm())
              .setLeaderCommit(m.leaderCommit());
      for (LogEntry e : m.entries()) {
        ae.addEntries(
            Wire.Entry.newBuilder()
                .setIndex(e.index())
                .setTerm(e.term())
                .setTypeValue(e.type().code())
                .setPayload(wrap(e.payloadView())));
      }
      b.setAppendEntries(ae);
    } else if (message instanceof AppendEntriesResponse m) {
      b.setAppendEntriesResponse(
          Wire.AppendEntriesResponse.newBuilder()
              .setTerm(m.term())
              .setSuccess(m.success())
              .setMatchIndex(m.matchIndex())
              .setRejectedIndex(m.rejectedIndex())
              .setConflictIndex(m.conflictIndex())
              .setConflictTerm(m.conflictTerm()));
    } else if (message instanceof Heartbeat m) {
      b.setHeartbeat(
          Wire.Heartbeat.newBuilder()
              .setTerm(m.term())
              .setCommitIndex(m.commitIndex())
              .setRound(m.round())
              .setQuiesce(m.quiesce()));
    } else if (message instanceof HeartbeatResponse m) {
      b.setHeartbeatResponse(
          Wire.HeartbeatResponse.newBuilder()
              .setTerm(m.term())
              .setRound(m.round())
              .setQuiesced(m.quiesced()));
    } else if (message instanceof RequestVote m) {
      b.setRequestVote(
          Wire.RequestVote.newBuilder()
              .setTerm(m.term())
              .setLastLogIndex(m.lastLogIndex())
              .setLastLogTerm(m.lastLogTerm())
              .setPreVote(m.preVote())
              .setTransfer(m.transfer()));
    } else if (message instanceof RequestVoteResponse m) {
      b.setRequestVoteResponse(
          Wire.RequestVoteResponse.newBuilder()
              .setTerm(m.term())
              .setGranted(m.granted())
              .setPreVote(m.preVote()));
    } else if (message instanceof InstallSnapshot m) {
      b.setInstallSnapshot(
          Wire.InstallSnapshot.newBuilder()
              .setTerm(m.term())
              .setSnapshotIndex(m.snapshotIndex())
              .setSnapshotTerm(m.snapshotTerm())
              .setConfiguration(toWire(m.configuration()))
              .setTotalSize(m.totalSize())
              .setChecksum(m.checksum())
              .setOffset(m.offset())
              .setData(wrap(m.data().duplicate()))
              .setDone(m.done()));
    } else if (message instanceof InstallSnapshotResponse m) {
      b.setInstallSnapshotResponse(
          Wire.InstallSnapshotResponse.newBuilder()
              .setTerm(m.term())
              .setSnapshotIndex(m.snapshotIndex())
              .setNextOffset(m.nextOffset())
              .setDone(m.done())
              .setRejected(m.rejected()));
    } else if (message instanceof TimeoutNow m) {
      b.setTimeoutNow(Wire.TimeoutNow.newBuilder().setTerm(m.term()));
    } else if (message instanceof ReadIndexRequest m) {
      b.setReadIndexRequest(
          Wire.ReadIndexRequest.newBuilder().setTerm(m.term()).setRequestId(m.requestId()));
    } else if (message instanceof ReadIndexResponse m) {
      b.setReadIndexResponse(
          Wire.ReadIndexResponse.newBuilder()
              .setTerm(m.term())
              .setRequestId(m.requestId())
              .setReadIndex(m.readIndex())
              .setSuccess(m.success()));
    } else if (message instanceof ForwardRequest m) {
      b.setForwardRequest(
          Wire.ForwardRequest.newBuilder()
              .setTerm(m.term())
              .setRequestId(m.requestId())
              .setPayload(wrap(m.payload())));
    } else if (message instanceof ForwardResponse m) {
      Wire.ForwardResponse.Builder r =
          Wire.ForwardResponse.newBuilder()
              .setTerm(m.term())
              .setRequestId(m.requestId())
              .setStatus(m.status().code())
              .setIndex(m.index())
              .setEntryTerm(m.entryTerm())
              .setError(m.error());
      if (m.result() != null) {
        r.setResult(wrap(m.result()));
      }
      if (m.rejection() != null) {
        r.setRejection(m.rejection().code());
      }
      b.setForwardResponse(r);
    } else {
      throw new IllegalArgumentException("unknown message kind " + message.getClass().getName());
    }
    return b.build();
  }

  private static ByteString wrap(ByteBuffer buffer) {
    return buffer.hasRemaining() ? UnsafeByteOperations.unsafeWrap(buffer) : ByteString.EMPTY;
  }

  static Wire.Configuration toWire(Configuration c) {
    Wire.Configuration.Builder b = Wire.Configuration.newBuilder();
    for (Member m : c.voters()) {
      b.addVoters(toWire(m));
    }
    for (Member m : c.outgoing()) {
      b.addOutgoing(toWire(m));
    }
    for (Member m : c.learners()) {
      b.addLearners(toWire(m));
    }
    b.addAllPromotable(c.promotable());
    return b.build();
  }

  static Wire.Member toWire(Member m) {
    return Wire.Member.newBuilder()
        .setId(m.id())
        .setAddress(m.address())
        .setPriority(m.priority())
        .build();
  }

  // ---------------------------------------------------------------- the wire to records

  /**
   * Checks an envelope's header against the connection and maps its body to a record.
   *
   * @param env the decoded envelope
   * @param expectedSender the sender this connection's Hello named
   * @param localId this node's id
   * @return the validated message
   * @throws IllegalArgumentException if the envelope is not acceptable, with the reason
   */
  RaftMessage fromEnvelope(Wire.Envelope env, String expectedSender, String localId) {
    checkHeader(env, expectedSender, localId);
    return toRecord(env, env.getSenderId(), env.getReceiverId());
  }

  /**
   * Checks an envelope's header against the connection: protocol version, cluster, group, sender
   * and receiver.
   *
   * @throws IllegalArgumentException naming the field that does not match
   */
  void checkHeader(Wire.Envelope env, String expectedSender, String localId) {
    if (env.getProtocolVersion() != PROTOCOL_VERSION) {
      throw new IllegalArgumentException(
          "envelope protocol version " + env.getProtocolVersion() + " != " + PROTOCOL_VERSION);
    }
    if (!clusterId.equals(env.getClusterId())) {
      throw new IllegalArgumentException("envelope of cluster '" + env.getClusterId() + "'");
    }
    if (!groupId.equals(env.getGroupId())) {
      throw new IllegalArgumentException("envelope of group '" + env.getGroupId() + "'");
    }
    String from = env.getSenderId();
    String to = env.getReceiverId();
    if (!expectedSender.equals(from)) {
      throw new IllegalArgumentException(
          "envelope sender '" + from + "' on a connection from '" + expectedSender + "'");
    }
    if (!localId.equals(to)) {
      throw new IllegalArgumentException("envelope for '" + to + "' reached '" + localId + "'");
    }
  }

  /** An envelope with this codec's header, its body still to set. */
  Wire.Envelope.Builder envelope(String senderId, String receiverId) {
    return Wire.Envelope.newBuilder()
        .setProtocolVersion(PROTOCOL_VERSION)
        .setClusterId(clusterId)
        .setGroupId(groupId)
        .setSenderId(senderId)
        .setReceiverId(receiverId);
  }

  /** Maps an envelope's body to a record; the records' constructors validate the fields. */
  static RaftMessage toRecord(Wire.Envelope env, String from, String to) {
    switch (env.getBodyCase()) {
      case APPEND_ENTRIES:
        {
          Wire.AppendEntries m = env.getAppendEntries();
          List<LogEntry> entries = new ArrayList<>(m.getEntriesCount());
          for (Wire.Entry e : m.getEntriesList()) {
            entries.add(
                new LogEntry(
                    e.getIndex(),
                    e.getTerm(),
                    EntryType.fromCode(e.getTypeValue()),
                    e.getPayload().asReadOnlyByteBuffer()));
          }
          return new AppendEntries(
              from,
              to,
              m.getTerm(),
              m.getPrevLogIndex(),
              m.getPrevLogTerm(),
              m.getLeaderCommit(),
              entries);
        }
      case APPEND_ENTRIES_RESPONSE:
        {
          Wire.AppendEntriesResponse m = env.getAppendEntriesResponse();
          return new AppendEntriesResponse(
              from,
              to,
              m.getTerm(),
              m.getSuccess(),
              m.getMatchIndex(),
              m.getRejectedIndex(),
              m.getConflictIndex(),
              m.getConflictTerm());
        }
      case HEARTBEAT:
        {
          Wire.Heartbeat m = env.getHeartbeat();
          return new Heartbeat(
              from, to, m.getTerm(), m.getCommitIndex(), m.getRound(), m.getQuiesce());
        }
      case HEARTBEAT_RESPONSE:
        {
          Wire.HeartbeatResponse m = env.getHeartbeatResponse();
          return new HeartbeatResponse(from, to, m.getTerm(), m.getRound(), m.getQuiesced());
        }
      case REQUEST_VOTE:
        {
          Wire.RequestVote m = env.getRequestVote();
          return new RequestVote(
              from,
              to,
              m.getTerm(),
              m.getLastLogIndex(),
              m.getLastLogTerm(),
              m.getPreVote(),
              m.getTransfer());
        }
      case REQUEST_VOTE_RESPONSE:
        {
          Wire.RequestVoteResponse m = env.getRequestVoteResponse();
          return new RequestVoteResponse(from, to, m.getTerm(), m.getGranted(), m.getPreVote());
        }
      case INSTALL_SNAPSHOT:
        {
          Wire.InstallSnapshot m = env.getInstallSnapshot();
          if (!m.hasConfiguration()) {
            throw new IllegalArgumentException("snapshot chunk without configuration");
          }
          ByteBuffer data = m.getData().asReadOnlyByteBuffer();
          // The record checks offset + length <= totalSize, which overflows for huge offsets.
          if (m.getOffset() < 0
              || m.getTotalSize() < 0
              || m.getOffset() > m.getTotalSize() - data.remaining()) {
            throw new IllegalArgumentException(
                "chunk at offset "
                    + Long.toUnsignedString(m.getOffset())
                    + " of "
                    + data.remaining()
                    + " bytes beyond size "
                    + Long.toUnsignedString(m.getTotalSize()));
          }
          return new InstallSnapshot(
              from,
              to,
              m.getTerm(),
              m.getSnapshotIndex(),
              m.getSnapshotTerm(),
              toRecord(m.getConfiguration()),
              m.getTotalSize(),
              m.getChecksum(),
              m.getOffset(),
              data,
              m.getDone());
        }
      case INSTALL_SNAPSHOT_RESPONSE:
        {
          Wire.InstallSnapshotResponse m = env.getInstallSnapshotResponse();
          return new InstallSnapshotResponse(
              from,
              to,
              m.getTerm(),
              m.getSnapshotIndex(),
              m.getNextOffset(),
              m.getDone(),
              m.getRejected());
        }
      case TIMEOUT_NOW:
        return new TimeoutNow(from, to, env.getTimeoutNow().getTerm());
      case READ_INDEX_REQUEST:
        {
          Wire.ReadIndexRequest m = env.getReadIndexRequest();
          return new ReadIndexRequest(from, to, m.getTerm(), m.getRequestId());
        }
      case READ_INDEX_RESPONSE:
        {
          Wire.ReadIndexResponse m = env.getReadIndexResponse();
          return new ReadIndexResponse(
              from, to, m.getTerm(), m.getRequestId(), m.getReadIndex(), m.getSuccess());
        }
      case FORWARD_REQUEST:
        {
          Wire.ForwardRequest m = env.getForwardRequest();
          return new ForwardRequest(
              from, to, m.getTerm(), m.getRequestId(), m.getPayload().asReadOnlyByteBuffer());
        }
      case FORWARD_RESPONSE:
        {
          Wire.ForwardResponse m = env.getForwardResponse();
          return new ForwardResponse(
              from,
              to,
              m.getTerm(),
              m.getRequestId(),
              ForwardResponse.Status.of(m.getStatus()),
              m.getIndex(),
              m.getEntryTerm(),
              m.hasResult() ? m.getResult().asReadOnlyByteBuffer() : null,
              m.getError(),
              m.getStatus() == ForwardResponse.Status.REJECTED.code()
                  ? CommandRejectedException.Reason.of(m.getRejection())
                  : null);
        }
      case BODY_NOT_SET:
      default:
        throw new IllegalArgumentException(
            "envelope without a known message (body case " + env.getBodyCase() + ")");
    }
  }

  static Configuration toRecord(Wire.Configuration c) {
    return new Configuration(
        members(c.getVotersList()),
        members(c.getOutgoingList()),
        members(c.getLearnersList()),
        c.getPromotableList());
  }

  static List<Member> members(List<Wire.Member> list) {
    List<Member> out = new ArrayList<>(list.size());
    for (Wire.Member m : list) {
      if (m.getPriority() > 100 || m.getPriority() < 0) {
        throw new IllegalArgumentException(
            "member priority " + Integer.toUnsignedString(m.getPriority()) + " out of range");
      }
      out.add(new Member(m.getId(), m.getAddress(), m.getPriority()));
    }
    return out;
  }
}
