/**
 * Reacting to the chain: a revocation (or key rotation) seen in the index ends the device's
 * membership and sessions at once, whoever sent the transaction. Transports are told through
 * `ctx.events` (the broker disconnects the device and notifies its peers).
 */
import type { HeadContext } from "../context";
import type { IndexChange } from "../stores/registry-index-store";

export async function applyIndexChanges(ctx: HeadContext, changes: IndexChange[]): Promise<void> {
  for (const change of changes) {
    if (change.kind !== "device-revoked" && change.kind !== "device-key-rotated") continue;
    const { deviceId, clusterId } = change.device;
    if (clusterId !== ctx.config.clusterId) continue;
    const reason = change.kind === "device-revoked" ? "revoked" : "key-rotated";
    const now = ctx.now();
    await ctx.members.remove(deviceId);
    const ended = await ctx.sessions.endSessionsOf(deviceId, now, reason);
    const peers = [...new Set(ended.map((s) => (s.initiator === deviceId ? s.responder : s.initiator)))];
    ctx.metrics.members.set(ctx.members.size);
    ctx.logger.info({ deviceId, reason, endedSessions: ended.length }, "membership ended by the registry");
    ctx.events.emit("revoked", { deviceId, peers, reason });
  }
}
