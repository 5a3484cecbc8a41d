/**
 * Cluster-head side of the join: issue single-use challenges and accept join requests.
 * The caller stores challenge records and memberships; this module only decides.
 * @module
 */
import { abytes, equalBytes, wipe } from "../bytes";
import { Defaults, JoinSuite, Label, Size } from "../constants";
import { ecdhSharedX, generateKeyPair } from "../crypto/ecdh";
import { recoverAddressCompact, signCompact } from "../crypto/ecdsa";
import { kemEncapsulate } from "../crypto/kem";
import { draw, type RandomSource, systemRandom } from "../crypto/random";
import { ProtocolError } from "../errors";
import { type Position, withinRadius } from "../geo";
import { assertClusterId } from "../identity";
import type { Membership } from "../membership";
import { floorToSecond } from "../wire-time";
import {
  type DistributiveOmit,
  encodeJoinChallenge,
  encodeJoinResponse,
  type JoinRequest,
  type JoinResponse,
} from "./codec";
import { assertJoinSuites, chooseJoinSuite, DEFAULT_JOIN_SUITES } from "./suites";
import { deriveMemberKey, joinRequestBody, joinResponseBody } from "./transcript";

/** Lifecycle of a challenge record. */
export const ChallengeState = {
  ISSUED: 1,
  CONSUMED: 2,
} as const;
/** A challenge state. */
export type ChallengeState = (typeof ChallengeState)[keyof typeof ChallengeState];

/** What the head stores per outstanding challenge (keyed by the challenge bytes). */
export interface ChallengeRecord {
  clusterId: number;
  challenge: Uint8Array;
  issuedAt: number;
  expiresAt: number;
  state: ChallengeState;
}

/** The registry's view of a device, looked up by the caller from deviceId. */
export interface DeviceRecord {
  /** 20-byte address of the device's registered key. */
  keyAddress: Uint8Array;
  clusterId: number;
  active: boolean;
}

/** A registry device listed under the JoinRequest's device tag by the caller's index. */
export interface DeviceCandidate extends DeviceRecord {
  /** 32-byte device ID (T_req is built with it, so only the device that signed can pass). */
  deviceId: Uint8Array;
}

/**
 * Most devices one tag may resolve to. Two enrolled devices share a 128-bit tag only by chance
 * (2^-128 per pair) or by an enroller grinding IDs (~2^64 work); each candidate costs one key
 * recovery, so the head bounds the work a tag can cause and refuses more (`E_NOT_MEMBER`).
 */
export const MAX_TAG_CANDIDATES = 4;

/** The head's own cluster. */
export interface ClusterInfo {
  clusterId: number;
  /** 20-byte address of the head key (on chain). */
  headAddress: Uint8Array;
  centre: Position;
  /** uint32 micro-degrees of arc. */
  radius: number;
}

/** Options for {@link issueChallenge}. */
export interface IssueChallengeOptions {
  clusterId: number;
  now: number;
  random?: RandomSource;
  /** Default {@link Defaults.CHALLENGE_TTL_MS}. */
  ttlMs?: number;
}

/**
 * Issue a fresh 16-byte challenge.
 * @returns the JoinChallenge message and the record the caller must store (single use)
 */
export function issueChallenge(opts: IssueChallengeOptions): {
  message: Uint8Array;
  record: ChallengeRecord;
} {
  const clusterId = assertClusterId(opts.clusterId);
  const ttl = opts.ttlMs ?? Defaults.CHALLENGE_TTL_MS;
  if (!(ttl > 0)) throw new RangeError("ttlMs: must be positive");
  const challenge = draw(opts.random ?? systemRandom, Size.CHALLENGE, "challenge");
  const record: ChallengeRecord = {
    clusterId,
    challenge,
    issuedAt: opts.now,
    expiresAt: opts.now + ttl,
    state: ChallengeState.ISSUED,
  };
  return { message: encodeJoinChallenge({ challenge }), record };
}

/** Inputs to {@link acceptJoin}; lookups are done by the caller. */
export interface AcceptJoinContext {
  /** Decoded request ({@link decodeJoinRequest}). */
  request: JoinRequest;
  /** The record stored for `request.challenge`, taken atomically from the store; undefined if none. */
  challenge: ChallengeRecord | undefined;
  /**
   * Registry records whose device tag (`device-tag.ts`) is `request.deviceTag`: the caller's
   * index look-up, empty when none. The signature over the full device ID decides among them;
   * more than {@link MAX_TAG_CANDIDATES} is `E_NOT_MEMBER`.
   */
  candidates: readonly DeviceCandidate[];
  cluster: ClusterInfo;
  /** Head's long-term secret key (signs the response). */
  headSecretKey: Uint8Array;
  now: number;
  random?: RandomSource;
  /** Default {@link Defaults.MEMBERSHIP_TTL_MS}. */
  membershipTtlMs?: number;
  /** Key id to assign; default 4 random bytes. The caller must ensure it is unused. */
  kid?: Uint8Array;
  /**
   * The head's join-suite policy in preference order: the first suite the device offered is
   * chosen. Default {@link DEFAULT_JOIN_SUITES} (hybrid preferred, classic allowed).
   */
  suites?: readonly JoinSuite[];
}

/** Result of a successful join. */
export interface AcceptJoinResult {
  /** JoinResponse bytes to send to the device. */
  response: Uint8Array;
  /** Membership to store under `kid`. */
  membership: Membership;
  /** The challenge record, now CONSUMED. */
  challenge: ChallengeRecord;
  /** The join suite the head chose. */
  suite: JoinSuite;
}

/**
 * The device a tag names (`device-tag.ts`): the only candidate, or, when the tag is shared, the
 * one whose key made the signature (T_req holds the full device ID, so at most one candidate's
 * body verifies).
 * With none verifying, the first is returned and the documented checks refuse it.
 */
function resolveDevice(
  req: JoinRequest,
  candidates: readonly DeviceCandidate[],
  clusterId: number,
  headAddress: Uint8Array,
): DeviceCandidate | undefined {
  if (candidates.length > MAX_TAG_CANDIDATES) return undefined;
  if (candidates.length <= 1) return candidates[0];
  for (const c of candidates) {
    try {
      const signer = recoverAddressCompact(
        Label.JOIN_REQUEST,
        joinRequestBody(clusterId, headAddress, c.deviceId, req),
        req.signature,
      );
      if (equalBytes(signer, c.keyAddress)) return c;
    } catch {
      // A signature that recovers nothing is refused below, with its code.
    }
  }
  return candidates[0];
}

/**
 * Verify a join request and answer it. Checks, in this order: challenge known, unused and not
 * expired; device known (its tag names one to four candidates, see {@link resolveDevice}); active;
 * in this cluster; within radius; signature; a suite of the offer allowed by the policy. The
 * signature comes before the suite so that a refusal by policy is about a genuine device's offer,
 * and a rewritten offer is a bad signature.
 * The caller must remove the challenge from its store before calling (single use even on failure).
 * @throws ProtocolError E_UNKNOWN_CHALLENGE, E_REPLAY, E_EXPIRED, E_NOT_MEMBER, E_REVOKED,
 *   E_WRONG_CLUSTER, E_OUTSIDE_RADIUS, E_BAD_SIGNATURE, E_SUITE_REFUSED, E_MALFORMED (bad
 *   ephemeral point or ML-KEM key); RangeError for an empty or unknown `suites` policy
 */
export function acceptJoin(ctx: AcceptJoinContext): AcceptJoinResult {
  const { request: req, cluster, now } = ctx;
  abytes(ctx.headSecretKey, Size.SECRET_KEY, "headSecretKey");
  abytes(cluster.headAddress, Size.ADDRESS, "cluster.headAddress");
  const policy = assertJoinSuites(ctx.suites ?? DEFAULT_JOIN_SUITES, "suites");
  const rec = ctx.challenge;
  if (rec === undefined || !equalBytes(rec.challenge, req.challenge) || rec.clusterId !== cluster.clusterId)
    throw new ProtocolError("E_UNKNOWN_CHALLENGE", "unknown challenge");
  if (rec.state !== ChallengeState.ISSUED) throw new ProtocolError("E_REPLAY", "challenge already used");
  if (now >= rec.expiresAt) throw new ProtocolError("E_EXPIRED", "challenge expired");
  const device = resolveDevice(req, ctx.candidates, cluster.clusterId, cluster.headAddress);
  if (device === undefined) throw new ProtocolError("E_NOT_MEMBER", "unknown device");
  if (!device.active) throw new ProtocolError("E_REVOKED", "device revoked");
  if (device.clusterId !== cluster.clusterId)
    throw new ProtocolError("E_WRONG_CLUSTER", "device not in this cluster");
  if (!withinRadius(cluster.centre, cluster.radius, req.position))
    throw new ProtocolError("E_OUTSIDE_RADIUS", "position outside cluster radius");
  const requestBody = joinRequestBody(cluster.clusterId, cluster.headAddress, device.deviceId, req);
  const signer = recoverAddressCompact(Label.JOIN_REQUEST, requestBody, req.signature);
  if (!equalBytes(signer, device.keyAddress))
    throw new ProtocolError("E_BAD_SIGNATURE", "signer is not the device");
  const offer = req.suite === JoinSuite.MLKEM768_SECP256K1_HKDF_SHA256 ? req.offer : [req.suite];
  const suite = chooseJoinSuite(policy, offer);
  if (suite === undefined)
    throw new ProtocolError("E_SUITE_REFUSED", "no offered join suite is allowed here");

  const random = ctx.random ?? systemRandom;
  const eph = generateKeyPair(random);
  let sharedX: Uint8Array | undefined;
  let kemSecret: Uint8Array | undefined;
  try {
    sharedX = ecdhSharedX(eph.secretKey, req.ephemeralPublicKey);
    const kid = ctx.kid ? abytes(ctx.kid, Size.KID, "kid").slice() : draw(random, Size.KID, "kid");
    const head = {
      kid,
      // u32 seconds on the wire, rounded down: a membership never outlives its TTL.
      expiresAt: floorToSecond(now + (ctx.membershipTtlMs ?? Defaults.MEMBERSHIP_TTL_MS)),
      ephemeralPublicKey: eph.publicKey,
    };
    let fields: DistributiveOmit<JoinResponse, "signature">;
    // Only a hybrid request can offer hybrid; the second test narrows the type.
    if (
      suite === JoinSuite.MLKEM768_SECP256K1_HKDF_SHA256 &&
      req.suite === JoinSuite.MLKEM768_SECP256K1_HKDF_SHA256
    ) {
      // FIPS 203 §7.2: the device's key passes the input checks or the join is refused (E_MALFORMED).
      const enc = kemEncapsulate(req.kemPublicKey, random);
      kemSecret = enc.sharedSecret;
      fields = { suite, ...head, kemCiphertext: enc.cipherText };
    } else fields = { suite: JoinSuite.SECP256K1_ECDH_HKDF_SHA256, ...head };
    const responseBody = joinResponseBody(requestBody, req.signature, fields);
    const signature = signCompact(ctx.headSecretKey, Label.JOIN_RESPONSE, responseBody);
    const memberKey = deriveMemberKey(sharedX, responseBody, kid, kemSecret);
    return {
      response: encodeJoinResponse({ ...fields, signature }),
      membership: { deviceId: device.deviceId.slice(), kid, memberKey, expiresAt: head.expiresAt },
      challenge: { ...rec, state: ChallengeState.CONSUMED },
      suite,
    };
  } finally {
    // Forward secrecy: the ephemeral scalar and the raw shared secrets never outlive the join.
    wipe(eph.secretKey, sharedX, kemSecret);
  }
}
