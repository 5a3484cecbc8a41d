/**
 * Grant-flow key schedule and authenticated encodings. All MAC inputs start with version and
 * message type (explicit typing inside every authenticated part, the Otway–Rees fix), and
 * include identities the parties already know instead of sending them.
 * @module
 */
import { concatBytes, labelBytes, wipe } from "../bytes";
import { Writer } from "../writer";
import { Label, MessageType, PROTOCOL_VERSION, Size } from "../constants";
import { sha256 } from "../crypto/hash";
import { deriveKey } from "../crypto/kdf";
import { GRANT_HEADER_BYTES, encodeGrantWarningBody, type GrantWarning, type SessionRequest } from "./codec";

const EMPTY = new Uint8Array(0);

/**
 * Per-purpose MAC key from a member key: HKDF(K_m, "", label). Separate keys per purpose,
 * and the label is also the MAC's own prefix.
 */
export function macKey(memberKey: Uint8Array, label: string): Uint8Array {
  return deriveKey(memberKey, EMPTY, label, EMPTY, 32);
}

/** The grant's MAC purposes and their labels: what {@link memberMacKeys} derives. */
export const MEMBER_MAC_LABELS = {
  /** The member's SessionRequests (as M1). */
  sessionRequest: Label.MAC_SESSION_REQUEST,
  /** The member's GrantRequests (as M2). */
  grantRequest: Label.MAC_GRANT_REQUEST,
  /** GrantWarnings the head sends the member. */
  grantWarning: Label.MAC_GRANT_WARNING,
} as const;

/**
 * The grant's MAC keys of one membership, each {@link macKey}(K_m, label): they depend on K_m
 * alone, so the head may derive them once per membership instead of per grant. Secret like K_m:
 * keep them no longer than K_m ({@link wipeMemberMacKeys} when the membership ends).
 */
export type MemberMacKeys = { readonly [P in keyof typeof MEMBER_MAC_LABELS]: Uint8Array };

/** Derives the grant's MAC keys of the membership whose member key is `memberKey`. */
export function memberMacKeys(memberKey: Uint8Array): MemberMacKeys {
  return {
    sessionRequest: macKey(memberKey, MEMBER_MAC_LABELS.sessionRequest),
    grantRequest: macKey(memberKey, MEMBER_MAC_LABELS.grantRequest),
    grantWarning: macKey(memberKey, MEMBER_MAC_LABELS.grantWarning),
  };
}

/** Overwrites every key of `keys` with zeros (they are unusable afterwards). */
export function wipeMemberMacKeys(keys: MemberMacKeys): void {
  wipe(keys.sessionRequest, keys.grantRequest, keys.grantWarning);
}

/** MAC input of a SessionRequest: both full device IDs and the cluster, though not sent. */
export function sessionRequestMacInput(
  clusterId: number,
  initiatorId: Uint8Array,
  responderId: Uint8Array,
  m: Omit<SessionRequest, "mac">,
): Uint8Array {
  return new Writer()
    .u8(PROTOCOL_VERSION)
    .u8(MessageType.SESSION_REQUEST)
    .u32(clusterId)
    .bytes(initiatorId, Size.DEVICE_ID, "initiatorId")
    .bytes(responderId, Size.DEVICE_ID, "responderId")
    .bytes(m.kid, Size.KID, "kid")
    .bytes(m.nonce, Size.NONCE, "nonce")
    .u8(m.suite)
    .u64(m.timestamp)
    .finish();
}

/**
 * MAC input of a GrantRequest. It names M2 and covers SHA-256 of M1's request bytes; M1's
 * identity is deliberately left to the head's kid lookup so the head can still authenticate M2
 * (and warn it) when M1's kid is unknown. M2 checks M1's identity in the Grant's AAD.
 */
export function grantRequestMacInput(
  clusterId: number,
  responderId: Uint8Array,
  kid: Uint8Array,
  nonce: Uint8Array,
  sessionRequestBytes: Uint8Array,
): Uint8Array {
  return new Writer()
    .u8(PROTOCOL_VERSION)
    .u8(MessageType.GRANT_REQUEST)
    .u32(clusterId)
    .bytes(responderId, Size.DEVICE_ID, "responderId")
    .bytes(kid, Size.KID, "kid")
    .bytes(nonce, Size.NONCE, "nonce")
    .bytes(sha256(sessionRequestBytes))
    .finish();
}

/** MAC input of a GrantWarning. */
export function grantWarningMacInput(
  clusterId: number,
  responderId: Uint8Array,
  w: Omit<GrantWarning, "mac">,
): Uint8Array {
  return concatBytes(
    encodeGrantWarningBody(w),
    new Writer().u32(clusterId).bytes(responderId, Size.DEVICE_ID, "responderId").finish(),
  );
}

/**
 * One-time AEAD key for a sealed grant: HKDF(K_m, salt = sessionId || memberNonce, label || role).
 * Single use because (sessionId, memberNonce) never repeats: the 128-bit nonce is fresh per
 * request and replay-checked by the head, and the 64-bit sessionId is fresh per grant.
 */
export function grantKey(
  memberKey: Uint8Array,
  sessionId: Uint8Array,
  memberNonce: Uint8Array,
  role: number,
): Uint8Array {
  return deriveKey(
    memberKey,
    concatBytes(sessionId, memberNonce),
    Label.GRANT_KEY,
    Uint8Array.of(role),
    Size.AEAD_KEY,
  );
}

/** AEAD nonce of a sealed grant: sessionId (8) || role (1) || 0x000000. Unique since the key is. */
export function grantNonce(sessionId: Uint8Array, role: number): Uint8Array {
  const n = new Uint8Array(Size.AEAD_NONCE);
  n.set(sessionId, 0);
  n[Size.SESSION_ID] = role;
  return n;
}

/**
 * AAD of a sealed grant: label, the grant header as sent (with the 4-byte nonce hint), the member's
 * whole 16-byte nonce (kept by the member, not sent), cluster and both identities.
 * @param header - the Grant header as {@link encodeGrantHeader} encodes it
 */
export function grantAad(
  header: Uint8Array,
  memberNonce: Uint8Array,
  clusterId: number,
  initiatorId: Uint8Array,
  responderId: Uint8Array,
): Uint8Array {
  return new Writer()
    .bytes(labelBytes(Label.GRANT_AAD))
    .bytes(header, GRANT_HEADER_BYTES, "header")
    .bytes(memberNonce, Size.NONCE, "memberNonce")
    .u32(clusterId)
    .bytes(initiatorId, Size.DEVICE_ID, "initiatorId")
    .bytes(responderId, Size.DEVICE_ID, "responderId")
    .finish();
}
