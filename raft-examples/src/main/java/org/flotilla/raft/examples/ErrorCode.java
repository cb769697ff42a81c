package org.flotilla.raft.examples;

/**
 * The {@code error} codes of the HTTP API's error bodies, {@code {"error": CODE, "message": ...,
 * "outcome": ...}}, each with the status it is answered with. docs/http-api.md lists them all
 * ({@code HttpApiDocTest} checks it does).
 *
 * <p>4xx codes are permanent: the same request is refused again, and nothing was done. 503 codes
 * are refusals that a retry may get past (nothing was proposed). 504 codes leave the outcome
 * unknown. Immutable.
 */
enum ErrorCode {
  /** The request is not valid HTTP (bad request line or headers). */
  MALFORMED_REQUEST(400, "malformed request"),
  /** The key is empty, longer than the limit, badly percent-encoded or not UTF-8. */
  INVALID_KEY(400, "invalid key"),
  /** A path or query parameter (a member id, a consistency) has a value it cannot take. */
  INVALID_PARAMETER(400, "invalid parameter"),
  /** A required query parameter is missing. */
  MISSING_PARAMETER(400, "missing parameter"),
  /** A query parameter the endpoint does not take. */
  UNKNOWN_PARAMETER(400, "unknown parameter"),
  /** A query parameter given more than once. */
  CONFLICTING_PARAMETERS(400, "conflicting parameters"),
  /**
   * {@code Client-Id} or {@code Request-Seq} is malformed, alone, or on a request that is no write.
   */
  INVALID_HEADER(400, "invalid header"),
  /** The body is not the JSON the endpoint takes. */
  INVALID_BODY(400, "invalid body"),
  /** A body on a request that takes none. */
  UNEXPECTED_BODY(400, "unexpected body"),
  /** GET or DELETE of a key that has no value (the body also has the index it was read at). */
  NOT_FOUND(404, "not found"),
  /** No endpoint has this path. */
  NO_SUCH_RESOURCE(404, "no such resource"),
  /** The member named is not in the configuration. */
  UNKNOWN_MEMBER(404, "unknown member"),
  /** A sharded cluster has no group of this number. */
  NO_SUCH_GROUP(404, "no such group"),
  /** The endpoint does not take this method; the {@code Allow} header lists those it takes. */
  METHOD_NOT_ALLOWED(405, "method not allowed"),
  /** POST /members of an id that is already a member. */
  ALREADY_A_MEMBER(409, "already a member"),
  /** A leadership transfer to a member that is a learner. */
  NOT_A_VOTER(409, "not a voter"),
  /** Removing the only voter. */
  LAST_VOTER(409, "last voter"),
  /** Deleting the replica of a group that this server leads. */
  IS_LEADER(409, "is leader"),
  /** A Request-Seq below the newest one this client's session applied. */
  STALE_REQUEST(409, "stale request"),
  /** A Request-Seq other than 1 from a client that has no session (never began, or expired). */
  NO_SESSION(409, "no session"),
  /** The request body is larger than {@code --max-body-bytes}. */
  BODY_TOO_LARGE(413, "body too large"),
  /** The command is larger than the largest log entry. */
  COMMAND_TOO_LARGE(413, "command too large"),
  /** The request line is too long. */
  URI_TOO_LONG(414, "uri too long"),
  /** The request's headers are too large. */
  HEADERS_TOO_LARGE(431, "headers too large"),
  /** An exception of a kind not expected here: a bug; the server's log has it. */
  INTERNAL_ERROR(500, "internal error"),
  /** This node is not the leader, and the request was already forwarded once. */
  NOT_LEADER(503, "not leader"),
  /** No leader is known (an election is under way, or no quorum). */
  NO_LEADER(503, "no leader"),
  /** The leader could not be reached before the request was sent to it. */
  LEADER_UNREACHABLE(503, "leader unreachable"),
  /** Backpressure: too many pending proposals, bytes or uncommitted entries. */
  OVERLOADED(503, "overloaded"),
  /** Refused for now: a membership change or leadership transfer is under way, and the like. */
  REJECTED(503, "rejected"),
  /** A read got no read index within two election timeouts. */
  READ_NOT_CONFIRMED(503, "read not confirmed"),
  /**
   * A sharded cluster's server got, from another server, a request for a group it does not hold
   * (the replica moved): nothing was done; a retry is routed anew.
   */
  NOT_HOSTED(503, "not hosted"),
  /** The node is not running ({@code /health}). */
  NOT_RUNNING(503, "not running"),
  /** The node was closed: 503 if nothing was proposed, 504 for a write that was pending. */
  NODE_STOPPED(503, "node stopped"),
  /** The node stopped after a fatal error: 503, or 504 for a write that was pending. */
  NODE_FAILED(503, "node failed"),
  /** A read whose index was not applied in time; it changed nothing and may be retried. */
  READ_TIMEOUT(504, "read timeout"),
  /** A write that got no outcome in time; it may still take effect. */
  TIMEOUT(504, "timeout"),
  /** The write's outcome is unknown (for example, leadership was lost while it was pending). */
  OUTCOME_UNKNOWN(504, "outcome unknown"),
  /** The leader's connection failed after the forwarded request was sent. */
  FORWARD_FAILED(504, "forward failed");

  /** The status this code is normally answered with. */
  final int status;

  /** The code as it appears in the body. */
  final String text;

  ErrorCode(int status, String text) {
    this.status = status;
    this.text = text;
  }
}
