/**
 * Every registry transaction the head sends goes through here: submitted one at a time, so that
 * its nonces reach the node in order (a node that mines on arrival, like Hardhat's, refuses a
 * nonce from the future instead of queuing it), recorded as pending from the moment the node has
 * it, then awaited to its receipt and, unless the caller asked not to wait, to the index, so that
 * the answer is never older than the transaction.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { NonceManager, type Signer } from "ethers";
import { Counter } from "prom-client";
import { chainError } from "../chain/chain-errors";
import { cappedFees, type FeeOverrides, replacementFees } from "../chain/fee-caps";
import type { HeadContext } from "../context";
import { HeadError } from "../errors";
import type { PendingAction } from "../stores/pending-transactions-store";
import { recordFee } from "./head-wallet";
import { inFlightOf, pendingView, type PendingView } from "./pending-transactions";

type MinedReceipt = { hash: string; blockNumber: number; status: number | null; fee?: bigint } | null;

interface SentTransaction {
  hash: string;
  wait(): Promise<MinedReceipt>;
  /** What a replacement repeats (an ethers TransactionResponse has them all). */
  from?: string;
  nonce?: number;
  to?: string | null;
  data?: string;
  value?: bigint;
  gasLimit?: bigint;
  chainId?: bigint;
  maxFeePerGas?: bigint | null;
  maxPriorityFeePerGas?: bigint | null;
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
  // This transaction and its replacements, which the clean-up leaves to this call until it ends.
  const sentHashes: string[] = [];
  try {
    let tx: SentTransaction;
    try {
      tx = await sent;
    } catch (error) {
      throw chainError(error);
    }
    txHash = tx.hash;
    inFlight.add(txHash);
    sentHashes.push(txHash);
    await ctx.pending.add({
      txHash,
      action: intent.action,
      deviceIds: intent.deviceIds,
      operator: intent.operator,
      sentAt: ctx.now(),
    });
    let receipt: MinedReceipt;
    try {
      receipt = await minedOrReplaced(ctx, tx, (hash) => {
        inFlight.add(hash);
        sentHashes.push(hash);
      });
      // Whichever of the sends got mined settles it: the record follows that one.
      txHash = sentHashes.at(-1)!;
      if (receipt && receipt.hash !== txHash) {
        await ctx.pending.rehash(txHash, receipt.hash);
        txHash = receipt.hash;
      }
    } catch (error) {
      await ctx.pending.remove(sentHashes);
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
    for (const hash of sentHashes) inFlight.delete(hash);
  }
}

/** Replacements sent, per head (iotguard_registry_tx_replacements_total). */
const replacementCounters = new WeakMap<HeadContext, Counter>();

function replacementCounter(ctx: HeadContext): Counter {
  let counter = replacementCounters.get(ctx);
  if (!counter) {
    counter = new Counter({
      name: "iotguard_registry_tx_replacements_total",
      help: "registry transactions re-sent with the same nonce and raised fees after --replace-after",
      registers: [ctx.metrics.registry],
    });
    replacementCounters.set(ctx, counter);
  }
  return counter;
}

/** The key that signs, under the NonceManager (which would hand a replacement a new nonce). */
function nonceKeepingSigner(ctx: HeadContext): Signer | undefined {
  const runner = ctx.registry.runner;
  if (runner instanceof NonceManager) return runner.signer;
  return runner && "sendTransaction" in runner ? (runner as Signer) : undefined;
}

/**
 * Waits until `tx` or one of its replacements is mined. Every `--replace-after` seconds unmined,
 * it is sent again with the same nonce and data and fees raised by at least 12.5% (the node takes
 * a replacement at 10%), never above the caps; when a cap leaves no room it says so once and waits.
 */
async function minedOrReplaced(
  ctx: HeadContext,
  tx: SentTransaction,
  onSent: (hash: string) => void,
): Promise<MinedReceipt> {
  const provider = ctx.registry.runner?.provider;
  const signer = nonceKeepingSigner(ctx);
  const { nonce, from, maxFeePerGas, maxPriorityFeePerGas } = tx;
  // Only EIP-1559 transactions whose fields we know can be repeated.
  if (
    !provider ||
    !signer ||
    nonce === undefined ||
    from === undefined ||
    maxFeePerGas == null ||
    maxPriorityFeePerGas == null
  )
    return tx.wait();
  const replaceAfterMs = ctx.config.replaceAfterS * 1000;
  const hashes = [tx.hash];
  let fees = { maxFeePerGas, maxPriorityFeePerGas };
  let lastSentAt = performance.now();
  let capNoted = false;
  const minedOne = async (): Promise<MinedReceipt | undefined> => {
    for (const hash of hashes) {
      const receipt = await provider.getTransactionReceipt(hash);
      // A revert of the first send fails as it always did (ethers' wait gives the reason).
      if (receipt && receipt.status !== 1 && hash === tx.hash) return tx.wait();
      if (receipt)
        return {
          hash: receipt.hash,
          blockNumber: receipt.blockNumber,
          status: receipt.status,
          fee: receipt.fee,
        };
    }
    return undefined;
  };
  for (;;) {
    const mined = await minedOne();
    if (mined) return mined;
    if ((await provider.getTransactionCount(from, "latest")) > nonce) {
      // The nonce is used: by one of ours mined since the look above, or by a transaction not ours.
      const late = await minedOne();
      if (late) return late;
      throw new HeadError(
        "E_CHAIN_REJECTED",
        `the registry transaction's nonce ${nonce} was used by another transaction`,
      );
    }
    if (performance.now() - lastSentAt >= replaceAfterMs) {
      lastSentAt = performance.now();
      const raised = await replacementFees(provider, ctx.config, fees);
      if (!raised) {
        if (!capNoted)
          ctx.logger.warn(
            {
              transaction: hashes.at(-1),
              nonce,
              maxFeeGwei: ctx.config.maxFeeGwei,
              maxPriorityFeeGwei: ctx.config.maxPriorityFeeGwei,
            },
            "registry transaction not mined and not replaced: the fee caps leave no room for a 12.5% raise; it waits for the base fee to fall",
          );
        capNoted = true;
      } else {
        try {
          const replacement = await signer.sendTransaction({
            type: 2,
            nonce,
            to: tx.to ?? null,
            data: tx.data ?? "0x",
            value: tx.value ?? 0n,
            ...(tx.gasLimit === undefined ? {} : { gasLimit: tx.gasLimit }),
            ...(tx.chainId === undefined ? {} : { chainId: tx.chainId }),
            ...raised,
          });
          hashes.push(replacement.hash);
          onSent(replacement.hash);
          await ctx.pending.rehash(hashes.at(-2)!, replacement.hash);
          replacementCounter(ctx).inc();
          ctx.logger.warn(
            { replaced: hashes.at(-2), transaction: replacement.hash, nonce, ...stringFees(raised) },
            "registry transaction not mined in time: sent again with the same nonce and raised fees",
          );
          fees = raised;
        } catch (error) {
          // Mined meanwhile ("nonce too low") or refused: the next round finds out which.
          ctx.logger.warn(
            { transaction: hashes.at(-1), nonce, err: error },
            "registry transaction replacement refused",
          );
        }
      }
    }
    await sleep(Math.min(ctx.config.pollIntervalMs, 1000));
  }
}

function stringFees(fees: { maxFeePerGas: bigint; maxPriorityFeePerGas: bigint }) {
  return {
    maxFeePerGas: fees.maxFeePerGas.toString(),
    maxPriorityFeePerGas: fees.maxPriorityFeePerGas.toString(),
  };
}
