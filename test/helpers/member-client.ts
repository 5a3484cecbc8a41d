/**
 * A member's protocol calls against a real head over HTTP, with the pure protocol core: join,
 * and a session request from M1 forwarded by M2. For tests that drive the head byte by byte.
 */
import { expect } from "vitest";
import { fromHex } from "../../protocol/bytes";
import { createGrantRequest, createSessionRequest, type PendingGrant } from "../../protocol/grant/member";
import { finishJoin, startJoin } from "../../protocol/join/device";
import type { Membership } from "../../protocol/membership";
import { makeTestDevice, type TestDevice, type TestHead } from "../../testkit/head";

/** A position inside the test heads' cluster (radius 2,000,000 µ° around 0, 0). */
export const INSIDE = { lat: 500_000, lon: -300_000 };

/** The error code of a refused answer, or a line saying there was none. */
export async function errorCode(response: Response): Promise<string> {
  const body = (await response.json()) as { error?: { code?: string } };
  return body.error?.code ?? `(no error; status ${response.status})`;
}

/** Fetches a challenge and posts a JoinRequest; the answer is the caller's to check. */
export async function join(
  head: TestHead,
  device: TestDevice,
  position = INSIDE,
  signingKey = device.identity.secretKey,
) {
  const challenge = new Uint8Array(await (await head.post("/v1/join/challenge")).arrayBuffer());
  const { request, state } = startJoin({
    challengeMessage: challenge,
    clusterId: head.clusterId,
    headAddress: fromHex(head.headAddress.slice(2)),
    deviceId: device.deviceId,
    deviceSecretKey: signingKey,
    position,
  });
  const response = await head.post("/v1/join", request);
  return { response, request, state };
}

/** Joins and returns the membership; fails the test when the head refuses. */
export async function joined(
  head: TestHead,
  device: TestDevice,
  signingKey?: Uint8Array,
): Promise<Membership> {
  const { response, state } = await join(head, device, INSIDE, signingKey);
  expect(response.status, await response.clone().text()).toBe(200);
  return finishJoin(new Uint8Array(await response.arrayBuffer()), state, Date.now());
}

/** M1's SessionRequest and M2's GrantRequest wrapping it, with both pending records; nothing sent. */
export function buildSessionRequest(head: TestHead, m1: Membership, m2: Membership) {
  const request = createSessionRequest({
    membership: m1,
    clusterId: head.clusterId,
    peerId: m2.deviceId,
    now: Date.now(),
  });
  const forward = createGrantRequest({
    membership: m2,
    clusterId: head.clusterId,
    peerId: m1.deviceId,
    sessionRequest: request.message,
    now: Date.now(),
  });
  return {
    forward,
    pending1: [request.pending] as PendingGrant[],
    pending2: [forward.pending] as PendingGrant[],
  };
}

/** M1 asks M2, M2 forwards to the head; returns the head's answer and both pending records. */
export async function requestSession(head: TestHead, m1: Membership, m2: Membership) {
  const built = buildSessionRequest(head, m1, m2);
  const response = await head.post("/v1/sessions", built.forward.message);
  return { response, ...built };
}

/** A fresh device enrolled through the operator API of `head`, in its cluster. */
export async function enrolled(head: TestHead): Promise<TestDevice> {
  const device = makeTestDevice();
  const response = await head.operator("POST", "/v1/devices", device.enrollBody(head.clusterId));
  expect(response.status, await response.clone().text()).toBe(201);
  return device;
}
