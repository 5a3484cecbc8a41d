/**
 * Makes members and sessions agree with the registry index before the head serves: after a
 * restart (changes made on chain while the head was down are in the index once it caught up) and
 * after any crash between an index batch and the clean-up it calls for. A membership granted for a
 * key the registry no longer holds, of a revoked device or of one that left the cluster ends, and so
 * does every live session of such a device.
 */
import type { HeadContext } from "../context";
import { endMembership } from "./end-membership";
import { endReasonOf, type EndReason } from "./membership-standing";

export interface ReconcileReport {
  /** Devices whose membership or sessions were ended, and why. */
  ended: { deviceId: string; reason: EndReason }[];
}

export async function reconcileWithIndex(ctx: HeadContext): Promise<ReconcileReport> {
  const { clusterId } = ctx.config;
  const toEnd = new Map<string, EndReason>();
  for (const member of ctx.members.list()) {
    const reason = endReasonOf(await ctx.index.getDevice(member.deviceId), clusterId, member.keyVersion);
    if (reason) toEnd.set(member.deviceId, reason);
  }
  for (const session of ctx.sessions.live(ctx.now())) {
    const parties = [
      [session.initiator, session.initiatorKeyVersion],
      [session.responder, session.responderKeyVersion],
    ] as const;
    for (const [deviceId, keyVersion] of parties) {
      if (toEnd.has(deviceId)) continue;
      const reason = endReasonOf(await ctx.index.getDevice(deviceId), clusterId, keyVersion);
      if (reason) toEnd.set(deviceId, reason);
    }
  }
  for (const [deviceId, reason] of toEnd) await endMembership(ctx, deviceId, reason);
  const report = { ended: [...toEnd].map(([deviceId, reason]) => ({ deviceId, reason })) };
  if (report.ended.length > 0)
    ctx.logger.warn({ ended: report.ended }, "memberships and sessions reconciled with the registry");
  return report;
}
