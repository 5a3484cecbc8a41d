/**
 * Join message codecs (docs/protocol.md §Join). Fixed sizes; every decoder is strict.
 * @module
 */
import { beginMessage, openMessage, type Reader } from "../bytes";
import { JoinSuite, MessageSize, MessageType, Size } from "../constants";
import { ProtocolError } from "../errors";
import { checkPosition, type Position } from "../geo";

/** Reserved join suites we recognise but do not implement yet (2 = ML-KEM-768 hybrid). */
export const RESERVED_JOIN_SUITES: readonly number[] = [2];

/** Head → device: a fresh single-use challenge. */
export interface JoinChallenge {
  clusterId: number;
  /** 16 random bytes. */
  challenge: Uint8Array;
}

/** Device → head. */
export interface JoinRequest {
  suite: JoinSuite;
  deviceId: Uint8Array;
  challenge: Uint8Array;
  position: Position;
  /** Device ephemeral ECDH key, 33-byte compressed. */
  ephemeralPublicKey: Uint8Array;
  /** 65-byte recoverable signature over the join-request transcript. */
  signature: Uint8Array;
}

/** Head → device. */
export interface JoinResponse {
  suite: JoinSuite;
  /** 4-byte key id naming the membership in later grant messages. */
  kid: Uint8Array;
  /** Membership expiry, unix ms. */
  expiresAt: number;
  /** Head ephemeral ECDH key, 33-byte compressed. */
  ephemeralPublicKey: Uint8Array;
  /** 65-byte recoverable signature over the join-response transcript. */
  signature: Uint8Array;
}

/** Encode a JoinChallenge (22 bytes). */
export function encodeJoinChallenge(m: JoinChallenge): Uint8Array {
  return beginMessage(MessageType.JOIN_CHALLENGE)
    .u32(m.clusterId)
    .bytes(m.challenge, Size.CHALLENGE, "challenge")
    .finish();
}

/**
 * Decode a JoinChallenge.
 * @throws ProtocolError E_MALFORMED on any deviation from the layout
 */
export function decodeJoinChallenge(b: Uint8Array): JoinChallenge {
  const r = openMessage(b, MessageType.JOIN_CHALLENGE, MessageSize.JOIN_CHALLENGE);
  const m = { clusterId: r.u32(), challenge: r.bytes(Size.CHALLENGE) };
  r.end();
  return m;
}

function readJoinSuite(r: Reader): JoinSuite {
  const suite = r.u8();
  if (suite === JoinSuite.SECP256K1_ECDH_HKDF_SHA256) return suite;
  if (RESERVED_JOIN_SUITES.includes(suite))
    throw new ProtocolError("E_UNSUPPORTED", "join suite not supported");
  throw new ProtocolError("E_MALFORMED", "unknown join suite");
}

/** Encode a JoinRequest (157 bytes). */
export function encodeJoinRequest(m: JoinRequest): Uint8Array {
  return beginMessage(MessageType.JOIN_REQUEST)
    .u8(m.suite)
    .bytes(m.deviceId, Size.DEVICE_ID, "deviceId")
    .bytes(m.challenge, Size.CHALLENGE, "challenge")
    .i32(m.position.lat)
    .i32(m.position.lon)
    .bytes(m.ephemeralPublicKey, Size.PUBLIC_KEY, "ephemeralPublicKey")
    .bytes(m.signature, Size.SIGNATURE, "signature")
    .finish();
}

/**
 * Decode a JoinRequest.
 * @throws ProtocolError E_MALFORMED (E_UNSUPPORTED for a reserved join suite)
 */
export function decodeJoinRequest(b: Uint8Array): JoinRequest {
  const r = openMessage(b, MessageType.JOIN_REQUEST);
  const suite = readJoinSuite(r);
  if (b.length !== MessageSize.JOIN_REQUEST) throw new ProtocolError("E_MALFORMED", "wrong message length");
  const deviceId = r.bytes(Size.DEVICE_ID);
  const challenge = r.bytes(Size.CHALLENGE);
  const position = checkPosition({ lat: r.i32(), lon: r.i32() });
  const ephemeralPublicKey = readCompressedPoint(r);
  const signature = r.bytes(Size.SIGNATURE);
  r.end();
  return { suite, deviceId, challenge, position, ephemeralPublicKey, signature };
}

/** Encode a JoinResponse (113 bytes). */
export function encodeJoinResponse(m: JoinResponse): Uint8Array {
  return beginMessage(MessageType.JOIN_RESPONSE)
    .u8(m.suite)
    .bytes(m.kid, Size.KID, "kid")
    .u64(m.expiresAt)
    .bytes(m.ephemeralPublicKey, Size.PUBLIC_KEY, "ephemeralPublicKey")
    .bytes(m.signature, Size.SIGNATURE, "signature")
    .finish();
}

/**
 * Decode a JoinResponse.
 * @throws ProtocolError E_MALFORMED (E_UNSUPPORTED for a reserved join suite)
 */
export function decodeJoinResponse(b: Uint8Array): JoinResponse {
  const r = openMessage(b, MessageType.JOIN_RESPONSE);
  const suite = readJoinSuite(r);
  if (b.length !== MessageSize.JOIN_RESPONSE) throw new ProtocolError("E_MALFORMED", "wrong message length");
  const kid = r.bytes(Size.KID);
  const expiresAt = r.time();
  const ephemeralPublicKey = readCompressedPoint(r);
  const signature = r.bytes(Size.SIGNATURE);
  r.end();
  return { suite, kid, expiresAt, ephemeralPublicKey, signature };
}

function readCompressedPoint(r: Reader): Uint8Array {
  const p = r.bytes(Size.PUBLIC_KEY);
  // Only the compressed SEC1 prefixes; curve membership is checked at ECDH time.
  if (p[0] !== 2 && p[0] !== 3) throw new ProtocolError("E_MALFORMED", "not a compressed point");
  return p;
}
