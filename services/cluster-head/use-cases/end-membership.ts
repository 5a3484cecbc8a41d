/**
 * Ending a device's standing in the cluster: every live session it takes part in ends (fsynced in
 * the session journal), then its membership (fsynced in level), its member key is destroyed, and
 * the transports are told (the broker disconnects it, its peers get a HeadNotice). Sessions first:
 * a crash in between leaves a membership whose sessions ended, which the reconciliation with the
 * index ends at the next start (reconcile-with-index.ts), never sessions outliving their membership.
 */
import type { HeadContext } from "../context";
import type { EndReason } from "./membership-standing";

export async function endMembership(ctx: HeadContext, deviceId: string, reason: EndReason): Promise<void> {
  const now = ctx.now();
  const ended = await ctx.sessions.endSessionsOf(deviceId, now, reason);
  const removal = ctx.members.prepareRemove(deviceId);
  await ctx.database.batch(removal.operations, { durable: true });
  await removal.commit();
  // A grant recorded while the writes above were in flight, under the membership just removed, ends
  // too (a later one is refused: grant-session.ts). One under a membership that a new join made
  // meanwhile, with the device's new key version, does not: none of these reasons allows a new
  // join under the old one.
  const removedKeyVersions = new Set(removal.removed.map((m) => m.keyVersion));
  const late = ctx.sessions
    .liveSessionsOf(deviceId, ctx.now())
    .filter((s) =>
      removedKeyVersions.has(
        (s.initiator === deviceId ? s.initiatorKeyVersion : s.responderKeyVersion) ?? -1,
      ),
    );
  ended.push(
    ...(await ctx.sessions.endSessions(
      late.map((s) => s.sessionId),
      ctx.now(),
      reason,
    )),
  );
  const peers = [...new Set(ended.map((s) => (s.initiator === deviceId ? s.responder : s.initiator)))];
  ctx.metrics.members.set(ctx.members.size);
  // An administered broker deletes the device's client, which disconnects it.
  await ctx.brokerAccess.membershipEnded(deviceId, peers);
  ctx.logger.info(
    { deviceId, reason, endedSessions: ended.length, hadMembership: removal.removed.length > 0 },
    "membership ended by the registry",
  );
  ctx.events.emit("revoked", { deviceId, peers, reason });
}
