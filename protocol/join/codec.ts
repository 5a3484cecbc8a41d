/**
 * Join message codecs (docs/protocol.md §Join). Fixed sizes per join suite; every decoder is
 * strict. Version 2: the challenge without clusterId, the device named by its 16-byte tag, the
 * membership expiry in u32 seconds and 64-byte compact signatures.
 * @module
 */
import { openMessage, type Reader } from "../bytes";
import { beginMessage, type Writer } from "../writer";
import { JoinSuite, MessageSize, MessageType, Size } from "../constants";
import { ProtocolError } from "../errors";
import { checkPosition, type Position } from "../geo";
import { fromWireSeconds, toWireSeconds } from "../wire-time";
import { decodeOffer, encodeOffer } from "./suites";

/**
 * Head → device: a fresh single-use challenge. The cluster is not sent: the device knows which
 * cluster it joins, and T_req binds the cluster the head expects.
 */
export interface JoinChallenge {
  /** 16 bytes, opaque to the device. */
  challenge: Uint8Array;
}

interface JoinRequestFields {
  /** 16-byte device tag ({@link deviceTag}); the full device ID is only in T_req. */
  deviceTag: Uint8Array;
  challenge: Uint8Array;
  position: Position;
  /** Device ephemeral ECDH key, 33-byte compressed. */
  ephemeralPublicKey: Uint8Array;
  /** 64-byte compact signature (EIP-2098) over the join-request transcript. */
  signature: Uint8Array;
}

/** Device → head, classic suite: offers the classic suite only (140 bytes). */
export interface ClassicJoinRequest extends JoinRequestFields {
  suite: typeof JoinSuite.SECP256K1_ECDH_HKDF_SHA256;
}

/** Device → head, hybrid layout: carries an ML-KEM-768 key and the device's offer (1325 bytes). */
export interface HybridJoinRequest extends JoinRequestFields {
  suite: typeof JoinSuite.MLKEM768_SECP256K1_HKDF_SHA256;
  /** Suites the device accepts, ascending; always contains the hybrid suite. */
  offer: readonly JoinSuite[];
  /** Device ephemeral ML-KEM-768 encapsulation key, 1184 bytes. */
  kemPublicKey: Uint8Array;
}

/** Device → head. */
export type JoinRequest = ClassicJoinRequest | HybridJoinRequest;

interface JoinResponseFields {
  /** 4-byte key id naming the membership in later grant messages. */
  kid: Uint8Array;
  /** Membership expiry, unix ms, a whole second (u32 seconds on the wire). */
  expiresAt: number;
  /** Head ephemeral ECDH key, 33-byte compressed. */
  ephemeralPublicKey: Uint8Array;
  /** 64-byte compact signature (EIP-2098) over the join-response transcript. */
  signature: Uint8Array;
}

/** Head → device when the head chose the classic suite (108 bytes). */
export interface ClassicJoinResponse extends JoinResponseFields {
  suite: typeof JoinSuite.SECP256K1_ECDH_HKDF_SHA256;
}

/** Head → device when the head chose the hybrid suite (1196 bytes). */
export interface HybridJoinResponse extends JoinResponseFields {
  suite: typeof JoinSuite.MLKEM768_SECP256K1_HKDF_SHA256;
  /** ML-KEM-768 ciphertext to the device's key, 1088 bytes. */
  kemCiphertext: Uint8Array;
}

/** Head → device. */
export type JoinResponse = ClassicJoinResponse | HybridJoinResponse;

/** Removes `K` from each member of a union (the built-in Omit merges the members). */
export type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/** Encode a JoinChallenge (18 bytes). */
export function encodeJoinChallenge(m: JoinChallenge): Uint8Array {
  return beginMessage(MessageType.JOIN_CHALLENGE).bytes(m.challenge, Size.CHALLENGE, "challenge").finish();
}

/**
 * Decode a JoinChallenge.
 * @throws ProtocolError E_MALFORMED on any deviation from the layout
 */
export function decodeJoinChallenge(b: Uint8Array): JoinChallenge {
  const r = openMessage(b, MessageType.JOIN_CHALLENGE, MessageSize.JOIN_CHALLENGE);
  const m = { challenge: r.bytes(Size.CHALLENGE) };
  r.end();
  return m;
}

/** Read the suite byte and check the message length that suite implies. */
function readJoinSuite(r: Reader, b: Uint8Array, sizes: Record<JoinSuite, number>): JoinSuite {
  const suite = r.u8();
  if (suite !== JoinSuite.SECP256K1_ECDH_HKDF_SHA256 && suite !== JoinSuite.MLKEM768_SECP256K1_HKDF_SHA256)
    throw new ProtocolError("E_MALFORMED", "unknown join suite");
  if (b.length !== sizes[suite]) throw new ProtocolError("E_MALFORMED", "wrong message length");
  return suite;
}

const REQUEST_SIZE: Record<JoinSuite, number> = {
  [JoinSuite.SECP256K1_ECDH_HKDF_SHA256]: MessageSize.JOIN_REQUEST,
  [JoinSuite.MLKEM768_SECP256K1_HKDF_SHA256]: MessageSize.JOIN_REQUEST_HYBRID,
};
const RESPONSE_SIZE: Record<JoinSuite, number> = {
  [JoinSuite.SECP256K1_ECDH_HKDF_SHA256]: MessageSize.JOIN_RESPONSE,
  [JoinSuite.MLKEM768_SECP256K1_HKDF_SHA256]: MessageSize.JOIN_RESPONSE_HYBRID,
};

/**
 * The request fields in wire order after the header (shared with the transcript, which inserts
 * clusterId and headAddress after the suite fields).
 */
export function writeRequestSuite(w: Writer, m: DistributiveOmit<JoinRequest, "signature">): Writer {
  w.u8(m.suite);
  if (m.suite === JoinSuite.MLKEM768_SECP256K1_HKDF_SHA256) w.u8(encodeOffer(assertHybridOffer(m.offer)));
  return w;
}

function assertHybridOffer(offer: readonly JoinSuite[]): readonly JoinSuite[] {
  if (
    !offer.includes(JoinSuite.MLKEM768_SECP256K1_HKDF_SHA256) ||
    decodeOffer(encodeOffer(offer)) === undefined
  )
    throw new RangeError("offer: a hybrid request must offer the hybrid suite and only known suites");
  return offer;
}

/** Encode a JoinRequest (140 bytes classic, 1325 bytes hybrid). */
export function encodeJoinRequest(m: JoinRequest): Uint8Array {
  const w = writeRequestSuite(beginMessage(MessageType.JOIN_REQUEST), m)
    .bytes(m.deviceTag, Size.DEVICE_TAG, "deviceTag")
    .bytes(m.challenge, Size.CHALLENGE, "challenge")
    .i32(m.position.lat)
    .i32(m.position.lon)
    .bytes(m.ephemeralPublicKey, Size.PUBLIC_KEY, "ephemeralPublicKey");
  if (m.suite === JoinSuite.MLKEM768_SECP256K1_HKDF_SHA256)
    w.bytes(m.kemPublicKey, Size.KEM_PUBLIC_KEY, "kemPublicKey");
  return w.bytes(m.signature, Size.COMPACT_SIGNATURE, "signature").finish();
}

/**
 * Decode a JoinRequest of either suite.
 * @throws ProtocolError E_MALFORMED (unknown suite, a length that does not fit the suite, an
 *   offer without the hybrid suite or with unknown bits, bad position or point prefix)
 */
export function decodeJoinRequest(b: Uint8Array): JoinRequest {
  const r = openMessage(b, MessageType.JOIN_REQUEST);
  const suite = readJoinSuite(r, b, REQUEST_SIZE);
  let offer: JoinSuite[] | undefined;
  if (suite === JoinSuite.MLKEM768_SECP256K1_HKDF_SHA256) {
    offer = decodeOffer(r.u8());
    // The layout is the hybrid one, so the device must offer it; unknown bits are not an offer.
    if (offer === undefined || !offer.includes(suite))
      throw new ProtocolError("E_MALFORMED", "bad join-suite offer");
  }
  const fields = {
    deviceTag: r.bytes(Size.DEVICE_TAG),
    challenge: r.bytes(Size.CHALLENGE),
    position: checkPosition({ lat: r.i32(), lon: r.i32() }),
    ephemeralPublicKey: readCompressedPoint(r),
  };
  // The ML-KEM key's modulus check belongs to encapsulation (FIPS 203 §7.2), after the signature.
  const kemPublicKey = offer ? r.bytes(Size.KEM_PUBLIC_KEY) : undefined;
  const signature = r.bytes(Size.COMPACT_SIGNATURE);
  r.end();
  return offer && kemPublicKey
    ? { suite: JoinSuite.MLKEM768_SECP256K1_HKDF_SHA256, offer, ...fields, kemPublicKey, signature }
    : { suite: JoinSuite.SECP256K1_ECDH_HKDF_SHA256, ...fields, signature };
}

/** Encode a JoinResponse (108 bytes classic, 1196 bytes hybrid). */
export function encodeJoinResponse(m: JoinResponse): Uint8Array {
  const w = beginMessage(MessageType.JOIN_RESPONSE)
    .u8(m.suite)
    .bytes(m.kid, Size.KID, "kid")
    .u32(toWireSeconds(m.expiresAt, "expiresAt"))
    .bytes(m.ephemeralPublicKey, Size.PUBLIC_KEY, "ephemeralPublicKey");
  if (m.suite === JoinSuite.MLKEM768_SECP256K1_HKDF_SHA256)
    w.bytes(m.kemCiphertext, Size.KEM_CIPHERTEXT, "kemCiphertext");
  return w.bytes(m.signature, Size.COMPACT_SIGNATURE, "signature").finish();
}

/**
 * Decode a JoinResponse of either suite.
 * @throws ProtocolError E_MALFORMED on any deviation from the suite's layout
 */
export function decodeJoinResponse(b: Uint8Array): JoinResponse {
  const r = openMessage(b, MessageType.JOIN_RESPONSE);
  const suite = readJoinSuite(r, b, RESPONSE_SIZE);
  const fields = {
    kid: r.bytes(Size.KID),
    expiresAt: fromWireSeconds(r.u32()),
    ephemeralPublicKey: readCompressedPoint(r),
  };
  if (suite === JoinSuite.MLKEM768_SECP256K1_HKDF_SHA256) {
    const kemCiphertext = r.bytes(Size.KEM_CIPHERTEXT);
    const signature = r.bytes(Size.COMPACT_SIGNATURE);
    r.end();
    return { suite, ...fields, kemCiphertext, signature };
  }
  const signature = r.bytes(Size.COMPACT_SIGNATURE);
  r.end();
  return { suite, ...fields, signature };
}

function readCompressedPoint(r: Reader): Uint8Array {
  const p = r.bytes(Size.PUBLIC_KEY);
  // Only the compressed SEC1 prefixes; curve membership is checked at ECDH time.
  if (p[0] !== 2 && p[0] !== 3) throw new ProtocolError("E_MALFORMED", "not a compressed point");
  return p;
}
