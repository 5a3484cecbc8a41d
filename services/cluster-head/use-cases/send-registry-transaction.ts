/**
 * Every registry transaction the head sends goes through here: submitted one at a time, so that
 * its nonces reach the node in order (a node that mines on arrival, like Hardhat's, refuses a
 * nonce from the future instead of queuing it), then awaited to its receipt and to the index, so
 * that the answer is never older than the transaction.
 */
import { chainError } from "../chain/chain-errors";
import type { HeadContext } from "../context";
import { HeadError } from "../errors";

interface SentTransaction {
  wait(): Promise<{ hash: string; blockNumber: number; status: number | null } | null>;
}

export interface RegistryReceipt {
  transactionHash: string;
  blockNumber: number;
}

/** The tail of each head's submission queue. */
const submissions = new WeakMap<HeadContext, Promise<unknown>>();

export async function sendRegistryTransaction(
  ctx: HeadContext,
  submit: () => Promise<SentTransaction>,
): Promise<RegistryReceipt> {
  const previous = submissions.get(ctx) ?? Promise.resolve();
  const sent = previous.catch(() => undefined).then(submit);
  submissions.set(ctx, sent);
  let receipt: Awaited<ReturnType<SentTransaction["wait"]>>;
  try {
    receipt = await (await sent).wait();
  } catch (error) {
    throw chainError(error);
  }
  if (receipt?.status !== 1) throw new HeadError("E_CHAIN_REJECTED", "the registry transaction failed");
  await ctx.follower.waitForIndexed(receipt.blockNumber);
  return { transactionHash: receipt.hash, blockNumber: receipt.blockNumber };
}
