/**
 * What the head tells about the registry transactions it sent and its index does not hold yet:
 * the block each is in and the confirmations left (REST, the join refusal), and the clean-up after
 * each index round: indexed ones are forgotten, ones a restart or a reorganisation left without a
 * block are looked up again, failed or dropped ones are forgotten with a warning.
 */
import type { HeadContext } from "../context";
import { HeadError } from "../errors";
import type { PendingAction, PendingTransaction } from "../stores/pending-transactions-store";

/** A pending transaction as clients see it. */
export interface PendingView {
  action: PendingAction;
  txHash: string;
  /** The block it was mined in, or null while it waits to be mined. */
  block: number | null;
  /** Blocks still to come before the index holds it (counting the block to mine it in, if any). */
  confirmationsLeft: number;
}

/** Hashes the process is still waiting on itself: the clean-up leaves them to their sender. */
const inFlight = new WeakMap<HeadContext, Set<string>>();

export function inFlightOf(ctx: HeadContext): Set<string> {
  let set = inFlight.get(ctx);
  if (!set) inFlight.set(ctx, (set = new Set()));
  return set;
}

/** `tx` as clients see it, against the chain height the follower saw last. */
export function pendingView(ctx: HeadContext, tx: PendingTransaction): PendingView {
  const { confirmations } = ctx.config;
  // The height the follower saw last may predate the transaction's own block.
  const chainHead = Math.max(ctx.follower.status().chainHead ?? 0, tx.block ?? 0);
  // The index takes block b once the chain is `confirmations` blocks past it.
  const confirmationsLeft =
    tx.block === undefined ? confirmations + 1 : Math.max(0, tx.block + confirmations - chainHead);
  return { action: tx.action, txHash: tx.txHash, block: tx.block ?? null, confirmationsLeft };
}

/** The pending transaction that concerns `deviceId`, as clients see it. */
export function pendingOfDevice(ctx: HeadContext, deviceId: string): PendingView | undefined {
  const tx = ctx.pending.forDevice(deviceId);
  return tx && pendingView(ctx, tx);
}

/**
 * Refuses the join of a device the index does not know yet but whose enrollment this head sent:
 * E_ENROLLMENT_PENDING, saying how far it is, instead of E_NOT_MEMBER.
 */
export function refuseIfEnrollmentPending(ctx: HeadContext, deviceId: string): void {
  const tx = ctx.pending.forDevice(deviceId);
  if (tx?.action !== "enroll") return;
  const view = pendingView(ctx, tx);
  throw new HeadError(
    "E_ENROLLMENT_PENDING",
    view.block === null
      ? `device ${deviceId}: its enrollment (tx ${view.txHash}) is not mined yet; then ${ctx.config.confirmations} confirmation(s)`
      : `device ${deviceId}: its enrollment (tx ${view.txHash}) is in block ${view.block} and needs ${view.confirmationsLeft} more confirmation(s); join again then`,
    { pending: view },
  );
}

/**
 * After an index round that reached `indexedBlock`: forgets what the index now holds and looks up
 * transactions nobody in this process waits for (left by a restart, or moved by a reorganisation).
 */
export async function settlePending(ctx: HeadContext, indexedBlock: number): Promise<void> {
  // One round at a time: rounds come every poll, a slow RPC must not pile them up.
  if (settling.has(ctx)) return;
  settling.add(ctx);
  try {
    await settleRound(ctx, indexedBlock);
  } finally {
    settling.delete(ctx);
  }
}

const settling = new WeakSet<HeadContext>();

async function settleRound(ctx: HeadContext, indexedBlock: number): Promise<void> {
  const waiting = inFlightOf(ctx);
  const indexed: string[] = [];
  const gone: string[] = [];
  for (const tx of ctx.pending.list()) {
    if (waiting.has(tx.txHash)) continue;
    if (tx.block !== undefined && tx.block <= indexedBlock) {
      indexed.push(tx.txHash);
      continue;
    }
    // Still waiting for confirmations: the block may change under a reorganisation, so ask again.
    const receipt = await ctx.registry.runner?.provider?.getTransactionReceipt(tx.txHash);
    if (!receipt) {
      if (tx.block !== undefined) await ctx.pending.setBlock(tx.txHash, undefined);
      if (!(await ctx.registry.runner?.provider?.getTransaction(tx.txHash))) gone.push(tx.txHash);
      continue;
    }
    if (receipt.status !== 1) gone.push(tx.txHash);
    else if (receipt.blockNumber <= indexedBlock) indexed.push(tx.txHash);
    else if (receipt.blockNumber !== tx.block) await ctx.pending.setBlock(tx.txHash, receipt.blockNumber);
  }
  if (gone.length > 0)
    ctx.logger.warn({ transactions: gone }, "registry transactions failed or were dropped by the chain");
  await ctx.pending.remove([...indexed, ...gone]);
}
