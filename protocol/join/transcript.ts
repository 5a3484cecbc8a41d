/**
 * Join transcripts and the member-key derivation shared by head and device.
 * The head's transcript extends the device's (including the device signature), so the two
 * signatures and K_m are bound to one run: cluster, head, challenge, device, position, both
 * ephemeral keys and, in the hybrid suite, the device's suite offer, its ML-KEM key, the head's
 * choice and the ML-KEM ciphertext.
 * @module
 */
import { abytes, concatBytes, wipe } from "../bytes";
import { Writer } from "../writer";
import { JoinSuite, Label, MessageType, PROTOCOL_VERSION, Size } from "../constants";
import { labelledHash } from "../crypto/hash";
import { deriveKey } from "../crypto/kdf";
import { toWireSeconds } from "../wire-time";
import { type DistributiveOmit, type JoinRequest, type JoinResponse, writeRequestSuite } from "./codec";

/**
 * Body signed by the device (label {@link Label.JOIN_REQUEST} is prefixed by the signer).
 * clusterId, headAddress and the full deviceId are not on the wire (the request carries the
 * device's 16-byte tag): each side supplies what it expects, so the signature binds all three.
 * Hybrid: the offer byte follows the suite and the ML-KEM key ends the body, so sigD covers the
 * whole offer.
 */
export function joinRequestBody(
  clusterId: number,
  headAddress: Uint8Array,
  deviceId: Uint8Array,
  req: DistributiveOmit<JoinRequest, "signature">,
): Uint8Array {
  const w = writeRequestSuite(new Writer().u8(PROTOCOL_VERSION).u8(MessageType.JOIN_REQUEST), req)
    .u32(clusterId)
    .bytes(headAddress, Size.ADDRESS, "headAddress")
    .bytes(req.challenge, Size.CHALLENGE, "challenge")
    .bytes(deviceId, Size.DEVICE_ID, "deviceId")
    .i32(req.position.lat)
    .i32(req.position.lon)
    .bytes(req.ephemeralPublicKey, Size.PUBLIC_KEY, "ephemeralPublicKey");
  if (req.suite === JoinSuite.MLKEM768_SECP256K1_HKDF_SHA256)
    w.bytes(req.kemPublicKey, Size.KEM_PUBLIC_KEY, "kemPublicKey");
  return w.finish();
}

/**
 * Body signed by the head: the device's body and signature, then the head's fields, its chosen
 * suite first (so sigH covers offer and choice) and, for the hybrid suite, the ML-KEM ciphertext.
 */
export function joinResponseBody(
  requestBody: Uint8Array,
  deviceSignature: Uint8Array,
  res: DistributiveOmit<JoinResponse, "signature">,
): Uint8Array {
  const w = new Writer()
    .u8(MessageType.JOIN_RESPONSE)
    .u8(res.suite)
    .bytes(res.kid, Size.KID, "kid")
    .u32(toWireSeconds(res.expiresAt, "expiresAt"))
    .bytes(res.ephemeralPublicKey, Size.PUBLIC_KEY, "ephemeralPublicKey");
  if (res.suite === JoinSuite.MLKEM768_SECP256K1_HKDF_SHA256)
    w.bytes(res.kemCiphertext, Size.KEM_CIPHERTEXT, "kemCiphertext");
  return concatBytes(requestBody, deviceSignature, w.finish());
}

/**
 * The member key.
 *
 * Classic: K_m = HKDF(ikm = Z, salt = SHA-256(label || T_res), info = member-key label || kid).
 *
 * Hybrid: the same with ikm = ss_ML-KEM || Z, the concatenation combiner of
 * draft-ietf-tls-hybrid-design-15 §3.3 (both secrets fixed-length; ML-KEM first as in
 * X25519MLKEM768, draft-ietf-tls-ecdhe-mlkem-04 §3) fed to HKDF-Extract with the transcript hash as salt. T_res
 * contains both ECDH keys, the ML-KEM key and ciphertext, offer, choice and identities, so K_m is
 * bound to all of them and stays secret while either Z or ss_ML-KEM does.
 * @param sharedX - 32-byte ECDH x-coordinate (wiped by the caller)
 * @param responseBody - {@link joinResponseBody}
 * @param kid - membership key id
 * @param kemSharedSecret - 32-byte ML-KEM shared secret for the hybrid suite (wiped by the caller)
 */
export function deriveMemberKey(
  sharedX: Uint8Array,
  responseBody: Uint8Array,
  kid: Uint8Array,
  kemSharedSecret?: Uint8Array,
): Uint8Array {
  abytes(sharedX, Size.HASH, "sharedX");
  const salt = labelledHash(Label.JOIN_RESPONSE, responseBody);
  if (kemSharedSecret === undefined) return deriveKey(sharedX, salt, Label.MEMBER_KEY, kid, Size.MEMBER_KEY);
  const ikm = concatBytes(abytes(kemSharedSecret, Size.KEM_SHARED_SECRET, "kemSharedSecret"), sharedX);
  try {
    return deriveKey(ikm, salt, Label.MEMBER_KEY, kid, Size.MEMBER_KEY);
  } finally {
    wipe(ikm);
  }
}
