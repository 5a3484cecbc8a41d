/**
 * A cluster run entirely in memory with the pure protocol functions: a head key, two devices
 * joined, one session granted. Used where a suite needs real channels or exact message bytes
 * without a running head. Every message that would go on the wire is kept in `wire`.
 * @module
 */
import {
  type AeadSuite,
  type JoinSuite,
  acceptGrant,
  acceptJoin,
  type Channel,
  type ClusterInfo,
  createChannel,
  createGrantRequest,
  createSessionRequest,
  decodeGrantRequest,
  decodeJoinRequest,
  encodeSessionAnswer,
  finishJoin,
  generateIdentity,
  type GrantedSession,
  type Identity,
  issueChallenge,
  issueGrant,
  type Membership,
  startJoin,
  Role,
  SessionAnswerKind,
  Size,
} from "../../protocol";
import { systemRandom } from "../../protocol/crypto/random";

export const BENCH_CLUSTER: Omit<ClusterInfo, "headAddress"> = {
  clusterId: 1,
  centre: { lat: 500_000, lon: -300_000 },
  radius: 2_000_000,
};

export interface PureDevice {
  id: Uint8Array;
  identity: Identity;
}

export function pureDevice(): PureDevice {
  return { id: systemRandom(32), identity: generateIdentity() };
}

export interface WireLog {
  joinChallenge: number;
  joinRequest: number;
  joinResponse: number;
  sessionRequest: number;
  grantRequest: number;
  /** Both grants as the head answers M2. */
  grantsToResponder: number;
  /** The initiator's grant as M2 forwards it to M1. */
  grantToInitiator: number;
  /** The session answer to M2 when the head delivered M1's Grant itself: M2's Grant alone. */
  answerDelivered: number;
  /** The session answer to M2 when M2 must relay M1's Grant: both Grants. */
  answerRelayed: number;
}

export interface PureCluster {
  head: Identity;
  cluster: ClusterInfo;
  /** Runs a join for `device`; returns both sides' memberships and the bytes of each message. */
  join(device: PureDevice, now?: number): { head: Membership; device: Membership; bytes: number[] };
}

export function pureCluster(): PureCluster {
  const head = generateIdentity();
  const cluster: ClusterInfo = { ...BENCH_CLUSTER, headAddress: head.address };
  return {
    head,
    cluster,
    join(device, now = Date.now()) {
      const ch = issueChallenge({ clusterId: cluster.clusterId, now });
      const start = startJoinFor(cluster, device, ch.message);
      const accepted = acceptJoin({
        request: decodeJoinRequest(start.request),
        challenge: ch.record,
        candidates: [
          {
            deviceId: device.id,
            keyAddress: device.identity.address,
            clusterId: cluster.clusterId,
            active: true,
          },
        ],
        cluster,
        headSecretKey: head.secretKey,
        now,
      });
      const membership = finishJoin(accepted.response, start.state, now);
      return {
        head: accepted.membership,
        device: membership,
        bytes: [ch.message.length, start.request.length, accepted.response.length],
      };
    },
  };
}

/** The device's JoinRequest for `challengeMessage`, from inside the bench cluster, offering `suites`. */
export function startJoinFor(
  cluster: ClusterInfo,
  device: PureDevice,
  challengeMessage: Uint8Array,
  suites?: JoinSuite[],
) {
  return startJoin({
    challengeMessage,
    clusterId: cluster.clusterId,
    headAddress: cluster.headAddress,
    deviceId: device.id,
    deviceSecretKey: device.identity.secretKey,
    position: { lat: BENCH_CLUSTER.centre.lat + 1000, lon: BENCH_CLUSTER.centre.lon - 500 },
    ...(suites === undefined ? {} : { suites }),
  });
}

/** Two joined devices and a granted session between them, with every message's size. */
export function pureSessionPair(suite?: AeadSuite): {
  initiator: Channel;
  responder: Channel;
  wire: WireLog;
} {
  const { initiator, responder, wire } = pureGrantedPair(suite);
  return { initiator: createChannel(initiator), responder: createChannel(responder), wire };
}

/**
 * As {@link pureSessionPair}, but each side's granted session itself (Sk included), for a device
 * that builds its channel in another process.
 */
export function pureGrantedPair(suite?: AeadSuite): {
  initiator: GrantedSession;
  responder: GrantedSession;
  wire: WireLog;
} {
  const c = pureCluster();
  const d1 = pureDevice();
  const d2 = pureDevice();
  const now = Date.now();
  const j1 = c.join(d1, now);
  const j2 = c.join(d2, now);
  const sr = createSessionRequest({
    membership: j1.device,
    clusterId: c.cluster.clusterId,
    peerId: d2.id,
    now,
    ...(suite ? { suite } : {}),
  });
  const gr = createGrantRequest({
    membership: j2.device,
    clusterId: c.cluster.clusterId,
    peerId: d1.id,
    sessionRequest: sr.message,
    now,
  });
  const issued = issueGrant({
    request: decodeGrantRequest(gr.message),
    clusterId: c.cluster.clusterId,
    initiator: { membership: j1.head, active: true },
    responder: { membership: j2.head, active: true },
    replayed: false,
    now,
  });
  if (issued.kind !== "grant") throw new Error(`expected a grant, got a warning (${issued.reason})`);
  const s1 = acceptGrant(issued.toInitiator, j1.device, [sr.pending], now);
  const s2 = acceptGrant(issued.toResponder, j2.device, [gr.pending], now);
  const [joinChallenge, joinRequest, joinResponse] = j1.bytes as [number, number, number];
  return {
    initiator: s1,
    responder: s2,
    wire: {
      joinChallenge,
      joinRequest,
      joinResponse,
      sessionRequest: sr.message.length,
      grantRequest: gr.message.length,
      grantsToResponder: issued.toResponder.length + issued.toInitiator.length,
      grantToInitiator: issued.toInitiator.length,
      answerDelivered: encodeSessionAnswer({
        kind: SessionAnswerKind.DELIVERED,
        toResponder: issued.toResponder,
      }).length,
      answerRelayed: encodeSessionAnswer({
        kind: SessionAnswerKind.GRANT,
        toResponder: issued.toResponder,
        toInitiator: issued.toInitiator,
      }).length,
    },
  };
}

/**
 * Both sides of one session as a grant hands them out (fresh random Sk and session ID, the
 * initiator and the responder role), without running a join and a grant first: for suites that
 * measure only the channel, which reads nothing else of the grant.
 */
export function channelSessionPair(
  suite: AeadSuite,
  lifetimeMs = 3_600_000,
): { initiator: GrantedSession; responder: GrantedSession } {
  const now = Date.now();
  const sessionId = systemRandom(Size.SESSION_ID);
  const sessionKey = systemRandom(Size.SESSION_KEY);
  const a = systemRandom(32);
  const b = systemRandom(32);
  const side = (role: Role, selfId: Uint8Array, peerId: Uint8Array): GrantedSession => ({
    sessionId: sessionId.slice(),
    sessionKey: sessionKey.slice(),
    role,
    selfId,
    peerId,
    clusterId: BENCH_CLUSTER.clusterId,
    suite,
    issuedAt: now,
    expiresAt: now + lifetimeMs,
  });
  const pair = { initiator: side(Role.INITIATOR, a, b), responder: side(Role.RESPONDER, b, a) };
  sessionKey.fill(0);
  return pair;
}
