/**
 * Hash helpers: SHA-256 with a domain label, and Keccak-256 for Ethereum addresses.
 * @module
 */
import { keccak_256 } from "@noble/hashes/sha3.js";
import { concatBytes, labelBytes } from "../bytes";
import { symmetric } from "./backend";

/** SHA-256 of the concatenation of `parts`. */
export function sha256(...parts: Uint8Array[]): Uint8Array {
  return symmetric().sha256(concatBytes(...parts));
}

/** SHA-256 of `label || parts`, so hashes for different purposes never collide by construction. */
export function labelledHash(label: string, ...parts: Uint8Array[]): Uint8Array {
  return sha256(labelBytes(label), ...parts);
}

/** Keccak-256 (Ethereum's hash, not SHA3-256). */
export function keccak256(data: Uint8Array): Uint8Array {
  return keccak_256(data);
}
