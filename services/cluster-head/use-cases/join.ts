/**
 * The join, head side: hand out single-use challenges, then verify a JoinRequest against the
 * registry index (never the chain) and record the membership before answering.
 */
import {
  acceptJoin,
  type ChallengeRecord,
  type ClusterInfo,
  decodeJoinRequest,
  type DeviceCandidate,
  deviceTag,
  fromHex,
  type JoinRequest,
  type JoinSuite,
  joinSuiteName,
  ProtocolError,
  toHex,
} from "../../../protocol";
import type { HeadContext } from "../context";
import { HeadError } from "../errors";
import type { BatchOperation } from "../stores/database";
import type { Member } from "../stores/member-store";
import { memberStanding } from "./membership-standing";
import { refuseIfEnrollmentPending } from "./pending-transactions";
import { requireServingIndex } from "./require-serving-index";

/** Issues a stateless JoinChallenge (nothing stored; single use once presented; expires after the challenge TTL). */
export async function createJoinChallenge(ctx: HeadContext): Promise<Uint8Array> {
  requireServingIndex(ctx);
  return ctx.challenges.issue(ctx.config.clusterId, ctx.now(), ctx.config.challengeTtlS * 1000, ctx.random);
}

/** This head's cluster as the protocol needs it, from the index. */
export async function clusterInfo(ctx: HeadContext): Promise<ClusterInfo> {
  const cluster = await ctx.index.getCluster(ctx.config.clusterId);
  if (!cluster) throw new HeadError("E_INDEX_NOT_READY", "this head's cluster is not in the index yet");
  return {
    clusterId: cluster.clusterId,
    headAddress: fromHex(cluster.head),
    centre: { lat: cluster.latitude, lon: cluster.longitude },
    radius: cluster.radius,
  };
}

/**
 * Verifies a JoinRequest and answers with the JoinResponse, in the join suite the head's policy
 * (`--join-suites`) picks from the device's offer.
 * @throws ProtocolError with the refusal's code (unknown challenge, not a member, revoked, other
 *   cluster, outside the radius, bad signature, no acceptable join suite, malformed)
 * @throws HeadError E_BROKER_ADMIN_UNAVAILABLE when an administered broker could not be told (retry)
 */
export async function joinCluster(ctx: HeadContext, requestBytes: Uint8Array): Promise<Uint8Array> {
  requireServingIndex(ctx);
  const request = decodeJoinRequest(requestBytes);
  // Claimed now, synchronously (a second use is E_REPLAY from here on); its use is recorded in the
  // membership's durable batch, or on its own when the join ends without one (challenge-store.ts).
  const claim = ctx.challenges.claim(
    request.challenge,
    ctx.config.clusterId,
    ctx.now(),
    ctx.config.challengeTtlS * 1000,
  );
  const use = claim.operation;
  let recorded = false;
  try {
    const admitted = await admitJoin(ctx, request, claim.record, use);
    recorded = true;
    return await answerJoin(ctx, admitted);
  } catch (error) {
    // A refused or failed join uses its challenge up too: on disk before the refusal is answered.
    if (use && !recorded) await ctx.challenges.persist(use);
    throw error;
  }
}

/** Verifies the request and stores the membership (with the challenge's use, when given). */
async function admitJoin(
  ctx: HeadContext,
  request: JoinRequest,
  challenge: ChallengeRecord | undefined,
  challengeUse: BatchOperation | undefined,
): Promise<{ member: Member; response: Uint8Array; suite: JoinSuite }> {
  // The request names the device by its 16-byte tag (docs/protocol.md § JoinRequest): the index
  // resolves it to the enrolled devices with that tag, and acceptJoin picks the one that signed.
  const indexedWithTag = ctx.index.devicesWithTag(toHex(request.deviceTag));
  // Enrolled by this head but not confirmed yet: say so, rather than "unknown device".
  if (indexedWithTag.length === 0) refuseIfTagPending(ctx, request.deviceTag);
  const candidates: DeviceCandidate[] = indexedWithTag.map((indexed) => ({
    deviceId: fromHex(indexed.deviceId),
    keyAddress: fromHex(indexed.keyAddress),
    clusterId: indexed.clusterId,
    active: indexed.status === "active",
  }));
  let kid: Uint8Array;
  do kid = ctx.random(4);
  while (ctx.members.hasKid(toHex(kid)));
  const now = ctx.now();
  const result = acceptJoin({
    request,
    challenge,
    candidates,
    cluster: await clusterInfo(ctx),
    headSecretKey: ctx.identity.secretKey,
    now,
    random: ctx.random,
    membershipTtlMs: ctx.config.membershipTtlS * 1000,
    kid,
    suites: ctx.config.joinSuites,
  });
  const deviceId = toHex(result.membership.deviceId);
  // acceptJoin returns a membership only for one of the candidates.
  const indexed = indexedWithTag.find((d) => d.deviceId === deviceId)!;
  // The broker learns the member's credential and ACLs before it is stored and answered (both or neither).
  const member = await ctx.brokerAccess.admitMember(result.membership, () =>
    ctx.members.put(result.membership, indexed, now, challengeUse ? [challengeUse] : []),
  );
  return { member, response: result.response, suite: result.suite };
}

/** Re-checks the stored membership and answers with the JoinResponse. */
async function answerJoin(
  ctx: HeadContext,
  { member, response, suite }: { member: Member; response: Uint8Array; suite: JoinSuite },
): Promise<Uint8Array> {
  const { deviceId } = member;
  // The index may have moved on while this join was verified against it (a key rotated or the
  // device revoked on chain): re-check the stored membership under the one rule before answering.
  const standing = await memberStanding(ctx, member);
  if (standing !== "current" && standing !== "E_EXPIRED") {
    await ctx.members.remove(member);
    await ctx.brokerAccess.membershipEnded(deviceId, []);
    throw new ProtocolError(standing, "the registry revoked or re-keyed this device while it joined");
  }
  ctx.metrics.joins.inc();
  ctx.metrics.members.set(ctx.members.size);
  ctx.logger.info({ deviceId, expiresAt: member.expiresAt, suite: joinSuiteName(suite) }, "device joined");
  return response;
}

/**
 * A tag no indexed device has may still be a device whose enrollment this head sent and the index
 * does not hold yet: then the join is refused with E_ENROLLMENT_PENDING rather than "unknown device".
 */
function refuseIfTagPending(ctx: HeadContext, tag: Uint8Array): void {
  const tagHex = toHex(tag);
  for (const tx of ctx.pending.list())
    for (const id of tx.deviceIds)
      if (/^[0-9a-f]{64}$/.test(id) && toHex(deviceTag(fromHex(id))) === tagHex)
        refuseIfEnrollmentPending(ctx, id);
}
