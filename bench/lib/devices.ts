/**
 * Devices as the bench drives them over the head's real HTTP API with the pure protocol functions
 * (the device SDK is not used, so its changes cannot move these numbers).
 * @module
 */
import { toHex } from "../../protocol/bytes";
import { type JoinSuite, MessageSize } from "../../protocol/constants";
import {
  acceptGrant,
  createGrantRequest,
  createSessionRequest,
  type GrantedSession,
  type PendingGrant,
} from "../../protocol/grant/member";
import { finishJoin, startJoin } from "../../protocol/join/device";
import type { Membership } from "../../protocol/membership";
import { INSIDE, makeTestDevice, type TestDevice } from "../../testkit/head";
import type { BenchHead } from "./processes";

/** Where bench devices say they are: inside the launched heads' cluster (testkit/head.ts). */
export { INSIDE };
/** Largest batch POST /v1/devices/batch accepts. */
export const MAX_BATCH = 200;

/**
 * Enrolls `count` new devices in batches of `batchSize`, generating the next batch's keys and
 * proofs while the head works on the previous one.
 * @returns the devices and the wall time of each batch request
 */
export async function enrollDevices(
  head: Pick<BenchHead, "operator" | "clusterId">,
  count: number,
  batchSize = MAX_BATCH,
  onBatch?: (done: number, ms: number) => void,
): Promise<{ devices: TestDevice[]; batchMs: number[] }> {
  const devices: TestDevice[] = [];
  const batchMs: number[] = [];
  const make = (n: number) => Array.from({ length: n }, () => makeTestDevice());
  let next = make(Math.min(batchSize, count));
  while (next.length > 0) {
    const batch = next;
    const t0 = performance.now();
    const pending =
      batch.length === 1
        ? head.operator("POST", "/v1/devices", (batch[0] as TestDevice).enrollBody(head.clusterId))
        : head.operator("POST", "/v1/devices/batch", {
            devices: batch.map((d) => d.enrollBody(head.clusterId)),
          });
    const remaining = count - devices.length - batch.length;
    next = make(Math.min(batchSize, remaining));
    const res = await pending;
    if (res.status !== 201) throw new Error(`enrollment failed: ${res.status} ${JSON.stringify(res.json)}`);
    const ms = performance.now() - t0;
    batchMs.push(ms);
    devices.push(...batch);
    onBatch?.(devices.length, ms);
  }
  return { devices, batchMs };
}

/** One join over HTTP: challenge, JoinRequest, JoinResponse, verified by the device. */
export async function joinOverHttp(head: BenchHead, device: TestDevice): Promise<Membership> {
  return (await joinOverHttpDeferred(head, device)).finish();
}

/**
 * One join over HTTP whose device-side verification (`finishJoin`: recover + ECDH) is left to
 * the caller, so a throughput run measures the head rather than the bench's own core. With
 * `suite`, the device offers only that join suite and `finish()` checks the head chose it.
 */
export async function joinOverHttpDeferred(
  head: BenchHead,
  device: TestDevice,
  suite?: JoinSuite,
): Promise<{ finish(): Membership }> {
  const challenge = await head.http.post("/v1/join/challenge");
  if (challenge.status !== 200) throw new Error(`challenge: ${challenge.status} ${challenge.body}`);
  const { request, state } = startJoin({
    challengeMessage: new Uint8Array(challenge.body),
    clusterId: head.clusterId,
    headAddress: head.headAddress,
    deviceId: device.deviceId,
    deviceSecretKey: device.identity.secretKey,
    position: INSIDE,
    ...(suite === undefined ? {} : { suites: [suite] }),
  });
  const res = await head.http.post("/v1/join", request);
  if (res.status !== 200) throw new Error(`join: ${res.status} ${res.body}`);
  return {
    finish() {
      const membership = finishJoin(new Uint8Array(res.body), state, Date.now());
      if (suite !== undefined && state.suite !== suite)
        throw new Error(`asked for suite ${suite}, the head chose ${state.suite}`);
      return membership;
    },
  };
}

/** M1's SessionRequest forwarded by M2 as a GrantRequest: the bytes to POST and both pending records. */
export function grantRequest(m1: Membership, m2: Membership, clusterId: number) {
  const now = Date.now();
  const sr = createSessionRequest({ membership: m1, clusterId, peerId: m2.deviceId, now });
  const gr = createGrantRequest({
    membership: m2,
    clusterId,
    peerId: m1.deviceId,
    sessionRequest: sr.message,
    now,
  });
  return {
    message: gr.message,
    pending1: [sr.pending] as PendingGrant[],
    pending2: [gr.pending] as PendingGrant[],
  };
}

/** Splits the head's answer to a GrantRequest into both members' sessions. @throws on a warning */
export function acceptGrants(
  body: Uint8Array,
  m1: Membership,
  m2: Membership,
  req: ReturnType<typeof grantRequest>,
): { initiator: GrantedSession; responder: GrantedSession } {
  if (body.length !== 2 * MessageSize.GRANT) throw new Error(`expected two grants, got ${body.length} bytes`);
  const responder = acceptGrant(body.subarray(0, MessageSize.GRANT), m2, req.pending2, Date.now());
  const initiator = acceptGrant(body.subarray(MessageSize.GRANT), m1, req.pending1, Date.now());
  return { initiator, responder };
}

export { toHex };
