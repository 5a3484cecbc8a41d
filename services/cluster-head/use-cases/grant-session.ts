/**
 * The session grant, head side (M2 forwards M1's request): verify both members against their
 * member keys and the registry index, then either grant a one-time key or warn M2 about M1.
 * The grant is recorded durably before it is returned, and its replay key is claimed while it is
 * decided, so it is never issued twice, not even to concurrent copies of one request. When M2 asks
 * for it, the head then delivers M1's Grant to M1 itself (docs/protocol.md § Direct delivery of
 * M1's Grant), and M2 relays it only when that failed.
 */
import {
  decodeGrantRequest,
  grantReplayKey,
  type GrantRequest,
  issueGrant,
  type MemberRecord,
  ProtocolError,
  toHex,
} from "../../../protocol";
import type { HeadContext } from "../context";
import type { Member } from "../stores/member-store";
import { standingNow } from "./membership-standing";
import { requireServingIndex } from "./require-serving-index";

/** The end reason of a session whose member's membership ended while it was being granted. */
const MEMBERSHIP_ENDED = "membership-ended";

export type GrantOutcome =
  | {
      kind: "grant";
      sessionId: string;
      toResponder: Uint8Array;
      toInitiator: Uint8Array;
      /** The head delivered `toInitiator` to the initiator: M2 must not relay it. */
      delivered: boolean;
      initiator: string;
      responder: string;
    }
  | { kind: "warning"; reason: string; toResponder: Uint8Array; responder: string };

/**
 * A member as the grant needs it: unknown when it joined under a key the registry has since
 * replaced (or is not in this cluster), inactive when revoked. Expiry is the protocol's to check.
 */
function memberRecord(ctx: HeadContext, member: Member | undefined): MemberRecord | undefined {
  const standing = standingNow(ctx, member);
  if (!member || standing === "E_NOT_MEMBER") return undefined;
  // MAC keys derived once per membership (member-mac-keys.ts), not twice per grant.
  return {
    membership: member.membership,
    active: standing !== "E_REVOKED",
    macKeys: ctx.macKeys.keysOf(member),
  };
}

/** How M2 wants M1's Grant delivered. */
export interface GrantOptions {
  /**
   * M2 can take an answer without M1's Grant (it said so: `x-iotguard-grant-delivery: direct`):
   * the head tries to deliver it to M1 itself. Otherwise M2 relays it, as every M2 did before.
   */
  deliverToInitiator?: boolean;
}

/**
 * Handles a GrantRequest from M2.
 * @throws ProtocolError about M2 itself (unknown, revoked, expired, bad MAC), reflection, a stale
 *   or replayed request, or malformed bytes
 * @throws HeadError E_BROKER_ADMIN_UNAVAILABLE when an administered broker could not be told; the
 *   grant was not recorded, so the same request may be retried
 */
export async function grantSession(
  ctx: HeadContext,
  requestBytes: Uint8Array,
  options: GrantOptions = {},
): Promise<GrantOutcome> {
  requireServingIndex(ctx);
  const request = decodeGrantRequest(requestBytes);
  const replayKey = grantReplayKey(request);
  // Claimed before the first await: concurrent copies of one request cannot all pass the check below.
  const claimed = ctx.sessions.claim(replayKey);
  try {
    return await decideGrant(ctx, request, replayKey, !claimed, options.deliverToInitiator === true);
  } finally {
    if (claimed) ctx.sessions.release(replayKey);
  }
}

async function decideGrant(
  ctx: HeadContext,
  request: GrantRequest,
  replayKey: string,
  claimedElsewhere: boolean,
  deliverToInitiator: boolean,
): Promise<GrantOutcome> {
  const initiatorMember = ctx.members.getByKid(toHex(request.sessionRequest.kid));
  const responderMember = ctx.members.getByKid(toHex(request.kid));
  const now = ctx.now();
  const outcome = issueGrant({
    request,
    clusterId: ctx.config.clusterId,
    initiator: memberRecord(ctx, initiatorMember),
    responder: memberRecord(ctx, responderMember),
    replayed: claimedElsewhere || ctx.sessions.wasGranted(replayKey),
    now,
    random: ctx.random,
    sessionTtlMs: ctx.config.sessionTtlS * 1000,
  });
  const responder = responderMember!.deviceId; // issueGrant throws when M2 is unknown

  if (outcome.kind === "warning") {
    ctx.metrics.warnings.inc({ reason: outcome.reason });
    await ctx.audit.record({
      at: now,
      event: "grant-warning",
      reason: outcome.reason,
      responder,
      initiatorKid: toHex(request.sessionRequest.kid),
    });
    ctx.logger.warn({ reason: outcome.reason, responder }, "session request refused: initiator not verified");
    ctx.events.emit("warning", {
      toDeviceId: responder,
      message: outcome.toResponder,
      reason: outcome.reason,
    });
    return { kind: "warning", reason: outcome.reason, toResponder: outcome.toResponder, responder };
  }

  const initiator = initiatorMember!.deviceId;
  const sessionId = toHex(outcome.sessionId);
  // Both may write into each other's inbox on the broker before the grant is stored and answered.
  await ctx.brokerAccess.grantSession(initiator, responder, outcome.expiresAt, async () => {
    const superseded = await ctx.sessions.recordGrant(outcome.replayKey, outcome.replayKeyExpiresAt, {
      sessionId,
      initiator,
      responder,
      suite: request.sessionRequest.suite,
      issuedAt: now,
      expiresAt: outcome.expiresAt,
      initiatorKeyVersion: initiatorMember!.keyVersion,
      responderKeyVersion: responderMember!.keyVersion,
    });
    // A membership that ended, or was replaced by a new join, while this grant was being recorded
    // (an end reads the device's sessions before this one was in memory): the session ends now and
    // no copy of the grant, sealed under the old member key, leaves the head. Thrown from here, an
    // administered broker takes back the pair's permissions (no live session is left between them).
    if (
      ctx.members.getByDevice(initiator) !== initiatorMember ||
      ctx.members.getByDevice(responder) !== responderMember
    ) {
      await ctx.sessions.endSessions([sessionId], ctx.now(), MEMBERSHIP_ENDED);
      throw new ProtocolError("E_REVOKED", "a membership ended while the grant was recorded");
    }
    return superseded;
  });
  ctx.metrics.grants.inc();
  ctx.events.emit("granted", { sessionId, initiator, responder });
  // Only now that the grant is on disk does a copy leave the head: a failed delivery falls back to
  // M2's relay of the same bytes, never to a second grant (docs/protocol.md § Direct delivery).
  const delivered =
    deliverToInitiator &&
    ctx.grantDelivery !== undefined &&
    (await ctx.grantDelivery.deliver(initiator, outcome.toInitiator));
  ctx.logger.debug(
    { sessionId, initiator, responder, expiresAt: outcome.expiresAt, delivered },
    "session granted",
  );
  return {
    kind: "grant",
    sessionId,
    toResponder: outcome.toResponder,
    toInitiator: outcome.toInitiator,
    delivered,
    initiator,
    responder,
  };
}
