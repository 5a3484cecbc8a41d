/**
 * Periodic clean-up, so that what the head keeps is bounded by what is live: expired challenges,
 * expired memberships (their member keys are destroyed), ended or expired sessions, stale grant
 * replay keys, and audit rows past their retention.
 */
import type { HeadContext } from "../context";

/** How long ended sessions stay listed in `GET /v1/sessions` after they end. */
export const ENDED_SESSION_RETENTION_MS = 10 * 60_000;
/** How long audit rows (grant warnings) are kept. */
export const AUDIT_RETENTION_MS = 30 * 24 * 3600_000;

export interface HousekeepingReport {
  challenges: number;
  members: number;
  sessions: number;
  replayKeys: number;
  auditRows: number;
}

export async function runHousekeeping(ctx: HeadContext): Promise<HousekeepingReport> {
  const now = ctx.now();
  const challenges = await ctx.challenges.sweep(now);
  const expired = ctx.members.prepareRemoveExpired(now);
  await ctx.database.batch(expired.operations, { durable: true });
  await expired.commit();
  ctx.metrics.members.set(ctx.members.size);
  // Normally done at the expiry itself (broker/dynsec); this catches what a head restart skipped.
  for (const member of expired.removed) {
    const peers = ctx.sessions
      .liveSessionsOf(member.deviceId, now)
      .map((s) => (s.initiator === member.deviceId ? s.responder : s.initiator));
    await ctx.brokerAccess.membershipEnded(member.deviceId, peers);
  }
  const pruned = await ctx.sessions.prune(now, now - ENDED_SESSION_RETENTION_MS);
  const auditRows = await ctx.audit.prune(now - AUDIT_RETENTION_MS);
  return { challenges, members: expired.removed.length, ...pruned, auditRows };
}
