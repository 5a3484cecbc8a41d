/**
 * Every registry transaction the head sends goes through here: submitted one at a time, so that
 * its nonces reach the node in order (a node that mines on arrival, like Hardhat's, refuses a
 * nonce from the future instead of queuing it), recorded as pending from the moment the node has
 * it, then awaited to its receipt and, unless the caller asked not to wait, to the index, so that
 * the answer is never older than the transaction.
 */
import { NonceManager } from "ethers";
import { chainError } from "../chain/chain-errors";
import { cappedFees, type FeeOverrides } from "../chain/fee-caps";
import type { HeadContext } from "../context";
import { HeadError } from "../errors";
import type { PendingAction } from "../stores/pending-transactions-store";
import { recordFee } from "./head-wallet";
import { inFlightOf, pendingView, type PendingView } from "./pending-transactions";

interface SentTransaction {
  hash: string;
  wait(): Promise<{ hash: string; blockNumber: number; status: number | null; fee?: bigint } | null>;
}

export interface RegistryReceipt {
  transactionHash: string;
  blockNumber: number;
  /** Present when the answer comes before the index holds the block (`wait: false`). */
  pending?: PendingView;
}

/** What is sent, for the pending record, and whether to wait for the index. */
export interface RegistryIntent {
  action: PendingAction;
  deviceIds: string[];
  operator: string;
  /**
   * true (default): answer once the index holds the transaction's block, i.e. after the
   * confirmations. false: answer once it is mined, with what is left in `pending`.
   */
  waitForIndex?: boolean;
}

/** Makes the head's signer ask the node for its next nonce ("pending" count) at the next submission. */
function resetNonce(ctx: HeadContext): void {
  const signer = ctx.registry.runner;
  if (signer instanceof NonceManager) signer.reset();
}

/** The tail of each head's submission queue. */
const submissions = new WeakMap<HeadContext, Promise<unknown>>();

/**
 * Devices whose enrollment a call here is sending, from the call to its end: the enrollment use case
 * checks the index and the pending records first, but two requests for one device can both pass
 * those checks before either is sent; the second would be refused by the chain only after costing
 * a gas estimate (or, mined, a fee).
 */
const enrolling = new WeakMap<HeadContext, Set<string>>();

function claimEnrollment(ctx: HeadContext, intent: RegistryIntent): () => void {
  if (intent.action !== "enroll") return () => undefined;
  let claimed = enrolling.get(ctx);
  if (!claimed) enrolling.set(ctx, (claimed = new Set()));
  const taken = intent.deviceIds.find((id) => claimed.has(id));
  if (taken !== undefined)
    throw new HeadError("E_ALREADY_ENROLLED", `device ${taken}: its enrollment is already being sent`);
  for (const id of intent.deviceIds) claimed.add(id);
  return () => intent.deviceIds.forEach((id) => claimed.delete(id));
}

export async function sendRegistryTransaction(
  ctx: HeadContext,
  intent: RegistryIntent,
  submit: (fees: FeeOverrides) => Promise<SentTransaction>,
): Promise<RegistryReceipt> {
  // Synchronous up to here from the call: a second call for the same device sees this claim.
  const release = claimEnrollment(ctx, intent);
  try {
    return await sendInTurn(ctx, intent, submit);
  } finally {
    release();
  }
}

async function sendInTurn(
  ctx: HeadContext,
  intent: RegistryIntent,
  submit: (fees: FeeOverrides) => Promise<SentTransaction>,
): Promise<RegistryReceipt> {
  const previous = submissions.get(ctx) ?? Promise.resolve();
  const provider = ctx.registry.runner?.provider;
  const sent = previous
    .catch(() => undefined)
    .then(async () => {
      try {
        return await submit(provider ? await cappedFees(provider, ctx.config) : {});
      } catch (error) {
        // ethers' NonceManager counts the nonce before the gas estimate, which a revert (say, a
        // device enrolled meanwhile) fails: the next transaction would leave a gap and wait forever.
        // Submissions run one at a time, so asking the node again here races with no one.
        resetNonce(ctx);
        throw error;
      }
    });
  submissions.set(ctx, sent);
  const inFlight = inFlightOf(ctx);
  let txHash: string | undefined;
  try {
    let tx: SentTransaction;
    try {
      tx = await sent;
    } catch (error) {
      throw chainError(error);
    }
    txHash = tx.hash;
    inFlight.add(txHash);
    await ctx.pending.add({
      txHash,
      action: intent.action,
      deviceIds: intent.deviceIds,
      operator: intent.operator,
      sentAt: ctx.now(),
    });
    let receipt: Awaited<ReturnType<SentTransaction["wait"]>>;
    try {
      receipt = await tx.wait();
    } catch (error) {
      await ctx.pending.remove([txHash]);
      throw chainError(error);
    }
    if (receipt?.status !== 1) {
      await ctx.pending.remove([txHash]);
      throw new HeadError("E_CHAIN_REJECTED", "the registry transaction failed");
    }
    if (receipt.fee !== undefined) recordFee(ctx, intent.action, intent.deviceIds.length, receipt.fee);
    await ctx.pending.setBlock(txHash, receipt.blockNumber);
    const mined = { transactionHash: receipt.hash, blockNumber: receipt.blockNumber };
    if (intent.waitForIndex === false) {
      const pending = ctx.pending.list().find((p) => p.txHash === txHash);
      if (pending && (ctx.follower.status().indexedBlock ?? -1) < receipt.blockNumber)
        return { ...mined, pending: pendingView(ctx, pending) };
      return mined;
    }
    await ctx.follower.waitForIndexed(receipt.blockNumber);
    await ctx.pending.remove([txHash]);
    return mined;
  } finally {
    if (txHash) inFlight.delete(txHash);
  }
}
