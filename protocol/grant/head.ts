/**
 * Cluster-head side of the session grant: verify both authenticators and issue one sealed copy
 * of a fresh session key per member, or a warning to M2 when M1 cannot be verified.
 * @module
 */
import { equalBytes, toHex, wipe } from "../bytes";
import { AeadSuite, Defaults, Label, Role, Size } from "../constants";
import { aeadSeal } from "../crypto/aead";
import { labelledHash } from "../crypto/hash";
import { mac, verifyMac } from "../crypto/mac";
import { draw, type RandomSource, systemRandom } from "../crypto/random";
import { type ErrorCode, ProtocolError } from "../errors";
import type { Membership } from "../membership";
import { floorToSecond } from "../wire-time";
import { encodeGrantFromParts, encodeGrantHeader, encodeGrantWarning, type GrantRequest } from "./codec";
import {
  grantAad,
  grantKey,
  grantNonce,
  grantRequestMacInput,
  grantWarningMacInput,
  MEMBER_MAC_LABELS,
  macKey,
  type MemberMacKeys,
  sessionRequestMacInput,
} from "./keys";

/** A membership as the head sees it, looked up by kid. */
export interface MemberRecord {
  membership: Membership;
  /** Device still active in the registry and in this cluster. */
  active: boolean;
  /**
   * The membership's MAC keys, derived once ({@link memberMacKeys} of `membership.memberKey`) and
   * kept by the caller no longer than K_m; when absent each grant derives (and wipes) its own.
   */
  macKeys?: MemberMacKeys;
}

/** Runs `use` with `member`'s MAC key for `purpose`: the one derived once, or one derived (and wiped) now. */
function withMacKey<T>(member: MemberRecord, purpose: keyof MemberMacKeys, use: (key: Uint8Array) => T): T {
  const kept = member.macKeys?.[purpose];
  if (kept) return use(kept);
  const key = macKey(member.membership.memberKey, MEMBER_MAC_LABELS[purpose]);
  try {
    return use(key);
  } finally {
    wipe(key);
  }
}

/**
 * Replay key of a GrantRequest: hex SHA-256(label || kid1 || N1). Keyed on M1's request so the
 * same SessionRequest never yields two grants, even if re-wrapped by M2 with a new N2.
 * Store it until `timestamp + maxSkew` has passed; later copies fail the freshness check anyway.
 */
export function grantReplayKey(req: GrantRequest): string {
  return toHex(labelledHash(Label.GRANT_REPLAY, req.sessionRequest.kid, req.sessionRequest.nonce));
}

/** Inputs to {@link issueGrant}. */
export interface IssueGrantContext {
  /** Decoded GrantRequest ({@link decodeGrantRequest}). */
  request: GrantRequest;
  clusterId: number;
  /** Looked up by `request.sessionRequest.kid`; undefined when unknown. */
  initiator: MemberRecord | undefined;
  /** Looked up by `request.kid`; undefined when unknown. */
  responder: MemberRecord | undefined;
  /** Whether {@link grantReplayKey} of this request is already in the caller's store. */
  replayed: boolean;
  now: number;
  random?: RandomSource;
  /** Session lifetime; default {@link Defaults.SESSION_TTL_MS}, capped by both memberships. */
  sessionTtlMs?: number;
  /** Default {@link Defaults.MAX_SKEW_MS}. */
  maxSkewMs?: number;
}

/** A successful grant: send `toResponder` and `toInitiator` (directly or via M2). */
export interface GrantIssued {
  kind: "grant";
  sessionId: Uint8Array;
  expiresAt: number;
  toInitiator: Uint8Array;
  toResponder: Uint8Array;
  /** Store this (see {@link grantReplayKey}) until `replayKeyExpiresAt`. */
  replayKey: string;
  replayKeyExpiresAt: number;
}

/** M1 failed verification: send `toResponder` (a MAC'ed GrantWarning) to M2. */
export interface GrantRefused {
  kind: "warning";
  reason: ErrorCode;
  toResponder: Uint8Array;
}

function isCurrent(rec: MemberRecord, now: number): ErrorCode | undefined {
  if (!rec.active) return "E_REVOKED";
  if (now >= rec.membership.expiresAt) return "E_EXPIRED";
  return undefined;
}

/**
 * Verify a GrantRequest and issue the grant.
 * Order: M2 known/current/MAC (else throw: nobody to warn); kid1 ≠ kid2; M1 known/current/MAC
 * (else a Warning to M2); same device twice (E_REFLECTION); freshness; replay.
 * @throws ProtocolError E_NOT_MEMBER, E_REVOKED, E_EXPIRED, E_BAD_MAC (about M2),
 *   E_REFLECTION, E_EXPIRED (stale timestamp), E_REPLAY
 */
export function issueGrant(ctx: IssueGrantContext): GrantIssued | GrantRefused {
  const { request: req, clusterId, now } = ctx;
  const sreq = req.sessionRequest;
  const responder = ctx.responder;
  if (responder === undefined || !equalBytes(responder.membership.kid, req.kid))
    throw new ProtocolError("E_NOT_MEMBER", "unknown responder key id");
  const responderProblem = isCurrent(responder, now);
  if (responderProblem) throw new ProtocolError(responderProblem, "responder membership not current");
  const m2 = responder.membership;
  withMacKey(responder, "grantRequest", (m2Key) =>
    verifyMac(
      m2Key,
      Label.MAC_GRANT_REQUEST,
      grantRequestMacInput(clusterId, m2.deviceId, req.kid, req.nonce, req.sessionRequestBytes),
      req.mac,
    ),
  );
  if (equalBytes(sreq.kid, req.kid))
    throw new ProtocolError("E_REFLECTION", "initiator and responder are the same");

  const initiator = ctx.initiator;
  let reason: ErrorCode | undefined;
  if (initiator === undefined || !equalBytes(initiator.membership.kid, sreq.kid)) reason = "E_NOT_MEMBER";
  else reason = isCurrent(initiator, now);
  if (reason === undefined && initiator) {
    if (equalBytes(initiator.membership.deviceId, m2.deviceId))
      throw new ProtocolError("E_REFLECTION", "initiator and responder are the same device");
    try {
      withMacKey(initiator, "sessionRequest", (k) =>
        verifyMac(
          k,
          Label.MAC_SESSION_REQUEST,
          sessionRequestMacInput(clusterId, initiator.membership.deviceId, m2.deviceId, sreq),
          sreq.mac,
        ),
      );
    } catch {
      reason = "E_BAD_MAC";
    }
  }
  if (reason !== undefined || !initiator)
    return warn(reason ?? "E_NOT_MEMBER", req, responder, clusterId, now);

  const maxSkew = ctx.maxSkewMs ?? Defaults.MAX_SKEW_MS;
  if (Math.abs(now - sreq.timestamp) > maxSkew) throw new ProtocolError("E_EXPIRED", "stale session request");
  if (ctx.replayed) throw new ProtocolError("E_REPLAY", "session request already granted");

  const random = ctx.random ?? systemRandom;
  const m1 = initiator.membership;
  const sessionKey = draw(random, Size.SESSION_KEY, "sessionKey");
  const sessionId = draw(random, Size.SESSION_ID, "sessionId");
  // A session never outlives either membership: revocation takes effect at re-join at the latest.
  // Both times go on the wire as u32 seconds, rounded down (the expiry only gets earlier).
  const issuedAt = floorToSecond(now);
  const expiresAt = floorToSecond(
    Math.min(now + (ctx.sessionTtlMs ?? Defaults.SESSION_TTL_MS), m1.expiresAt, m2.expiresAt),
  );
  const seal = (role: Role, member: Membership, nonce: Uint8Array): Uint8Array => {
    const nonceHint = nonce.subarray(0, Size.NONCE_HINT);
    // Encoded once: the same bytes are the AAD's prefix and the message's.
    const header = encodeGrantHeader({ role, suite: sreq.suite, sessionId, issuedAt, expiresAt, nonceHint });
    const key = grantKey(member.memberKey, sessionId, nonce, role);
    const sealed = aeadSeal(
      AeadSuite.AES_256_GCM,
      key,
      grantNonce(sessionId, role),
      sessionKey,
      grantAad(header, nonce, clusterId, m1.deviceId, m2.deviceId),
    );
    wipe(key);
    return encodeGrantFromParts(header, sealed);
  };
  const result: GrantIssued = {
    kind: "grant",
    sessionId,
    expiresAt,
    toInitiator: seal(Role.INITIATOR, m1, sreq.nonce),
    toResponder: seal(Role.RESPONDER, m2, req.nonce),
    replayKey: grantReplayKey(req),
    replayKeyExpiresAt: sreq.timestamp + maxSkew,
  };
  wipe(sessionKey);
  return result;
}

function warn(
  reason: ErrorCode,
  req: GrantRequest,
  responder: MemberRecord,
  clusterId: number,
  now: number,
): GrantRefused {
  const body = { reason, nonce: req.nonce, issuedAt: now };
  const m2 = responder.membership;
  const tag = withMacKey(responder, "grantWarning", (k) =>
    mac(k, Label.MAC_GRANT_WARNING, grantWarningMacInput(clusterId, m2.deviceId, body)),
  );
  return { kind: "warning", reason, toResponder: encodeGrantWarning({ ...body, mac: tag }) };
}
