/** The audit row that closes an operator action already on chain. */
import type { HeadContext } from "../context";
import type { AuditEntry } from "../stores/audit-store";

/**
 * Records what an operator's transaction did. The chain already holds the change and the
 * "…-requested" row names the operator, so a failed write here is logged, not returned: the
 * operator must not retry a transaction that went through.
 */
export async function recordOutcome(ctx: HeadContext, entry: Omit<AuditEntry, "at">): Promise<void> {
  try {
    await ctx.audit.record({ at: ctx.now(), ...entry } as AuditEntry, { durable: true });
  } catch (error) {
    ctx.logger.error({ err: error, event: entry.event }, "audit row after a chain transaction not written");
  }
}
