/**
 * Ending a device's standing in the cluster: its membership and every live session it takes part
 * in end in one fsynced batch (a crash leaves both or neither), its member key is destroyed, and
 * the transports are told (the broker disconnects it, its peers get a HeadNotice).
 */
import type { HeadContext } from "../context";
import type { EndReason } from "./membership-standing";

export async function endMembership(ctx: HeadContext, deviceId: string, reason: EndReason): Promise<void> {
  const now = ctx.now();
  const removal = ctx.members.prepareRemove(deviceId);
  const ending = ctx.sessions.prepareEndSessionsOf(deviceId, now, reason);
  await ctx.database.batch([...removal.operations, ...ending.operations], { durable: true });
  ending.commit();
  await removal.commit();
  const peers = [...new Set(ending.ended.map((s) => (s.initiator === deviceId ? s.responder : s.initiator)))];
  ctx.metrics.members.set(ctx.members.size);
  // An administered broker deletes the device's client, which disconnects it.
  await ctx.brokerAccess.membershipEnded(deviceId, peers);
  ctx.logger.info(
    { deviceId, reason, endedSessions: ending.ended.length, hadMembership: removal.removed.length > 0 },
    "membership ended by the registry",
  );
  ctx.events.emit("revoked", { deviceId, peers, reason });
}
