/**
 * Channel key schedule: per-direction key and IV from Sk, and the per-frame nonce.
 * key_d = HKDF(Sk, salt = sessionId, "iotguard/v1/channel-key" || suite || d), 32 bytes;
 * iv_d  = HKDF(Sk, salt = sessionId, "iotguard/v1/channel-iv"  || suite || d), 12 bytes;
 * d is the frame type of the direction, so the two senders never share a key or nonce space.
 * @module
 */
import { abytes } from "../bytes";
import { type AeadSuite, Label, Size } from "../constants";
import { deriveKey } from "../crypto/kdf";
import type { FrameType } from "./frame";

/** Keys of one direction. */
export interface DirectionKeys {
  key: Uint8Array;
  iv: Uint8Array;
}

/**
 * Derive the key and IV of one direction.
 * @param sessionKey - 32-byte Sk
 * @param sessionId - 8-byte session ID
 * @param suite - AEAD suite bound into the derivation
 * @param direction - frame type of the direction
 */
export function deriveDirectionKeys(
  sessionKey: Uint8Array,
  sessionId: Uint8Array,
  suite: AeadSuite,
  direction: FrameType,
): DirectionKeys {
  abytes(sessionKey, Size.SESSION_KEY, "sessionKey");
  abytes(sessionId, Size.SESSION_ID, "sessionId");
  const ctx = Uint8Array.of(suite, direction);
  return {
    key: deriveKey(sessionKey, sessionId, Label.CHANNEL_KEY, ctx, Size.AEAD_KEY),
    iv: deriveKey(sessionKey, sessionId, Label.CHANNEL_IV, ctx, Size.AEAD_NONCE),
  };
}

const NONCE_BYTES: number = Size.AEAD_NONCE;

/**
 * Frame nonce = iv XOR (0^4 || seq as 8 bytes big-endian). Distinct seq ⇒ distinct nonce.
 * @param iv - 12-byte direction IV
 * @param seq - sequence number < 2^64
 */
export function frameNonce(iv: Uint8Array, seq: bigint): Uint8Array {
  return frameNonceInto(new Uint8Array(Size.AEAD_NONCE), iv, seq);
}

/**
 * {@link frameNonce} written into `out` (12 bytes), for a sender or receiver that keeps one
 * scratch buffer per direction: the nonce is still a function of `seq` alone, recomputed for
 * every frame, so reusing the buffer never reuses a nonce.
 * @returns `out`
 */
export function frameNonceInto(out: Uint8Array, iv: Uint8Array, seq: bigint): Uint8Array {
  abytes(iv, NONCE_BYTES, "iv");
  abytes(out, NONCE_BYTES, "out");
  if (seq < 0n || seq >= 1n << 64n) throw new RangeError("seq: out of range");
  const hi = Number(seq >> 32n);
  const lo = Number(seq & 0xffffffffn);
  out.set(iv);
  // The last 8 bytes take the sequence number (the first 4 are the IV's alone).
  out[4] = (out[4] as number) ^ (hi >>> 24);
  out[5] = (out[5] as number) ^ ((hi >>> 16) & 0xff);
  out[6] = (out[6] as number) ^ ((hi >>> 8) & 0xff);
  out[7] = (out[7] as number) ^ (hi & 0xff);
  out[8] = (out[8] as number) ^ (lo >>> 24);
  out[9] = (out[9] as number) ^ ((lo >>> 16) & 0xff);
  out[10] = (out[10] as number) ^ ((lo >>> 8) & 0xff);
  out[11] = (out[11] as number) ^ (lo & 0xff);
  return out;
}

/**
 * {@link frameNonceInto} for a sequence number held as a number by the channel's own counters
 * (below 2^32, checked by the caller): all 12 bytes rewritten from `iv` and `seq`, no BigInt
 * arithmetic. The same bytes as {@link frameNonce} (tested).
 */
export function writeFrameNonce(out: Uint8Array, iv: Uint8Array, seq: number): void {
  const hi = Math.floor(seq / 0x1_0000_0000);
  const lo = seq >>> 0;
  out[0] = iv[0] as number;
  out[1] = iv[1] as number;
  out[2] = iv[2] as number;
  out[3] = iv[3] as number;
  out[4] = (iv[4] as number) ^ (hi >>> 24);
  out[5] = (iv[5] as number) ^ ((hi >>> 16) & 0xff);
  out[6] = (iv[6] as number) ^ ((hi >>> 8) & 0xff);
  out[7] = (iv[7] as number) ^ (hi & 0xff);
  out[8] = (iv[8] as number) ^ (lo >>> 24);
  out[9] = (iv[9] as number) ^ ((lo >>> 16) & 0xff);
  out[10] = (iv[10] as number) ^ ((lo >>> 8) & 0xff);
  out[11] = (iv[11] as number) ^ (lo & 0xff);
}
