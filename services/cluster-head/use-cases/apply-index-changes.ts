/**
 * Reacting to the chain: a revocation (or key rotation) seen in the index ends the device's
 * membership and sessions at once, whoever sent the transaction. The follower awaits this before it
 * indexes further blocks, and it is attached before the head catches up at start, so a change made
 * while the head was down is applied before anything is served. After a reorganisation the index
 * says what the new branch holds: memberships and sessions it no longer allows end (an enrollment
 * that vanished, a key rotation undone); a revocation that vanished restores nothing but the index
 * record, so the device joins again.
 */
import type { HeadContext } from "../context";
import type { IndexChange } from "../stores/registry-index-store";
import { endMembership } from "./end-membership";
import { reconcileWithIndex } from "./reconcile-with-index";

export async function applyIndexChanges(ctx: HeadContext, changes: IndexChange[]): Promise<void> {
  for (const change of changes) {
    if (change.kind !== "device-revoked" && change.kind !== "device-key-rotated") continue;
    const { deviceId, clusterId } = change.device;
    if (clusterId !== ctx.config.clusterId) continue;
    await endMembership(ctx, deviceId, change.kind === "device-revoked" ? "revoked" : "key-rotated");
  }
  if (changes.some((change) => change.kind === "device-rewound")) await reconcileWithIndex(ctx);
}
