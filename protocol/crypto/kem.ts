/**
 * ML-KEM-768 (FIPS 203, "Module-Lattice-Based Key-Encapsulation Mechanism Standard") from
 * @noble/post-quantum: the post-quantum half of the hybrid join. Randomness comes only from the
 * caller's {@link RandomSource} (FIPS 203 Algorithms 16 and 17 with caller-drawn d || z and m).
 *
 * Peer bytes (an encapsulation key or a ciphertext off the wire) of the wrong size, or an
 * encapsulation key that fails the modulus check, are refused with ProtocolError E_MALFORMED; our
 * own seed or decapsulation key of the wrong size is a programming error (RangeError naming it).
 * A tampered ciphertext is not an error: decapsulation answers with an unrelated secret
 * (implicit rejection, FIPS 203 §6.3), so the join fails at key confirmation.
 * @module
 */
import { ml_kem768 } from "@noble/post-quantum/ml-kem.js";
import { abytes } from "../bytes";
import { Size } from "../constants";
import { ProtocolError } from "../errors";
import { draw, type RandomSource } from "./random";

/** An ML-KEM-768 key pair; the caller wipes `secretKey` after use. */
export interface KemKeyPair {
  /** 1184-byte encapsulation key ek. */
  publicKey: Uint8Array;
  /** 2400-byte decapsulation key dk (FIPS 203 §7.1 layout: dk_PKE || ek || H(ek) || z). */
  secretKey: Uint8Array;
}

/** The result of encapsulating to a peer's key. */
export interface KemEncapsulation {
  /** 1088-byte ciphertext c, sent to the key's owner. */
  cipherText: Uint8Array;
  /** 32-byte shared secret K; secret, wiped by the caller. */
  sharedSecret: Uint8Array;
}

/**
 * Deterministic key generation, ML-KEM.KeyGen_internal(d, z) (FIPS 203 Algorithm 16).
 * @param seed - 64 bytes d || z from a CSPRNG (the Wycheproof vectors give it directly)
 * @throws TypeError / RangeError when `seed` is not 64 bytes
 */
export function kemKeyPairFromSeed(seed: Uint8Array): KemKeyPair {
  abytes(seed, Size.KEM_SEED, "seed");
  return ml_kem768.keygen(seed);
}

/**
 * A fresh ephemeral key pair (FIPS 203 Algorithm 19 with d || z drawn from `random`).
 * @param random - CSPRNG
 */
export function generateKemKeyPair(random: RandomSource): KemKeyPair {
  const seed = draw(random, Size.KEM_SEED, "seed");
  try {
    return kemKeyPairFromSeed(seed);
  } finally {
    seed.fill(0);
  }
}

/**
 * Encapsulate a fresh shared secret to `publicKey` (FIPS 203 Algorithm 20 with m from `random`),
 * after the encapsulation-key input checks of §7.2 (length, then modulus).
 * @param publicKey - the peer's 1184-byte encapsulation key, as received
 * @param random - CSPRNG (32 bytes m)
 * @throws ProtocolError E_MALFORMED when the key has the wrong size or fails the modulus check
 */
export function kemEncapsulate(publicKey: Uint8Array, random: RandomSource): KemEncapsulation {
  abytes(publicKey, undefined, "publicKey");
  if (publicKey.length !== Size.KEM_PUBLIC_KEY)
    throw new ProtocolError("E_MALFORMED", "ML-KEM encapsulation key of the wrong size");
  if (!modulusCheck(publicKey))
    throw new ProtocolError("E_MALFORMED", "ML-KEM encapsulation key not reduced mod q");
  const m = draw(random, Size.KEM_MESSAGE, "m");
  try {
    return ml_kem768.encapsulate(publicKey, m);
  } finally {
    // m is the pre-image of the shared secret.
    m.fill(0);
  }
}

/**
 * Decapsulate (FIPS 203 Algorithm 21): the shared secret, or on a ciphertext that does not
 * re-encrypt to itself an unrelated pseudo-random value (implicit rejection).
 * @param cipherText - the peer's 1088-byte ciphertext, as received
 * @param secretKey - our 2400-byte decapsulation key
 * @throws ProtocolError E_MALFORMED when the ciphertext has the wrong size; RangeError when
 *   `secretKey` is not an ML-KEM-768 decapsulation key (wrong size or hash check, §7.3)
 */
export function kemDecapsulate(cipherText: Uint8Array, secretKey: Uint8Array): Uint8Array {
  abytes(cipherText, undefined, "cipherText");
  abytes(secretKey, Size.KEM_SECRET_KEY, "secretKey");
  if (cipherText.length !== Size.KEM_CIPHERTEXT)
    throw new ProtocolError("E_MALFORMED", "ML-KEM ciphertext of the wrong size");
  try {
    return ml_kem768.decapsulate(cipherText, secretKey);
  } catch {
    // The only other refusal left is the §7.3 hash check on our own key.
    throw new RangeError("secretKey: not an ML-KEM-768 decapsulation key (hash check failed)");
  }
}

const Q = 3329;

/**
 * FIPS 203 §7.2 modulus check: ek's first 384·k bytes are 12-bit coefficients that must all be
 * below q (ByteEncode12(ByteDecode12(ek)) = ek). Done here so a bad key is a typed refusal
 * rather than a library error string.
 */
function modulusCheck(ek: Uint8Array): boolean {
  let bad = 0;
  for (let i = 0; i < 384 * 3; i += 3) {
    const b0 = ek[i] as number;
    const b1 = ek[i + 1] as number;
    const b2 = ek[i + 2] as number;
    const c0 = b0 | ((b1 & 0x0f) << 8);
    const c1 = (b1 >> 4) | (b2 << 4);
    // Public data, but branch-free anyway.
    bad |= ((Q - 1 - c0) >> 31) | ((Q - 1 - c1) >> 31);
  }
  return bad === 0;
}
