/**
 * Device side of the join: answer a challenge, then verify the head's response and derive K_m.
 * @module
 */
import { abytes, wipe } from "../bytes";
import { JoinSuite, Label, Size } from "../constants";
import { ecdhSharedX, generateKeyPair } from "../crypto/ecdh";
import { signLabelled, verifyLabelled } from "../crypto/ecdsa";
import { type RandomSource, systemRandom } from "../crypto/random";
import { ProtocolError } from "../errors";
import { checkPosition, type Position } from "../geo";
import { assertClusterId } from "../identity";
import { decodeJoinChallenge, decodeJoinResponse, encodeJoinRequest } from "./codec";
import type { Membership } from "./head";
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
  /** Ephemeral scalar; wiped when the join completes. */
  ephemeralSecretKey: Uint8Array;
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
  random?: RandomSource;
}

/**
 * Build a signed JoinRequest for a received challenge.
 * @throws ProtocolError E_MALFORMED for a bad challenge, E_WRONG_CLUSTER when it names another cluster
 */
export function startJoin(opts: StartJoinOptions): { request: Uint8Array; state: DeviceJoinState } {
  const clusterId = assertClusterId(opts.clusterId);
  abytes(opts.headAddress, Size.ADDRESS, "headAddress");
  abytes(opts.deviceId, Size.DEVICE_ID, "deviceId");
  abytes(opts.deviceSecretKey, Size.SECRET_KEY, "deviceSecretKey");
  const position = checkPosition(opts.position);
  const ch = decodeJoinChallenge(opts.challengeMessage);
  if (ch.clusterId !== clusterId) throw new ProtocolError("E_WRONG_CLUSTER", "challenge for another cluster");
  const eph = generateKeyPair(opts.random ?? systemRandom);
  const fields = {
    suite: JoinSuite.SECP256K1_ECDH_HKDF_SHA256,
    deviceId: opts.deviceId.slice(),
    challenge: ch.challenge,
    position,
    ephemeralPublicKey: eph.publicKey,
  };
  const requestBody = joinRequestBody(clusterId, opts.headAddress, fields);
  const signature = signLabelled(opts.deviceSecretKey, Label.JOIN_REQUEST, requestBody);
  return {
    request: encodeJoinRequest({ ...fields, signature }),
    state: {
      phase: JoinPhase.AWAITING_RESPONSE,
      deviceId: fields.deviceId,
      headAddress: opts.headAddress.slice(),
      requestBody,
      deviceSignature: signature,
      ephemeralSecretKey: eph.secretKey,
    },
  };
}

/**
 * Verify the head's JoinResponse and derive the member key. A response that fails verification
 * leaves the state unchanged, so a forged response cannot block the genuine one.
 * @param response - JoinResponse bytes
 * @param state - from {@link startJoin}; moves to JOINED and loses its ephemeral key
 * @param now - unix ms
 * @throws ProtocolError E_BAD_STATE, E_MALFORMED, E_EXPIRED, E_BAD_SIGNATURE
 */
export function finishJoin(response: Uint8Array, state: DeviceJoinState, now: number): Membership {
  if (state.phase !== JoinPhase.AWAITING_RESPONSE)
    throw new ProtocolError("E_BAD_STATE", "join not in progress");
  const res = decodeJoinResponse(response);
  const responseBody = joinResponseBody(state.requestBody, state.deviceSignature, res);
  verifyLabelled(state.headAddress, Label.JOIN_RESPONSE, responseBody, res.signature);
  if (now >= res.expiresAt) throw new ProtocolError("E_EXPIRED", "membership already expired");
  const sharedX = ecdhSharedX(state.ephemeralSecretKey, res.ephemeralPublicKey);
  const memberKey = deriveMemberKey(sharedX, responseBody, res.kid);
  wipe(sharedX, state.ephemeralSecretKey);
  state.phase = JoinPhase.JOINED;
  return { deviceId: state.deviceId.slice(), kid: res.kid, memberKey, expiresAt: res.expiresAt };
}
