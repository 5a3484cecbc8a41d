/**
 * Device side of the join: answer a challenge, then verify the head's response and derive K_m.
 * @module
 */
import { abytes, wipe } from "../bytes";
import { deviceTag } from "../device-tag";
import { JoinSuite, Label, Size } from "../constants";
import { ecdhSharedX, generateKeyPair } from "../crypto/ecdh";
import { signCompact, verifyCompact } from "../crypto/ecdsa";
import { generateKemKeyPair, kemDecapsulate } from "../crypto/kem";
import { type RandomSource, systemRandom } from "../crypto/random";
import { ProtocolError } from "../errors";
import { checkPosition, type Position } from "../geo";
import { assertClusterId } from "../identity";
import type { Membership } from "../membership";
import {
  type DistributiveOmit,
  decodeJoinChallenge,
  decodeJoinResponse,
  encodeJoinRequest,
  type JoinRequest,
} from "./codec";
import { assertJoinSuites } from "./suites";
import { deriveMemberKey, joinRequestBody, joinResponseBody } from "./transcript";

/** Device join phases. */
export const JoinPhase = {
  AWAITING_RESPONSE: 1,
  JOINED: 2,
} as const;
/** A join phase. */
export type JoinPhase = (typeof JoinPhase)[keyof typeof JoinPhase];

/** State kept by the device between {@link startJoin} and {@link finishJoin}. Secret. */
export interface DeviceJoinState {
  phase: JoinPhase;
  deviceId: Uint8Array;
  headAddress: Uint8Array;
  requestBody: Uint8Array;
  deviceSignature: Uint8Array;
  /** The suites this device offered; the head's choice must be one of them. */
  offer: readonly JoinSuite[];
  /** Ephemeral scalar; wiped when the join completes. */
  ephemeralSecretKey: Uint8Array;
  /** Ephemeral ML-KEM-768 decapsulation key when the hybrid suite was offered; wiped when the join completes. */
  kemSecretKey?: Uint8Array;
  /** The suite the head chose; set when the join completes. */
  suite?: JoinSuite;
}

/** Inputs to {@link startJoin}. */
export interface StartJoinOptions {
  /** The JoinChallenge bytes received from the head. */
  challengeMessage: Uint8Array;
  /** Cluster the device expects to join. */
  clusterId: number;
  /** 20-byte head address, pinned at enrolment or read from the chain. */
  headAddress: Uint8Array;
  /** 32-byte device ID. */
  deviceId: Uint8Array;
  /** Device long-term secret key (registered on chain). */
  deviceSecretKey: Uint8Array;
  position: Position;
  /**
   * The join suites this device accepts (its offer; order does not matter, the head's policy
   * decides). With the hybrid suite in it the request carries an ephemeral ML-KEM-768 key and
   * the offer; `[classic]` alone sends the version-0.1 classic request, which is also the default
   * of this pure core. The device SDK and CLI offer hybrid and classic by default.
   */
  suites?: readonly JoinSuite[];
  random?: RandomSource;
}

/**
 * Build a signed JoinRequest for a received challenge. The challenge does not name the cluster:
 * T_req binds the cluster this device means to join, so a head of another cluster refuses the
 * request (its challenge tag or the signature fails).
 * @throws ProtocolError E_MALFORMED for a bad challenge; RangeError for an empty or unknown `suites`
 */
export function startJoin(opts: StartJoinOptions): { request: Uint8Array; state: DeviceJoinState } {
  const clusterId = assertClusterId(opts.clusterId);
  abytes(opts.headAddress, Size.ADDRESS, "headAddress");
  abytes(opts.deviceId, Size.DEVICE_ID, "deviceId");
  abytes(opts.deviceSecretKey, Size.SECRET_KEY, "deviceSecretKey");
  const offer = [...assertJoinSuites(opts.suites ?? [JoinSuite.SECP256K1_ECDH_HKDF_SHA256], "suites")].sort(
    (a, b) => a - b,
  );
  const position = checkPosition(opts.position);
  const ch = decodeJoinChallenge(opts.challengeMessage);
  const random = opts.random ?? systemRandom;
  const eph = generateKeyPair(random);
  const deviceId = opts.deviceId.slice();
  const common = {
    deviceTag: deviceTag(deviceId),
    challenge: ch.challenge,
    position,
    ephemeralPublicKey: eph.publicKey,
  };
  // Offering hybrid means sending the ML-KEM key share now (one round trip, as in TLS 1.3 key_share).
  const kem = offer.includes(JoinSuite.MLKEM768_SECP256K1_HKDF_SHA256)
    ? generateKemKeyPair(random)
    : undefined;
  const fields: DistributiveOmit<JoinRequest, "signature"> = kem
    ? { suite: JoinSuite.MLKEM768_SECP256K1_HKDF_SHA256, offer, ...common, kemPublicKey: kem.publicKey }
    : { suite: JoinSuite.SECP256K1_ECDH_HKDF_SHA256, ...common };
  const requestBody = joinRequestBody(clusterId, opts.headAddress, deviceId, fields);
  const signature = signCompact(opts.deviceSecretKey, Label.JOIN_REQUEST, requestBody);
  return {
    request: encodeJoinRequest({ ...fields, signature }),
    state: {
      phase: JoinPhase.AWAITING_RESPONSE,
      deviceId,
      headAddress: opts.headAddress.slice(),
      requestBody,
      deviceSignature: signature,
      offer,
      ephemeralSecretKey: eph.secretKey,
      ...(kem ? { kemSecretKey: kem.secretKey } : {}),
    },
  };
}

/**
 * Verify the head's JoinResponse and derive the member key. A response that fails verification
 * leaves the state unchanged, so a forged response cannot block the genuine one.
 * @param response - JoinResponse bytes
 * @param state - from {@link startJoin}; moves to JOINED and loses its ephemeral keys
 * @param now - unix ms
 * @throws ProtocolError E_BAD_STATE, E_MALFORMED, E_BAD_SIGNATURE, E_SUITE_REFUSED (the head chose a
 *   suite this device did not offer), E_EXPIRED
 */
export function finishJoin(response: Uint8Array, state: DeviceJoinState, now: number): Membership {
  if (state.phase !== JoinPhase.AWAITING_RESPONSE)
    throw new ProtocolError("E_BAD_STATE", "join not in progress");
  const res = decodeJoinResponse(response);
  const responseBody = joinResponseBody(state.requestBody, state.deviceSignature, res);
  // sigH covers the offer (inside T_req) and the choice, so a rewritten suite fails here.
  verifyCompact(state.headAddress, Label.JOIN_RESPONSE, responseBody, res.signature);
  if (!state.offer.includes(res.suite))
    throw new ProtocolError("E_SUITE_REFUSED", "head chose a suite not offered");
  if (now >= res.expiresAt) throw new ProtocolError("E_EXPIRED", "membership already expired");
  let sharedX: Uint8Array | undefined;
  let kemSecret: Uint8Array | undefined;
  try {
    sharedX = ecdhSharedX(state.ephemeralSecretKey, res.ephemeralPublicKey);
    if (res.suite === JoinSuite.MLKEM768_SECP256K1_HKDF_SHA256)
      kemSecret = kemDecapsulate(res.kemCiphertext, state.kemSecretKey as Uint8Array);
    const memberKey = deriveMemberKey(sharedX, responseBody, res.kid, kemSecret);
    // Forward secrecy: every ephemeral secret goes now, whichever suite the head chose.
    wipe(state.ephemeralSecretKey, state.kemSecretKey);
    state.phase = JoinPhase.JOINED;
    state.suite = res.suite;
    return { deviceId: state.deviceId.slice(), kid: res.kid, memberKey, expiresAt: res.expiresAt };
  } finally {
    wipe(sharedX, kemSecret);
  }
}
