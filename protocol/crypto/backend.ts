/**
 * The symmetric primitives behind every wrapper (SHA-256, HMAC-SHA256, HKDF-SHA256, the two
 * AEADs), behind one interface so a platform can plug in a faster implementation (the head uses
 * node:crypto, several times faster: see bench/results) without the protocol importing it.
 * The default is @noble; any backend must give byte-identical results (tests cross-check them and
 * run the Wycheproof vectors through each). Asymmetric operations (ECDSA with key recovery, ECDH)
 * stay on @noble.
 * @module
 */
import { gcm } from "@noble/ciphers/aes.js";
import { chacha20poly1305 } from "@noble/ciphers/chacha.js";
import { hkdf } from "@noble/hashes/hkdf.js";
import { hmac } from "@noble/hashes/hmac.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { AeadSuite } from "../constants";

/**
 * Raw primitives; inputs are already validated by the wrappers. `aeadOpen` returns `undefined`
 * when authentication fails and never throws for that reason.
 */
export interface SymmetricBackend {
  readonly name: string;
  sha256(data: Uint8Array): Uint8Array;
  hmacSha256(key: Uint8Array, data: Uint8Array): Uint8Array;
  hkdfSha256(ikm: Uint8Array, salt: Uint8Array, info: Uint8Array, length: number): Uint8Array;
  aeadSeal(
    suite: AeadSuite,
    key: Uint8Array,
    nonce: Uint8Array,
    plaintext: Uint8Array,
    aad: Uint8Array,
  ): Uint8Array;
  aeadOpen(
    suite: AeadSuite,
    key: Uint8Array,
    nonce: Uint8Array,
    sealed: Uint8Array,
    aad: Uint8Array,
  ): Uint8Array | undefined;
  /**
   * Optional: {@link aeadSeal} writing `ciphertext || tag` into `out` (exactly `plaintext.length`
   * + 16 bytes, which may be a view into a larger message) instead of a new array, so the channel
   * seals a frame straight into the bytes it publishes. Without it the wrapper copies.
   */
  aeadSealInto?(
    suite: AeadSuite,
    key: Uint8Array,
    nonce: Uint8Array,
    plaintext: Uint8Array,
    aad: Uint8Array,
    out: Uint8Array,
  ): void;
}

function nobleAead(suite: AeadSuite, key: Uint8Array, nonce: Uint8Array, aad: Uint8Array) {
  return suite === AeadSuite.AES_256_GCM ? gcm(key, nonce, aad) : chacha20poly1305(key, nonce, aad);
}

/** Pure-JavaScript primitives from @noble (audited; runs anywhere). */
export const nobleBackend: SymmetricBackend = {
  name: "noble",
  sha256: (data) => sha256(data),
  hmacSha256: (key, data) => hmac(sha256, key, data),
  hkdfSha256: (ikm, salt, info, length) => hkdf(sha256, ikm, salt, info, length),
  aeadSeal: (suite, key, nonce, plaintext, aad) => nobleAead(suite, key, nonce, aad).encrypt(plaintext),
  aeadOpen: (suite, key, nonce, sealed, aad) => {
    try {
      return nobleAead(suite, key, nonce, aad).decrypt(sealed);
    } catch {
      return undefined;
    }
  },
};

let active: SymmetricBackend = nobleBackend;

/** The backend in use. */
export function symmetric(): SymmetricBackend {
  return active;
}

/**
 * Switches every wrapper to `backend` for this process (e.g. node:crypto at start-up).
 * @returns the previous backend
 */
export function useSymmetricBackend(backend: SymmetricBackend): SymmetricBackend {
  const previous = active;
  active = backend;
  return previous;
}
