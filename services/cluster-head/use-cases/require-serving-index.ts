import type { HeadContext } from "../context";
import { HeadError } from "../errors";

/** Refuses to act on an index that is not live (still syncing, or halted on a reset chain). */
export function requireServingIndex(ctx: HeadContext): void {
  if (ctx.follower.serving) return;
  const status = ctx.follower.status();
  if (status.state === "halted") {
    throw new HeadError(
      "E_CHAIN_MISMATCH",
      `the head stopped serving: ${status.haltReason ?? "the chain changed"}`,
    );
  }
  throw new HeadError("E_INDEX_NOT_READY", "the registry index is not ready");
}
