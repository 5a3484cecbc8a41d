/**
 * Ephemeral ECDH on secp256k1. The shared secret is the 32-byte x-coordinate (SEC1 §3.3.1).
 * Peer points are validated (on curve, not infinity) before use.
 * @module
 */
import { secp256k1 } from "@noble/curves/secp256k1.js";
import { abytes, equalBytes, fromHex } from "../bytes";
import { Size } from "../constants";
import { ProtocolError } from "../errors";
import { curve } from "./curve-backend";
import { draw, type RandomSource } from "./random";

/** An ephemeral key pair; the caller wipes `secretKey` after use. */
export interface EphemeralKeyPair {
  /** 32-byte scalar. */
  secretKey: Uint8Array;
  /** 33-byte compressed SEC1 point. */
  publicKey: Uint8Array;
}

/**
 * Generate a key pair from 48 random bytes reduced mod n (FIPS 186-5 A.2.1, negligible bias).
 * @param random - CSPRNG
 */
export function generateKeyPair(random: RandomSource): EphemeralKeyPair {
  const seed = draw(random, secp256k1.lengths.seed as number, "seed");
  const secretKey = secp256k1.utils.randomSecretKey(seed);
  seed.fill(0);
  return { secretKey, publicKey: curve().publicKey(secretKey, true) };
}

/**
 * Check that bytes encode a valid secp256k1 point (compressed or uncompressed).
 * @returns true when valid
 */
export function isValidPublicKey(publicKey: Uint8Array): boolean {
  return curve().convertPoint(publicKey, true) !== undefined;
}

/**
 * ECDH: x-coordinate of secretKey × peerPublicKey.
 * @param secretKey - our 32-byte scalar
 * @param peerPublicKey - SEC1 point (33 or 65 bytes)
 * @returns 32-byte shared x-coordinate
 * @throws ProtocolError E_MALFORMED when the peer point is invalid
 */
export function ecdhSharedX(secretKey: Uint8Array, peerPublicKey: Uint8Array): Uint8Array {
  abytes(secretKey, Size.SECRET_KEY, "secretKey");
  abytes(peerPublicKey, undefined, "peerPublicKey");
  const x = curve().ecdhX(secretKey, peerPublicKey);
  if (x === undefined) throw new ProtocolError("E_MALFORMED", "invalid peer public key");
  return x;
}

// DER prefixes of SubjectPublicKeyInfo{ id-ecPublicKey, secp256k1 } with a BIT STRING of 65 / 33 bytes.
const SPKI_UNCOMPRESSED_PREFIX = fromHex("3056301006072a8648ce3d020106052b8104000a034200");
const SPKI_COMPRESSED_PREFIX = fromHex("3036301006072a8648ce3d020106052b8104000a032200");

/**
 * Parse an X.509 SubjectPublicKeyInfo for a secp256k1 key. Strict: only the exact DER encoding
 * with the named curve OID is accepted (no explicit curve parameters, no BER variants).
 * @returns the SEC1 point bytes (33 or 65)
 * @throws ProtocolError E_MALFORMED for any other encoding or an invalid point
 */
export function parseSpkiPublicKey(spki: Uint8Array): Uint8Array {
  abytes(spki, undefined, "spki");
  for (const [prefix, len] of [
    [SPKI_UNCOMPRESSED_PREFIX, 65],
    [SPKI_COMPRESSED_PREFIX, 33],
  ] as const) {
    if (spki.length === prefix.length + len && equalBytes(spki.subarray(0, prefix.length), prefix)) {
      const point = spki.slice(prefix.length);
      if (!isValidPublicKey(point)) throw new ProtocolError("E_MALFORMED", "invalid point");
      return point;
    }
  }
  throw new ProtocolError("E_MALFORMED", "unsupported SubjectPublicKeyInfo encoding");
}
