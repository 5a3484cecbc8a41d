/**
 * Member side of the session grant: M1 creates a SessionRequest, M2 wraps it into a
 * GrantRequest, and each accepts its sealed Grant (or M2 a Warning).
 * @module
 */
import { abytes, equalBytes, wipe } from "../bytes";
import { type AeadSuite, Defaults, Label, Role, Size, AeadSuite as Suites } from "../constants";
import { aeadOpen } from "../crypto/aead";
import { mac, verifyMac } from "../crypto/mac";
import { draw, type RandomSource, systemRandom } from "../crypto/random";
import { type ErrorCode, isProtocolError, ProtocolError } from "../errors";
import { assertClusterId } from "../identity";
import type { Membership } from "../membership";
import { floorToSecond } from "../wire-time";
import {
  decodeGrant,
  decodeGrantWarning,
  decodeSessionRequest,
  encodeGrantHeader,
  encodeGrantRequest,
  encodeSessionRequest,
  type Grant,
} from "./codec";
import {
  grantAad,
  grantKey,
  grantNonce,
  grantRequestMacInput,
  grantWarningMacInput,
  macKey,
  sessionRequestMacInput,
} from "./keys";

/** A nonce this member sent and the context it was sent in; kept until used or stale. */
export interface PendingGrant {
  role: Role;
  nonce: Uint8Array;
  clusterId: number;
  selfId: Uint8Array;
  peerId: Uint8Array;
  suite: AeadSuite;
  createdAt: number;
  /** Set by {@link acceptGrant}/{@link acceptGrantWarning}; a used nonce is never accepted again. */
  used: boolean;
}

/** A session established by a grant; input to {@link createChannel}. Secret. */
export interface GrantedSession {
  sessionId: Uint8Array;
  /** 32-byte Sk. */
  sessionKey: Uint8Array;
  role: Role;
  selfId: Uint8Array;
  peerId: Uint8Array;
  clusterId: number;
  suite: AeadSuite;
  issuedAt: number;
  expiresAt: number;
}

/** Inputs to {@link createSessionRequest}. */
export interface CreateSessionRequestOptions {
  membership: Membership;
  clusterId: number;
  /** M2's 32-byte device ID. */
  peerId: Uint8Array;
  /** Default AES-256-GCM. */
  suite?: AeadSuite;
  now: number;
  random?: RandomSource;
}

/**
 * M1: build a SessionRequest for M2.
 * @returns the message and the pending record to keep
 * @throws ProtocolError E_REFLECTION when peerId is our own ID
 */
export function createSessionRequest(o: CreateSessionRequestOptions): {
  message: Uint8Array;
  pending: PendingGrant;
} {
  const clusterId = assertClusterId(o.clusterId);
  abytes(o.peerId, Size.DEVICE_ID, "peerId");
  const self = o.membership;
  if (equalBytes(self.deviceId, o.peerId)) throw new ProtocolError("E_REFLECTION", "session with oneself");
  const suite = o.suite ?? Suites.AES_256_GCM;
  const nonce = draw(o.random ?? systemRandom, Size.NONCE, "nonce");
  // u32 seconds on the wire: the head keeps the replay key until timestamp + maxSkew, the same
  // bound its freshness check uses, so the rounding cannot open a gap (docs/protocol.md § GrantRequest).
  const fields = { suite, kid: self.kid, nonce, timestamp: floorToSecond(o.now) };
  const k = macKey(self.memberKey, Label.MAC_SESSION_REQUEST);
  const tag = mac(
    k,
    Label.MAC_SESSION_REQUEST,
    sessionRequestMacInput(clusterId, self.deviceId, o.peerId, fields),
  );
  wipe(k);
  return {
    message: encodeSessionRequest({ ...fields, mac: tag }),
    pending: {
      role: Role.INITIATOR,
      nonce,
      clusterId,
      selfId: self.deviceId,
      peerId: o.peerId.slice(),
      suite,
      createdAt: o.now,
      used: false,
    },
  };
}

/** Inputs to {@link createGrantRequest}. */
export interface CreateGrantRequestOptions {
  membership: Membership;
  clusterId: number;
  /** M1's device ID as known from the transport (M1 proves it to the head, not to us). */
  peerId: Uint8Array;
  sessionRequest: Uint8Array;
  now: number;
  random?: RandomSource;
  /** Default {@link Defaults.MAX_SKEW_MS}. */
  maxSkewMs?: number;
}

/**
 * M2: wrap M1's SessionRequest for the head.
 * @throws ProtocolError E_MALFORMED, E_REFLECTION (M1 = M2), E_EXPIRED (stale request)
 */
export function createGrantRequest(o: CreateGrantRequestOptions): {
  message: Uint8Array;
  pending: PendingGrant;
} {
  const clusterId = assertClusterId(o.clusterId);
  abytes(o.peerId, Size.DEVICE_ID, "peerId");
  const self = o.membership;
  const sreq = decodeSessionRequest(o.sessionRequest);
  if (equalBytes(self.deviceId, o.peerId) || equalBytes(self.kid, sreq.kid))
    throw new ProtocolError("E_REFLECTION", "session request from ourselves");
  if (Math.abs(o.now - sreq.timestamp) > (o.maxSkewMs ?? Defaults.MAX_SKEW_MS))
    throw new ProtocolError("E_EXPIRED", "stale session request");
  const nonce = draw(o.random ?? systemRandom, Size.NONCE, "nonce");
  const k = macKey(self.memberKey, Label.MAC_GRANT_REQUEST);
  const tag = mac(
    k,
    Label.MAC_GRANT_REQUEST,
    grantRequestMacInput(clusterId, self.deviceId, self.kid, nonce, o.sessionRequest),
  );
  wipe(k);
  return {
    message: encodeGrantRequest({ kid: self.kid, nonce, mac: tag, sessionRequestBytes: o.sessionRequest }),
    pending: {
      role: Role.RESPONDER,
      nonce,
      clusterId,
      selfId: self.deviceId,
      peerId: o.peerId.slice(),
      suite: sreq.suite,
      createdAt: o.now,
      used: false,
    },
  };
}

function findPending(pending: readonly PendingGrant[], nonce: Uint8Array): PendingGrant {
  let found: PendingGrant | undefined;
  // Scan all entries: the time taken does not reveal which nonce matched.
  for (const p of pending) if (equalBytes(p.nonce, nonce)) found = p;
  if (found === undefined) throw new ProtocolError("E_UNKNOWN_NONCE", "nonce not sent by us");
  if (found.used) throw new ProtocolError("E_REPLAY", "nonce already used");
  return found;
}

/**
 * The pending entries a Grant's nonce hint may name, narrowed step by step so that each refusal
 * keeps its code: none with this hint (`E_UNKNOWN_NONCE`), all used (`E_REPLAY`), none of this
 * role (`E_UNKNOWN_NONCE`), none of this suite (`E_UNSUPPORTED`). Two live nonces of one member
 * share a 32-bit hint with probability about 2^-32 per pair; then each is tried (the AEAD decides).
 */
function pendingForHint(pending: readonly PendingGrant[], g: Grant): PendingGrant[] {
  const hinted: PendingGrant[] = [];
  // Scan all entries: the time taken does not reveal which nonce matched.
  for (const p of pending) if (equalBytes(p.nonce.subarray(0, Size.NONCE_HINT), g.nonceHint)) hinted.push(p);
  if (hinted.length === 0) throw new ProtocolError("E_UNKNOWN_NONCE", "nonce not sent by us");
  const unused = hinted.filter((p) => !p.used);
  if (unused.length === 0) throw new ProtocolError("E_REPLAY", "nonce already used");
  const inRole = unused.filter((p) => p.role === g.role);
  if (inRole.length === 0) throw new ProtocolError("E_UNKNOWN_NONCE", "nonce sent in another role");
  const sameSuite = inRole.filter((p) => p.suite === g.suite);
  if (sameSuite.length === 0) throw new ProtocolError("E_UNSUPPORTED", "suite differs from the request");
  return sameSuite;
}

/** Open the sealed Sk with one pending entry's whole nonce; undefined when the tag does not verify. */
function openWith(g: Grant, p: PendingGrant, membership: Membership): Uint8Array | undefined {
  const [initiatorId, responderId] = p.role === Role.INITIATOR ? [p.selfId, p.peerId] : [p.peerId, p.selfId];
  const key = grantKey(membership.memberKey, g.sessionId, p.nonce, g.role);
  try {
    return aeadOpen(
      Suites.AES_256_GCM,
      key,
      grantNonce(g.sessionId, g.role),
      g.sealed,
      grantAad(encodeGrantHeader(g), p.nonce, p.clusterId, initiatorId, responderId),
    );
  } catch (error) {
    if (isProtocolError(error) && error.code === "E_BAD_TAG") return undefined;
    throw error;
  } finally {
    wipe(key);
  }
}

/**
 * Open a Grant addressed to this member: find the pending entry by the Grant's nonce hint, then
 * open with that entry's whole nonce (grant key and AAD).
 * @param grant - Grant bytes
 * @param membership - our membership (K_m)
 * @param pending - our pending nonces; the matching entry is marked used on success
 * @param now - unix ms
 * @throws ProtocolError E_MALFORMED, E_UNKNOWN_NONCE, E_REPLAY, E_UNSUPPORTED (suite changed),
 *   E_BAD_TAG (wrong member, tampering, wrong identities), E_EXPIRED
 */
export function acceptGrant(
  grant: Uint8Array,
  membership: Membership,
  pending: readonly PendingGrant[],
  now: number,
): GrantedSession {
  const g: Grant = decodeGrant(grant);
  let p: PendingGrant | undefined;
  let sessionKey: Uint8Array | undefined;
  for (const candidate of pendingForHint(pending, g)) {
    sessionKey = openWith(g, candidate, membership);
    if (sessionKey) {
      p = candidate;
      break;
    }
  }
  if (!p || !sessionKey) throw new ProtocolError("E_BAD_TAG", "grant does not open");
  if (now >= g.expiresAt) {
    wipe(sessionKey);
    throw new ProtocolError("E_EXPIRED", "grant expired");
  }
  p.used = true;
  return {
    sessionId: g.sessionId,
    sessionKey,
    role: g.role,
    selfId: p.selfId,
    peerId: p.peerId,
    clusterId: p.clusterId,
    suite: g.suite,
    issuedAt: g.issuedAt,
    expiresAt: g.expiresAt,
  };
}

/**
 * M2: verify a GrantWarning from the head.
 * @returns the reason M1 was refused
 * @throws ProtocolError E_MALFORMED, E_UNKNOWN_NONCE, E_REPLAY, E_BAD_MAC
 */
export function acceptGrantWarning(
  warning: Uint8Array,
  membership: Membership,
  pending: readonly PendingGrant[],
): ErrorCode {
  const w = decodeGrantWarning(warning);
  const p = findPending(pending, w.nonce);
  if (p.role !== Role.RESPONDER) throw new ProtocolError("E_UNKNOWN_NONCE", "nonce sent in another role");
  const k = macKey(membership.memberKey, Label.MAC_GRANT_WARNING);
  try {
    verifyMac(k, Label.MAC_GRANT_WARNING, grantWarningMacInput(p.clusterId, p.selfId, w), w.mac);
  } finally {
    wipe(k);
  }
  p.used = true;
  return w.reason;
}
