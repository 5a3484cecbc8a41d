/**
 * libsodium (through the `sodium-native` package's prebuilt binding) for ChaCha20-Poly1305 (RFC
 * 8439, the IETF construction: 96-bit nonce, 128-bit tag), on top of the node:crypto backend for
 * everything else. node:crypto builds a cipher object per call (`createCipheriv`, `setAAD`,
 * `update`, `final`, `getAuthTag`): about 10 µs per 256-byte frame against 1.4 µs for libsodium's
 * one call, which writes into the caller's buffer (bench/results, m2m profile). libsodium has no
 * AES-GCM on every CPU, so AES-256-GCM stays on node:crypto. Byte-identical to @noble and node:crypto:
 * tests cross-check them and run the Wycheproof vectors through this backend.
 *
 * ChaCha20-Poly1305 calls go straight to the native addon (`sodium-native/binding.js`) with this
 * module's own length checks, not through sodium-native's exported wrappers, whose `assert`s and
 * throw-on-bad-tag cost about a third of a 256-byte frame; a known-answer check at load falls back
 * to the wrappers should a release change the addon's signatures.
 *
 * Plug it in with {@link useNativeSymmetric}, which falls back to node:crypto alone where the
 * binding does not load (and says so); sodium-native has no pure-JavaScript fallback of its own.
 */
import { createRequire } from "node:module";
import { AeadSuite, SlabAllocator, type SymmetricBackend, useSymmetricBackend } from "../protocol";
import { nodeSymmetricBackend } from "./node-symmetric-backend";

/** sodium-native's exported functions used here (they check their arguments and throw on a bad tag). */
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

/**
 * The same two functions of the native addon itself (`sodium-native/binding.js`), without the
 * wrapper's `assert` calls (about a third of a 256-byte frame's cost there) and without the
 * exception on a bad tag: they return a negative status instead. The addon `assert`s the lengths
 * in C and aborts the process when one is wrong, so {@link ChaChaCalls} checks them first.
 */
interface SodiumAddon {
  crypto_aead_chacha20poly1305_ietf_encrypt(
    c: Uint8Array,
    m: Uint8Array,
    ad: Uint8Array | undefined,
    npub: Uint8Array,
    k: Uint8Array,
  ): number;
  crypto_aead_chacha20poly1305_ietf_decrypt(
    m: Uint8Array,
    c: Uint8Array,
    ad: Uint8Array | undefined,
    npub: Uint8Array,
    k: Uint8Array,
  ): number;
}

/** ChaCha20-Poly1305 as the backend calls it: lengths already checked by the caller. */
interface ChaChaCalls {
  /** Writes ciphertext || tag into `c` (`m.length` + 16 bytes). */
  seal(c: Uint8Array, m: Uint8Array, ad: Uint8Array, npub: Uint8Array, k: Uint8Array): void;
  /** Writes the plaintext into `m` and returns true, or returns false (and writes nothing) on a bad tag. */
  open(m: Uint8Array, c: Uint8Array, ad: Uint8Array, npub: Uint8Array, k: Uint8Array): boolean;
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
const KEY_BYTES = 32;
const NONCE_BYTES = 12;
const CHACHA: number = AeadSuite.CHACHA20_POLY1305;

let calls: ChaChaCalls | undefined;

/**
 * Plaintexts are cut from shared 16 KiB slabs, as Node's Buffer pool cuts small Buffers (a fresh
 * ArrayBuffer per 256-byte frame costs about 1 µs, a view into a slab about 0.1 µs, and one object
 * where a pooled Buffer and a plain view over it are two). libsodium writes every byte of a view
 * before it is returned, and none when the tag fails (the view is then dropped, never handed out).
 * Like any small Buffer, `.buffer` is shared with other plaintexts of this process: use the view's
 * offset and length. A slab is freed when no plaintext refers to it. These slabs are their own,
 * never the sealed frames' (protocol/channel/slab.ts).
 */
const plaintexts = new SlabAllocator(16 * 1024);

/** A fresh view of `length` bytes for one plaintext, as a plain Uint8Array (`slice` copies). */
function plaintextBytes(length: number): Uint8Array {
  return plaintexts.take(length);
}

/** Through sodium-native's exported (checking, throwing) functions. */
function wrappedCalls(lib: SodiumAead): ChaChaCalls {
  return {
    seal(c, m, ad, npub, k) {
      lib.crypto_aead_chacha20poly1305_ietf_encrypt(c, m, ad, null, npub, k);
    },
    open(m, c, ad, npub, k) {
      try {
        // libsodium checks the tag (in constant time) before it decrypts anything.
        lib.crypto_aead_chacha20poly1305_ietf_decrypt(m, null, c, ad, npub, k);
        return true;
      } catch {
        return false;
      }
    },
  };
}

/** Straight into the addon; the backend below checks every length the addon asserts. */
function addonCalls(addon: SodiumAddon): ChaChaCalls {
  return {
    seal(c, m, ad, npub, k) {
      if (addon.crypto_aead_chacha20poly1305_ietf_encrypt(c, m, ad, npub, k) < 0)
        throw new Error("libsodium: ChaCha20-Poly1305 encryption failed");
    },
    open(m, c, ad, npub, k) {
      // libsodium checks the tag (in constant time) before it decrypts anything.
      return addon.crypto_aead_chacha20poly1305_ietf_decrypt(m, c, ad, npub, k) >= 0;
    },
  };
}

/**
 * Whether the addon's functions take the arguments this module passes and give the wrapper's
 * results: a seal of a fixed input byte for byte, its open, and the refusal of a flipped tag bit.
 * Guards against a sodium-native release that changes its internal signatures.
 */
function addonAgrees(lib: SodiumAead, addon: SodiumAddon): boolean {
  try {
    const k = Uint8Array.from({ length: 32 }, (_, i) => i);
    const npub = Uint8Array.from({ length: 12 }, (_, i) => 0x40 + i);
    const ad = Uint8Array.of(1, 2, 3);
    const m = Uint8Array.from({ length: 37 }, (_, i) => 0x80 + i);
    const expected = new Uint8Array(m.length + TAG_BYTES);
    lib.crypto_aead_chacha20poly1305_ietf_encrypt(expected, m, ad, null, npub, k);
    const raw = addonCalls(addon);
    const sealed = new Uint8Array(expected.length);
    raw.seal(sealed, m, ad, npub, k);
    if (Buffer.compare(sealed, expected) !== 0) return false;
    const opened = new Uint8Array(m.length);
    if (!raw.open(opened, sealed, ad, npub, k) || Buffer.compare(opened, m) !== 0) return false;
    sealed[sealed.length - 1] = (sealed[sealed.length - 1] as number) ^ 1;
    return !raw.open(new Uint8Array(m.length), sealed, ad, npub, k);
  } catch {
    return false;
  }
}

function chacha(): ChaChaCalls {
  if (calls === undefined) {
    const load = createRequire(__filename);
    let lib: SodiumAead;
    try {
      lib = load("sodium-native") as SodiumAead;
    } catch (error) {
      throw new SodiumUnavailableError(error);
    }
    let addon: SodiumAddon | undefined;
    try {
      addon = load("sodium-native/binding.js") as SodiumAddon;
    } catch {
      addon = undefined;
    }
    calls = addon && addonAgrees(lib, addon) ? addonCalls(addon) : wrappedCalls(lib);
  }
  return calls;
}

/**
 * Throws unless the AEAD arguments have the lengths libsodium's ChaCha20-Poly1305 asserts (the
 * addon aborts the process on a wrong one): key 32, nonce 12, `out` exactly `input` ± the tag.
 */
function checkLengths(key: Uint8Array, nonce: Uint8Array, longer: Uint8Array, shorter: Uint8Array): void {
  if (key.length !== KEY_BYTES) throw new RangeError(`key: expected ${KEY_BYTES} bytes, got ${key.length}`);
  if (nonce.length !== NONCE_BYTES)
    throw new RangeError(`nonce: expected ${NONCE_BYTES} bytes, got ${nonce.length}`);
  if (longer.length !== shorter.length + TAG_BYTES || shorter.length > 0xffff_ffff)
    throw new RangeError("out: expected the input's length plus the 16-byte tag");
}

/**
 * node:crypto for hashes, HMAC, HKDF and AES-GCM, libsodium for ChaCha20-Poly1305.
 * @param base - the backend for everything but ChaCha20-Poly1305 (default node:crypto)
 * @throws SodiumUnavailableError when the binding does not load
 */
export function sodiumSymmetricBackend(base: SymmetricBackend = nodeSymmetricBackend): SymmetricBackend {
  const lib = chacha();
  return {
    name: `${base.name}+libsodium`,
    sha256: base.sha256,
    hmacSha256: base.hmacSha256,
    hkdfSha256: base.hkdfSha256,
    aeadSeal(suite, key, nonce, plaintext, aad) {
      if (suite !== CHACHA) return base.aeadSeal(suite, key, nonce, plaintext, aad);
      const out = new Uint8Array(plaintext.length + TAG_BYTES);
      checkLengths(key, nonce, out, plaintext);
      lib.seal(out, plaintext, aad, nonce, key);
      return out;
    },
    aeadSealInto(suite, key, nonce, plaintext, aad, out) {
      if (suite === CHACHA) {
        checkLengths(key, nonce, out, plaintext);
        lib.seal(out, plaintext, aad, nonce, key);
      } else if (base.aeadSealInto) base.aeadSealInto(suite, key, nonce, plaintext, aad, out);
      else out.set(base.aeadSeal(suite, key, nonce, plaintext, aad));
    },
    aeadOpen(suite, key, nonce, sealed, aad) {
      if (suite !== CHACHA) return base.aeadOpen(suite, key, nonce, sealed, aad);
      if (sealed.length < TAG_BYTES) return undefined;
      const out = plaintextBytes(sealed.length - TAG_BYTES);
      checkLengths(key, nonce, sealed, out);
      return lib.open(out, sealed, aad, nonce, key) ? out : undefined;
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
