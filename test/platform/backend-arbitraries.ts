/**
 * What the backend tests (node:crypto, libsodium, libsecp256k1) share: fast-check inputs, hex for
 * readable comparisons, and a one-bit tamper.
 */
import fc from "fast-check";
import { AeadSuite } from "../../protocol/constants";

/** Hex of `b`, or "undefined" (a refused open) so expectations read as strings. */
export const hex = (b: Uint8Array | undefined) =>
  b === undefined ? "undefined" : Buffer.from(b).toString("hex");

/** Either AEAD suite. */
export const suites = fc.constantFrom(AeadSuite.AES_256_GCM, AeadSuite.CHACHA20_POLY1305);

/** Exactly `n` arbitrary bytes. */
export const bytes = (n: number) => fc.uint8Array({ minLength: n, maxLength: n });

/** A copy of `sealed` with bit `n` (mod its length in bits) flipped. */
export function flipBit(sealed: Uint8Array, n: number): Uint8Array {
  const tampered = sealed.slice();
  const bit = n % (tampered.length * 8);
  tampered[bit >> 3] = (tampered[bit >> 3] as number) ^ (1 << (bit & 7));
  return tampered;
}
