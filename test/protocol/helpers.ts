/**
 * Shared fixtures for protocol tests: deterministic randomness and a joined cluster.
 */
import { sha256 } from "@noble/hashes/sha2.js";
import {
  acceptJoin,
  type ClusterInfo,
  type DeviceCandidate,
  decodeJoinRequest,
  finishJoin,
  identityFromSecretKey,
  issueChallenge,
  type JoinSuite,
  type Membership,
  type Position,
  type RandomSource,
  startJoin,
} from "../../protocol";

/** Deterministic "random" source: SHA-256(seed || counter) stream. Tests only. */
export function seededRandom(seed: string): RandomSource {
  let counter = 0;
  return (n: number) => {
    const out = new Uint8Array(n);
    for (let o = 0; o < n; o += 32) {
      const block = sha256(new TextEncoder().encode(`${seed}/${counter++}`));
      out.set(block.subarray(0, Math.min(32, n - o)), o);
    }
    return out;
  };
}

/** Fixed test time. */
export const T0 = 1_800_000_000_000;

/** A 32-byte id filled with `b`. */
export function id32(b: number): Uint8Array {
  return new Uint8Array(32).fill(b);
}

/** A deterministic secret key. */
export function key(tag: string): Uint8Array {
  return sha256(new TextEncoder().encode(`key/${tag}`));
}

export const head = identityFromSecretKey(key("head"));
export const CENTRE: Position = { lat: 52_520_000, lon: 13_405_000 };
export const cluster: ClusterInfo = {
  clusterId: 7,
  headAddress: head.address,
  centre: CENTRE,
  radius: 10_000,
};

export interface TestDevice {
  id: Uint8Array;
  identity: ReturnType<typeof identityFromSecretKey>;
  /** The head's index entry for this device (resolved from its tag). */
  record: DeviceCandidate;
  position: Position;
}

export function device(
  n: number,
  position: Position = { lat: CENTRE.lat + 1000, lon: CENTRE.lon - 500 },
): TestDevice {
  const identity = identityFromSecretKey(key(`device${n}`));
  return {
    id: id32(n),
    identity,
    record: { deviceId: id32(n), keyAddress: identity.address, clusterId: cluster.clusterId, active: true },
    position,
  };
}

/** Join suites of a test join: the device's offer and the head's policy (protocol defaults when absent). */
export interface TestSuites {
  offer?: readonly JoinSuite[];
  policy?: readonly JoinSuite[];
}

/** The first half of a join: challenge, device request, and the head's acceptJoin inputs. */
export function beginJoin(d: TestDevice, seed: string, now = T0, suites: TestSuites = {}) {
  const random = seededRandom(seed);
  const ch = issueChallenge({ clusterId: cluster.clusterId, now, random });
  const start = startJoin({
    challengeMessage: ch.message,
    clusterId: cluster.clusterId,
    headAddress: head.address,
    deviceId: d.id,
    deviceSecretKey: d.identity.secretKey,
    position: d.position,
    random,
    ...(suites.offer ? { suites: suites.offer } : {}),
  });
  const ctx = {
    request: decodeJoinRequest(start.request),
    challenge: ch.record,
    candidates: [d.record],
    cluster,
    headSecretKey: head.secretKey,
    now,
    random,
    ...(suites.policy ? { suites: suites.policy } : {}),
  };
  return { ch, start, ctx };
}

/** Run a full join; returns both memberships and the wire messages. */
export function join(d: TestDevice, seed = `join${d.id[0]}`, now = T0, suites: TestSuites = {}) {
  const { ch, start, ctx } = beginJoin(d, seed, now, suites);
  const res = acceptJoin(ctx);
  const deviceMembership: Membership = finishJoin(res.response, start.state, now);
  return { challenge: ch, start, res, deviceMembership, headMembership: res.membership };
}
