/**
 * Join transcripts and the member-key derivation shared by head and device.
 * The head's transcript extends the device's (including the device signature), so the two
 * signatures and K_m are bound to one run: cluster, head, challenge, device, position and both
 * ephemeral keys.
 * @module
 */
import { concatBytes, Writer } from "../bytes";
import { Label, MessageType, PROTOCOL_VERSION, Size } from "../constants";
import { labelledHash } from "../crypto/hash";
import { deriveKey } from "../crypto/kdf";
import type { JoinRequest, JoinResponse } from "./codec";

/**
 * Body signed by the device (label {@link Label.JOIN_REQUEST} is prefixed by the signer).
 * clusterId and headAddress are not on the wire: each side supplies what it expects.
 */
export function joinRequestBody(
  clusterId: number,
  headAddress: Uint8Array,
  req: Omit<JoinRequest, "signature">,
): Uint8Array {
  return new Writer()
    .u8(PROTOCOL_VERSION)
    .u8(MessageType.JOIN_REQUEST)
    .u8(req.suite)
    .u32(clusterId)
    .bytes(headAddress, Size.ADDRESS, "headAddress")
    .bytes(req.challenge, Size.CHALLENGE, "challenge")
    .bytes(req.deviceId, Size.DEVICE_ID, "deviceId")
    .i32(req.position.lat)
    .i32(req.position.lon)
    .bytes(req.ephemeralPublicKey, Size.PUBLIC_KEY, "ephemeralPublicKey")
    .finish();
}

/** Body signed by the head: the device's body and signature, then the head's fields. */
export function joinResponseBody(
  requestBody: Uint8Array,
  deviceSignature: Uint8Array,
  res: Omit<JoinResponse, "signature">,
): Uint8Array {
  return concatBytes(
    requestBody,
    deviceSignature,
    new Writer()
      .u8(MessageType.JOIN_RESPONSE)
      .u8(res.suite)
      .bytes(res.kid, Size.KID, "kid")
      .u64(res.expiresAt)
      .bytes(res.ephemeralPublicKey, Size.PUBLIC_KEY, "ephemeralPublicKey")
      .finish(),
  );
}

/**
 * K_m = HKDF(ikm = ECDH x, salt = SHA-256(label || response body), info = member-key label || kid).
 * @param sharedX - 32-byte ECDH x-coordinate (wiped by the caller)
 * @param responseBody - {@link joinResponseBody}
 * @param kid - membership key id
 */
export function deriveMemberKey(sharedX: Uint8Array, responseBody: Uint8Array, kid: Uint8Array): Uint8Array {
  const salt = labelledHash(Label.JOIN_RESPONSE, responseBody);
  return deriveKey(sharedX, salt, Label.MEMBER_KEY, kid, Size.MEMBER_KEY);
}
