/**
 * ECDSA on secp256k1 over SHA-256 of `label || body`, as 65-byte recoverable signatures
 * (r 32 || s 32 || recovery 1) or, on the join's wire, as 64-byte compact signatures (EIP-2098:
 * r 32 || yParityAndS 32, the recovery bit in the top bit of s, which low-S leaves free).
 * Verifiers that know only an Ethereum-style address recover the key and compare addresses in
 * constant time. High-S signatures are refused (malleability). The curve backends keep the 65-byte
 * layout; the compact form is converted here, so both backends and the Wycheproof runs are unchanged.
 * @module
 */
import { secp256k1 } from "@noble/curves/secp256k1.js";
import { abytes, equalBytes, labelBytes } from "../bytes";
import { Size } from "../constants";
import { ProtocolError } from "../errors";
import { addressOfPoint } from "./address";
import { curve } from "./curve-backend";
import { sha256 } from "./hash";

const N = secp256k1.Point.CURVE().n;
const HALF_N = N >> 1n;

/** A scalar as 32 big-endian bytes. */
function scalarBytes(n: bigint): Uint8Array {
  const out = new Uint8Array(32);
  for (let i = 31, x = n; i >= 0; i--, x >>= 8n) out[i] = Number(x & 0xffn);
  return out;
}

const N_BYTES = scalarBytes(N);
const HALF_N_BYTES = scalarBytes(HALF_N);

/**
 * Compares two 32-byte big-endian numbers (negative, zero, positive), without BigInt: the range
 * checks run on every signature a head verifies. Not constant-time: signatures are public.
 */
function compare32(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < 32; i++) if (a[i] !== b[i]) return (a[i] as number) - (b[i] as number);
  return 0;
}

/** 0 < x < n for a 32-byte big-endian x. */
function inScalarRange(x: Uint8Array): boolean {
  return x.some((v) => v !== 0) && compare32(x, N_BYTES) < 0;
}

/**
 * Sign `label || body` (RFC 6979 deterministic k, low-S).
 * @param secretKey - 32-byte secp256k1 secret key
 * @param label - domain label for this purpose
 * @param body - encoded transcript
 * @returns 65-byte signature r || s || recovery
 */
export function signLabelled(secretKey: Uint8Array, label: string, body: Uint8Array): Uint8Array {
  abytes(secretKey, Size.SECRET_KEY, "secretKey");
  return curve().signRecoverable(sha256(labelBytes(label), body), secretKey);
}

/**
 * Recover the signer's address from a 65-byte signature over `label || body`.
 * @returns the 20-byte address
 * @throws ProtocolError E_BAD_SIGNATURE on high-S, out-of-range r/s, bad recovery byte or no key
 */
export function recoverAddress(label: string, body: Uint8Array, signature: Uint8Array): Uint8Array {
  abytes(signature, Size.SIGNATURE, "signature");
  const r = signature.subarray(0, 32);
  const s = signature.subarray(32, 64);
  const v = signature[64] as number;
  if (!inScalarRange(r) || !inScalarRange(s))
    throw new ProtocolError("E_BAD_SIGNATURE", "signature out of range");
  if (compare32(s, HALF_N_BYTES) > 0) throw new ProtocolError("E_BAD_SIGNATURE", "high-S signature");
  // Only 0/1: recovery ids 2/3 (r >= n) essentially never occur and would widen the attack surface.
  if (v !== 0 && v !== 1) throw new ProtocolError("E_BAD_SIGNATURE", "bad recovery id");
  const publicKey = curve().recoverPublicKey(sha256(labelBytes(label), body), signature);
  if (publicKey === undefined) throw new ProtocolError("E_BAD_SIGNATURE", "key recovery failed");
  return addressOfPoint(publicKey);
}

/**
 * The 64-byte compact form (EIP-2098) of a 65-byte recoverable signature: r || (recovery << 255 | s).
 * Lossless for every low-S signature, because s ≤ n/2 < 2^255 leaves the top bit of s unused.
 * @throws RangeError for a signature of another length, a recovery byte other than 0/1, or high-S
 *   (our signers never produce them: a programming error)
 */
export function toCompactSignature(signature: Uint8Array): Uint8Array {
  abytes(signature, Size.SIGNATURE, "signature");
  const v = signature[64] as number;
  if (v !== 0 && v !== 1) throw new RangeError("signature: recovery byte must be 0 or 1");
  if (compare32(signature.subarray(32, 64), HALF_N_BYTES) > 0) throw new RangeError("signature: high-S");
  const out = signature.slice(0, Size.COMPACT_SIGNATURE);
  out[32] = (out[32] as number) | (v << 7);
  return out;
}

/**
 * The 65-byte recoverable form of a 64-byte compact signature (EIP-2098): the top bit of the second
 * half is the recovery bit, the other 255 bits are s. Every 64-byte string has exactly one
 * expansion; range and low-S checks are {@link recoverAddress}'s.
 */
export function fromCompactSignature(compact: Uint8Array): Uint8Array {
  abytes(compact, Size.COMPACT_SIGNATURE, "signature");
  const out = new Uint8Array(Size.SIGNATURE);
  out.set(compact, 0);
  out[32] = (compact[32] as number) & 0x7f;
  out[64] = (compact[32] as number) >> 7;
  return out;
}

/**
 * Sign `label || body` as a 64-byte compact signature (EIP-2098), the join's wire form.
 * @returns r || yParityAndS
 */
export function signCompact(secretKey: Uint8Array, label: string, body: Uint8Array): Uint8Array {
  return toCompactSignature(signLabelled(secretKey, label, body));
}

/**
 * Recover the signer's address from a 64-byte compact signature over `label || body`.
 * @throws ProtocolError E_BAD_SIGNATURE on high-S, out-of-range r/s or no key
 */
export function recoverAddressCompact(label: string, body: Uint8Array, compact: Uint8Array): Uint8Array {
  return recoverAddress(label, body, fromCompactSignature(compact));
}

/**
 * Verify that the compact `signature` over `label || body` was made by the key with `expectedAddress`.
 * @throws ProtocolError E_BAD_SIGNATURE otherwise
 */
export function verifyCompact(
  expectedAddress: Uint8Array,
  label: string,
  body: Uint8Array,
  signature: Uint8Array,
): void {
  verifyLabelled(expectedAddress, label, body, fromCompactSignature(signature));
}

/**
 * Verify that `signature` over `label || body` was made by the key with `expectedAddress`.
 * @throws ProtocolError E_BAD_SIGNATURE otherwise
 */
export function verifyLabelled(
  expectedAddress: Uint8Array,
  label: string,
  body: Uint8Array,
  signature: Uint8Array,
): void {
  abytes(expectedAddress, Size.ADDRESS, "expectedAddress");
  const got = recoverAddress(label, body, signature);
  if (!equalBytes(got, expectedAddress)) throw new ProtocolError("E_BAD_SIGNATURE", "signer mismatch");
}

/** Options for {@link verifyDer}. */
export interface DerVerifyOptions {
  /**
   * Accept high-S signatures. Only for interoperability tests (Wycheproof contains valid
   * high-S signatures); the protocol itself never sets this.
   */
  allowHighS?: boolean;
}

/**
 * Verify a strict-DER ECDSA signature over SHA-256(message) with a SEC1 public key.
 * Not used on the wire; it exists so the Wycheproof DER vectors exercise our curve wrapper.
 * @returns true when valid; false for any malformed or invalid input (never throws on bad bytes)
 */
export function verifyDer(
  signatureDer: Uint8Array,
  message: Uint8Array,
  publicKey: Uint8Array,
  opts: DerVerifyOptions = {},
): boolean {
  try {
    return secp256k1.verify(signatureDer, sha256(message), publicKey, {
      prehash: false,
      format: "der",
      lowS: !opts.allowHighS,
    });
  } catch {
    return false;
  }
}
