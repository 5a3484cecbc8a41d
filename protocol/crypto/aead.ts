/**
 * One AEAD interface over the two suites: AES-256-GCM (default) and ChaCha20-Poly1305.
 * Nonces are always 12 bytes and always supplied by the caller from a counter or unique ID:
 * this module never draws a random nonce.
 * @module
 */
import { abytes } from "../bytes";
import { AeadSuite, Size } from "../constants";
import { ProtocolError } from "../errors";
import { symmetric } from "./backend";

// Read once: the channel seals and opens through here per message.
const TAG_BYTES: number = Size.TAG;

function check(suite: AeadSuite, key: Uint8Array, nonce: Uint8Array, aad: Uint8Array): void {
  abytes(nonce, Size.AEAD_NONCE, "nonce");
  abytes(aad, undefined, "aad");
  switch (suite) {
    case AeadSuite.AES_256_GCM:
      // AES-128 keys are accepted only so the Wycheproof 128-bit groups can run through this
      // wrapper; the key schedule always derives 32-byte keys.
      if (key.length !== 32 && key.length !== 16)
        throw new RangeError("key: expected 32 (or 16) bytes for AES-GCM");
      return;
    case AeadSuite.CHACHA20_POLY1305:
      abytes(key, 32, "key");
      return;
    default:
      throw new ProtocolError("E_UNSUPPORTED", "unknown AEAD suite");
  }
}

/**
 * Encrypt and authenticate.
 * @param suite - AEAD suite
 * @param key - 32-byte key
 * @param nonce - 12-byte nonce, unique per key
 * @param plaintext - data to encrypt
 * @param aad - authenticated, unencrypted data
 * @returns ciphertext || 16-byte tag
 */
export function aeadSeal(
  suite: AeadSuite,
  key: Uint8Array,
  nonce: Uint8Array,
  plaintext: Uint8Array,
  aad: Uint8Array,
): Uint8Array {
  abytes(plaintext, undefined, "plaintext");
  check(suite, key, nonce, aad);
  return symmetric().aeadSeal(suite, key, nonce, plaintext, aad);
}

/**
 * {@link aeadSeal} into `out`, which must be exactly `plaintext.length` + 16 bytes (typically a
 * view into the message being built): the same bytes, without a second array and a copy when the
 * backend can write in place.
 * @throws RangeError when `out` has the wrong length
 */
export function aeadSealInto(
  suite: AeadSuite,
  key: Uint8Array,
  nonce: Uint8Array,
  plaintext: Uint8Array,
  aad: Uint8Array,
  out: Uint8Array,
): void {
  abytes(plaintext, undefined, "plaintext");
  check(suite, key, nonce, aad);
  abytes(out, plaintext.length + TAG_BYTES, "out");
  const backend = symmetric();
  if (backend.aeadSealInto) backend.aeadSealInto(suite, key, nonce, plaintext, aad, out);
  else out.set(backend.aeadSeal(suite, key, nonce, plaintext, aad));
}

/**
 * Verify and decrypt.
 * @returns the plaintext
 * @throws ProtocolError E_BAD_TAG when authentication fails or the input is shorter than a tag
 */
export function aeadOpen(
  suite: AeadSuite,
  key: Uint8Array,
  nonce: Uint8Array,
  sealed: Uint8Array,
  aad: Uint8Array,
): Uint8Array {
  abytes(sealed, undefined, "sealed");
  check(suite, key, nonce, aad);
  if (sealed.length < Size.TAG) throw new ProtocolError("E_BAD_TAG", "ciphertext shorter than tag");
  const plaintext = symmetric().aeadOpen(suite, key, nonce, sealed, aad);
  if (plaintext === undefined) throw new ProtocolError("E_BAD_TAG", "authentication failed");
  return plaintext;
}
