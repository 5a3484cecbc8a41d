/**
 * Session-grant message codecs (docs/protocol.md §Grant). Fixed sizes; strict decoders. Times are
 * unix ms in the API and u32 seconds on the wire (SessionRequest, Grant; `wire-time.ts`).
 * @module
 */
import { abytes, concatBytes, openMessage, type Reader } from "../bytes";
import { beginMessage } from "../writer";
import { type AeadSuite, isAeadSuite, MessageSize, MessageType, Role, Size } from "../constants";
import { ERROR_CODES, type ErrorCode, errorCodeFromWire, ProtocolError } from "../errors";
import { fromWireSeconds, toWireSeconds } from "../wire-time";

/** M1 → M2: ask for a session. */
export interface SessionRequest {
  suite: AeadSuite;
  /** M1's membership key id. */
  kid: Uint8Array;
  /** N1, 16 random bytes. */
  nonce: Uint8Array;
  /** M1's clock, unix ms rounded down to a whole second (u32 seconds on the wire). */
  timestamp: number;
  /** HMAC-SHA256/128 under M1's request key. */
  mac: Uint8Array;
}

/** M2 → head: M1's request wrapped with M2's own authenticator. */
export interface GrantRequest {
  /** M2's membership key id. */
  kid: Uint8Array;
  /** N2, 16 random bytes. */
  nonce: Uint8Array;
  /** HMAC-SHA256/128 under M2's grant-request key. */
  mac: Uint8Array;
  /** M1's SessionRequest bytes, verbatim (M2's MAC covers their hash). */
  sessionRequestBytes: Uint8Array;
  /** The same, decoded. */
  sessionRequest: SessionRequest;
}

/** Head → one member: the session key sealed under that member's K_m. */
export interface Grant {
  role: Role;
  suite: AeadSuite;
  sessionId: Uint8Array;
  /** Unix ms, a whole second (u32 seconds on the wire). */
  issuedAt: number;
  /** Unix ms, a whole second (u32 seconds on the wire). */
  expiresAt: number;
  /**
   * The first {@link Size.NONCE_HINT} bytes of the nonce this member sent (N1 or N2): enough to
   * find its pending entry; the grant key and the AAD use the whole nonce the member kept.
   */
  nonceHint: Uint8Array;
  /** AEAD(Sk) = 32-byte ciphertext || 16-byte tag. */
  sealed: Uint8Array;
}

/** Head → M2: M1 could not be verified. */
export interface GrantWarning {
  reason: ErrorCode;
  /** N2 of the refused GrantRequest. */
  nonce: Uint8Array;
  issuedAt: number;
  mac: Uint8Array;
}

function readSuite(r: Reader): AeadSuite {
  const s = r.u8();
  if (!isAeadSuite(s)) throw new ProtocolError("E_MALFORMED", "unknown AEAD suite");
  return s;
}

/** Encode a SessionRequest (43 bytes). */
export function encodeSessionRequest(m: SessionRequest): Uint8Array {
  return beginMessage(MessageType.SESSION_REQUEST)
    .u8(m.suite)
    .bytes(m.kid, Size.KID, "kid")
    .bytes(m.nonce, Size.NONCE, "nonce")
    .u32(toWireSeconds(m.timestamp, "timestamp"))
    .bytes(m.mac, Size.MAC, "mac")
    .finish();
}

/**
 * Decode a SessionRequest.
 * @throws ProtocolError E_MALFORMED
 */
export function decodeSessionRequest(b: Uint8Array): SessionRequest {
  const r = openMessage(b, MessageType.SESSION_REQUEST, MessageSize.SESSION_REQUEST);
  const m = {
    suite: readSuite(r),
    kid: r.bytes(Size.KID),
    nonce: r.bytes(Size.NONCE),
    timestamp: fromWireSeconds(r.u32()),
    mac: r.bytes(Size.MAC),
  };
  r.end();
  return m;
}

/** Encode a GrantRequest (81 bytes). */
export function encodeGrantRequest(m: Omit<GrantRequest, "sessionRequest">): Uint8Array {
  return beginMessage(MessageType.GRANT_REQUEST)
    .bytes(m.kid, Size.KID, "kid")
    .bytes(m.nonce, Size.NONCE, "nonce")
    .bytes(m.mac, Size.MAC, "mac")
    .bytes(m.sessionRequestBytes, MessageSize.SESSION_REQUEST, "sessionRequestBytes")
    .finish();
}

/**
 * Decode a GrantRequest, including the nested SessionRequest.
 * @throws ProtocolError E_MALFORMED
 */
export function decodeGrantRequest(b: Uint8Array): GrantRequest {
  const r = openMessage(b, MessageType.GRANT_REQUEST, MessageSize.GRANT_REQUEST);
  const kid = r.bytes(Size.KID);
  const nonce = r.bytes(Size.NONCE);
  const mac = r.bytes(Size.MAC);
  const sessionRequestBytes = r.bytes(MessageSize.SESSION_REQUEST);
  r.end();
  return { kid, nonce, mac, sessionRequestBytes, sessionRequest: decodeSessionRequest(sessionRequestBytes) };
}

/** Encode the Grant header (everything before `sealed`); also the AEAD AAD prefix. */
export function encodeGrantHeader(m: Omit<Grant, "sealed">): Uint8Array {
  return beginMessage(MessageType.GRANT)
    .u8(m.role)
    .u8(m.suite)
    .bytes(m.sessionId, Size.SESSION_ID, "sessionId")
    .u32(toWireSeconds(m.issuedAt, "issuedAt"))
    .u32(toWireSeconds(m.expiresAt, "expiresAt"))
    .bytes(m.nonceHint, Size.NONCE_HINT, "nonceHint")
    .finish();
}

/** Bytes of a Grant before `sealed` (version, type, role, suite, sessionId, times, nonce hint). */
export const GRANT_HEADER_BYTES = MessageSize.GRANT - Size.SESSION_KEY - Size.TAG;

/** Encode a Grant (72 bytes). */
export function encodeGrant(m: Grant): Uint8Array {
  return encodeGrantFromParts(encodeGrantHeader(m), m.sealed);
}

/**
 * Encode a Grant from its header as {@link encodeGrantHeader} encoded it and the sealed key: the
 * head encodes the header once, for the AAD and for the message.
 */
export function encodeGrantFromParts(header: Uint8Array, sealed: Uint8Array): Uint8Array {
  abytes(header, GRANT_HEADER_BYTES, "header");
  abytes(sealed, Size.SESSION_KEY + Size.TAG, "sealed");
  return concatBytes(header, sealed);
}

/**
 * Decode a Grant.
 * @throws ProtocolError E_MALFORMED
 */
export function decodeGrant(b: Uint8Array): Grant {
  const r = openMessage(b, MessageType.GRANT, MessageSize.GRANT);
  const { role, suite } = readRoleAndSuite(r);
  const sessionId = r.bytes(Size.SESSION_ID);
  const issuedAt = fromWireSeconds(r.u32());
  const expiresAt = fromWireSeconds(r.u32());
  const nonceHint = r.bytes(Size.NONCE_HINT);
  const sealed = r.bytes(Size.SESSION_KEY + Size.TAG);
  r.end();
  return { role, suite, sessionId, issuedAt, expiresAt, nonceHint, sealed };
}

/**
 * The role of a Grant, after the checks {@link decodeGrant} makes (version, type, exact length,
 * role, suite) but without copying its fields out: for a Grant that is only passed on (the head's
 * session answer).
 * @throws ProtocolError E_MALFORMED
 */
export function grantRoleOf(b: Uint8Array): Role {
  return readRoleAndSuite(openMessage(b, MessageType.GRANT, MessageSize.GRANT)).role;
}

/** A Grant's role and suite, the two fields after its header that can be malformed. */
function readRoleAndSuite(r: Reader): { role: Role; suite: AeadSuite } {
  const role = r.u8();
  if (role !== Role.INITIATOR && role !== Role.RESPONDER)
    throw new ProtocolError("E_MALFORMED", "unknown role");
  return { role, suite: readSuite(r) };
}

/** Encode a GrantWarning without its MAC (the MAC input tail). */
export function encodeGrantWarningBody(m: Omit<GrantWarning, "mac">): Uint8Array {
  return beginMessage(MessageType.GRANT_WARNING)
    .u8(ERROR_CODES[m.reason])
    .bytes(m.nonce, Size.NONCE, "nonce")
    .u64(m.issuedAt)
    .finish();
}

/** Encode a GrantWarning (43 bytes). */
export function encodeGrantWarning(m: GrantWarning): Uint8Array {
  return beginMessage(MessageType.GRANT_WARNING)
    .bytes(encodeGrantWarningBody(m).subarray(2))
    .bytes(m.mac, Size.MAC, "mac")
    .finish();
}

/**
 * Decode a GrantWarning.
 * @throws ProtocolError E_MALFORMED (also for an unregistered reason code)
 */
export function decodeGrantWarning(b: Uint8Array): GrantWarning {
  const r = openMessage(b, MessageType.GRANT_WARNING, MessageSize.GRANT_WARNING);
  const reason = errorCodeFromWire(r.u8());
  if (reason === undefined) throw new ProtocolError("E_MALFORMED", "unknown reason code");
  const m = { reason, nonce: r.bytes(Size.NONCE), issuedAt: r.time(), mac: r.bytes(Size.MAC) };
  r.end();
  return m;
}
