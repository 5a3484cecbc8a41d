/**
 * libsodium (through the `sodium-native` package's prebuilt binding) for ChaCha20-Poly1305 (RFC
 * 8439, the IETF construction: 96-bit nonce, 128-bit tag), on top of the node:crypto backend for
 * everything else. node:crypto builds a cipher object per call (`createCipheriv`, `setAAD`,
 * `update`, `final`, `getAuthTag`): about 10 µs per 256-byte frame against 1.4 µs for libsodium's
 * one call, which writes into the caller's buffer (bench/results, m2m profile). libsodium has no
 * AES-GCM on every CPU, so AES-256-GCM stays on node:crypto. Byte-identical to @noble and node:crypto:
 * tests cross-check them and run the Wycheproof vectors through this backend.
 *
 * Plug it in with {@link useNativeSymmetric}, which falls back to node:crypto alone where the
 * binding does not load (and says so); sodium-native has no pure-JavaScript fallback of its own.
 */
import { createRequire } from "node:module";
import { AeadSuite, type SymmetricBackend, useSymmetricBackend } from "../protocol";
import { nodeSymmetricBackend } from "./node-symmetric-backend";

/** The part of sodium-native used here (its own argument checks run in the binding's wrapper). */
interface SodiumAead {
  crypto_aead_chacha20poly1305_ietf_encrypt(
    c: Uint8Array,
    m: Uint8Array,
    ad: Uint8Array | null,
    nsec: null,
    npub: Uint8Array,
    k: Uint8Array,
  ): number;
  /** Throws when the tag does not verify; `m` is left unwritten then. */
  crypto_aead_chacha20poly1305_ietf_decrypt(
    m: Uint8Array,
    nsec: null,
    c: Uint8Array,
    ad: Uint8Array | null,
    npub: Uint8Array,
    k: Uint8Array,
  ): number;
}

/** Thrown when the libsodium binding cannot be loaded on this platform. */
export class SodiumUnavailableError extends Error {
  readonly code = "E_SODIUM_UNAVAILABLE";
  constructor(cause: unknown) {
    super(`libsodium binding not available: ${(cause as Error).message}`);
    this.name = "SodiumUnavailableError";
  }
}

const TAG_BYTES = 16;
const CHACHA: number = AeadSuite.CHACHA20_POLY1305;

let binding: SodiumAead | undefined;

/**
 * The plaintext's bytes, cut from Node's Buffer pool (about 0.1 µs against 1 µs for a fresh
 * ArrayBuffer per 256-byte frame), as a plain Uint8Array view so that `slice` copies as callers
 * expect. libsodium writes every byte before the view is returned, and none when the tag fails.
 * Like any small Buffer, `.buffer` is shared with others: use the view's offset and length.
 */
function plaintextBytes(length: number): Uint8Array {
  const pooled = Buffer.allocUnsafe(length);
  return new Uint8Array(pooled.buffer, pooled.byteOffset, length);
}

function sodium(): SodiumAead {
  if (binding === undefined) {
    try {
      binding = createRequire(__filename)("sodium-native") as SodiumAead;
    } catch (error) {
      throw new SodiumUnavailableError(error);
    }
  }
  return binding;
}

/**
 * node:crypto for hashes, HMAC, HKDF and AES-GCM, libsodium for ChaCha20-Poly1305.
 * @param base - the backend for everything but ChaCha20-Poly1305 (default node:crypto)
 * @throws SodiumUnavailableError when the binding does not load
 */
export function sodiumSymmetricBackend(base: SymmetricBackend = nodeSymmetricBackend): SymmetricBackend {
  const lib = sodium();
  return {
    name: `${base.name}+libsodium`,
    sha256: base.sha256,
    hmacSha256: base.hmacSha256,
    hkdfSha256: base.hkdfSha256,
    aeadSeal(suite, key, nonce, plaintext, aad) {
      if (suite !== CHACHA) return base.aeadSeal(suite, key, nonce, plaintext, aad);
      const out = new Uint8Array(plaintext.length + TAG_BYTES);
      lib.crypto_aead_chacha20poly1305_ietf_encrypt(out, plaintext, aad, null, nonce, key);
      return out;
    },
    aeadSealInto(suite, key, nonce, plaintext, aad, out) {
      if (suite === CHACHA)
        lib.crypto_aead_chacha20poly1305_ietf_encrypt(out, plaintext, aad, null, nonce, key);
      else if (base.aeadSealInto) base.aeadSealInto(suite, key, nonce, plaintext, aad, out);
      else out.set(base.aeadSeal(suite, key, nonce, plaintext, aad));
    },
    aeadOpen(suite, key, nonce, sealed, aad) {
      if (suite !== CHACHA) return base.aeadOpen(suite, key, nonce, sealed, aad);
      if (sealed.length < TAG_BYTES) return undefined;
      const out = plaintextBytes(sealed.length - TAG_BYTES);
      try {
        // libsodium checks the tag (in constant time) before it decrypts anything.
        lib.crypto_aead_chacha20poly1305_ietf_decrypt(out, null, sealed, aad, nonce, key);
      } catch {
        return undefined;
      }
      return out;
    },
  };
}

/**
 * The fastest symmetric backend this process can load: node:crypto with libsodium's
 * ChaCha20-Poly1305, or node:crypto alone where the libsodium binding does not load.
 * @returns the backend and, when libsodium was not available, why
 */
export function nativeSymmetricBackend(): {
  backend: SymmetricBackend;
  unavailable?: SodiumUnavailableError;
} {
  try {
    return { backend: sodiumSymmetricBackend() };
  } catch (error) {
    if (!(error instanceof SodiumUnavailableError)) throw error;
    return { backend: nodeSymmetricBackend, unavailable: error };
  }
}

/**
 * Switches the protocol's symmetric primitives to {@link nativeSymmetricBackend} for this process.
 * @returns the name of the backend now in use (`node:crypto+libsodium` or `node:crypto`)
 */
export function useNativeSymmetric(): string {
  const { backend } = nativeSymmetricBackend();
  useSymmetricBackend(backend);
  return backend.name;
}
