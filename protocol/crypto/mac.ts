/**
 * HMAC-SHA256 truncated to 16 bytes (RFC 2104; truncation per RFC 2104 §5 keeps the leftmost bits).
 * @module
 */
import { abytes, concatBytes, equalBytes, labelBytes } from "../bytes";
import { Size } from "../constants";
import { ProtocolError } from "../errors";
import { symmetric } from "./backend";

/**
 * MAC = first 16 bytes of HMAC-SHA256(key, label || data).
 * @param key - 32-byte MAC key
 * @param label - domain label
 * @param data - authenticated encoding
 */
export function mac(key: Uint8Array, label: string, data: Uint8Array): Uint8Array {
  abytes(key, 32, "macKey");
  return symmetric()
    .hmacSha256(key, concatBytes(labelBytes(label), data))
    .slice(0, Size.MAC);
}

/**
 * Verify a truncated MAC in constant time.
 * @throws ProtocolError E_BAD_MAC when it does not match
 */
export function verifyMac(key: Uint8Array, label: string, data: Uint8Array, tag: Uint8Array): void {
  const expected = mac(key, label, data);
  if (!equalBytes(expected, tag)) throw new ProtocolError("E_BAD_MAC", "MAC mismatch");
}
