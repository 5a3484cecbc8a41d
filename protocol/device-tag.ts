/**
 * The device tag: a 16-byte name for a device ID on the wire where the full 32 bytes would only
 * repeat what the verifier already has in its index (docs/protocol.md § Device tag). It is a
 * labelled hash, not a prefix, so operator-chosen IDs with a common prefix ("sensor-0001…") still
 * get evenly spread tags; two enrolled devices share a tag only by chance (2^-128 per pair) or by
 * an enroller spending ~2^64 work, and a verifier resolves a shared tag by trying each candidate
 * against the signature, which always covers the full device ID.
 * @module
 */
import { abytes } from "./bytes";
import { Label, Size } from "./constants";
import { labelledHash } from "./crypto/hash";

/** The first {@link Size.DEVICE_TAG} bytes of SHA-256("iotguard/v1/device-tag" ‖ deviceId). */
export function deviceTag(deviceId: Uint8Array): Uint8Array {
  abytes(deviceId, Size.DEVICE_ID, "deviceId");
  return labelledHash(Label.DEVICE_TAG, deviceId).slice(0, Size.DEVICE_TAG);
}
