/**
 * HKDF-SHA256 (RFC 5869) with domain-separation labels.
 * @module
 */
import { abytes, concatBytes, labelBytes } from "../bytes";
import { symmetric } from "./backend";

/** Largest HKDF-SHA256 output (RFC 5869 §2.3: 255 × HashLen). */
export const HKDF_SHA256_MAX_OUTPUT = 255 * 32;

/**
 * Raw HKDF-SHA256.
 * @param ikm - input keying material
 * @param salt - salt (empty means HashLen zero bytes)
 * @param info - context info
 * @param length - output length in bytes, 1..8160
 * @throws RangeError when `length` is out of range
 */
export function hkdfSha256(ikm: Uint8Array, salt: Uint8Array, info: Uint8Array, length: number): Uint8Array {
  abytes(ikm, undefined, "ikm");
  abytes(salt, undefined, "salt");
  abytes(info, undefined, "info");
  if (!Number.isInteger(length) || length < 1 || length > HKDF_SHA256_MAX_OUTPUT)
    throw new RangeError("length: HKDF-SHA256 output must be 1..8160 bytes");
  return symmetric().hkdfSha256(ikm, salt, info, length);
}

/**
 * HKDF-SHA256 with `info = label || context`; every derived key in the protocol goes through here.
 * @param ikm - input keying material
 * @param salt - salt bytes
 * @param label - a {@link Label} naming protocol, version and purpose
 * @param context - further info bytes binding the key to its use
 * @param length - output length
 */
export function deriveKey(
  ikm: Uint8Array,
  salt: Uint8Array,
  label: string,
  context: Uint8Array,
  length: number,
): Uint8Array {
  return hkdfSha256(ikm, salt, concatBytes(labelBytes(label), context), length);
}
