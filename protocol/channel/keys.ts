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

/**
 * Frame nonce = iv XOR (0^4 || seq as 8 bytes big-endian). Distinct seq ⇒ distinct nonce.
 * @param iv - 12-byte direction IV
 * @param seq - sequence number < 2^64
 */
export function frameNonce(iv: Uint8Array, seq: bigint): Uint8Array {
  abytes(iv, Size.AEAD_NONCE, "iv");
  const n = iv.slice();
  let s = seq;
  for (let i = Size.AEAD_NONCE - 1; i >= Size.AEAD_NONCE - Size.SEQ; i--) {
    n[i] = (n[i] as number) ^ Number(s & 0xffn);
    s >>= 8n;
  }
  return n;
}
