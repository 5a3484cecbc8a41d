/**
 * Long-term identities of devices and cluster heads: a secp256k1 key whose Ethereum-style
 * address is what the DeviceRegistry stores. Device IDs are 32 bytes (bytes32 on chain),
 * cluster IDs uint32.
 * @module
 */
import { secp256k1 } from "@noble/curves/secp256k1.js";
import { abytes } from "./bytes";
import { Size } from "./constants";
import { addressOfPublicKey } from "./crypto/address";
import { curve } from "./crypto/curve-backend";
import { generateKeyPair } from "./crypto/ecdh";
import { type RandomSource, systemRandom } from "./crypto/random";

/** A long-term signing identity. */
export interface Identity {
  /** 32-byte secret key; owned by the caller (wipe when done). */
  secretKey: Uint8Array;
  /** 33-byte compressed public key. */
  publicKey: Uint8Array;
  /** 20-byte address = keccak256(X||Y)[12:]. */
  address: Uint8Array;
}

/**
 * Build an identity from an existing secret key.
 * @param secretKey - 32-byte secp256k1 scalar
 * @throws RangeError when the key is not a valid scalar
 */
export function identityFromSecretKey(secretKey: Uint8Array): Identity {
  abytes(secretKey, Size.SECRET_KEY, "secretKey");
  if (!secp256k1.utils.isValidSecretKey(secretKey)) throw new RangeError("secretKey: not a valid scalar");
  const publicKey = curve().publicKey(secretKey, true);
  return { secretKey: secretKey.slice(), publicKey, address: addressOfPublicKey(publicKey) };
}

/**
 * Generate a fresh identity.
 * @param random - CSPRNG (default: platform)
 */
export function generateIdentity(random: RandomSource = systemRandom): Identity {
  const { secretKey } = generateKeyPair(random);
  const id = identityFromSecretKey(secretKey);
  secretKey.fill(0);
  return id;
}

/**
 * Check a cluster ID is a uint32.
 * @throws RangeError naming the field
 */
export function assertClusterId(clusterId: number, field = "clusterId"): number {
  if (!Number.isInteger(clusterId) || clusterId < 0 || clusterId > 0xffff_ffff)
    throw new RangeError(`${field}: expected uint32`);
  return clusterId;
}
