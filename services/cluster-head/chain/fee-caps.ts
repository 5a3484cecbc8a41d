/**
 * The EIP-1559 fee fields of the head's transactions under the operator's caps
 * (`--max-fee-gwei`, `--max-priority-fee-gwei`): the node's suggestion, never above a cap. A cap
 * below the base fee leaves the transaction waiting (pending) until the base fee falls.
 */
import { type Provider, parseUnits } from "ethers";

export interface FeeCaps {
  maxFeeGwei?: number | undefined;
  maxPriorityFeeGwei?: number | undefined;
}

export interface FeeOverrides {
  maxFeePerGas?: bigint;
  maxPriorityFeePerGas?: bigint;
}

/** Overrides for the next transaction; none without caps (ethers fills in the node's suggestion). */
export async function cappedFees(provider: Provider, caps: FeeCaps): Promise<FeeOverrides> {
  if (caps.maxFeeGwei === undefined && caps.maxPriorityFeeGwei === undefined) return {};
  const suggested = await provider.getFeeData();
  const min = (a: bigint | null, cap: number | undefined) => {
    if (cap === undefined) return a ?? undefined;
    const limit = parseUnits(cap.toFixed(9), "gwei");
    return a === null || a > limit ? limit : a;
  };
  const maxFeePerGas = min(suggested.maxFeePerGas, caps.maxFeeGwei);
  let maxPriorityFeePerGas = min(suggested.maxPriorityFeePerGas, caps.maxPriorityFeeGwei);
  // The tip is part of the fee: never above it.
  if (maxFeePerGas !== undefined && maxPriorityFeePerGas !== undefined && maxPriorityFeePerGas > maxFeePerGas)
    maxPriorityFeePerGas = maxFeePerGas;
  return {
    ...(maxFeePerGas === undefined ? {} : { maxFeePerGas }),
    ...(maxPriorityFeePerGas === undefined ? {} : { maxPriorityFeePerGas }),
  };
}

/** Fees of a transaction already sent. */
export interface SentFees {
  maxFeePerGas: bigint;
  maxPriorityFeePerGas: bigint;
}

/** Nodes take a replacement (same nonce) only with both fees raised by 10% or more: 12.5% clears it. */
export function raisedByEighth(wei: bigint): bigint {
  return wei + (wei + 7n) / 8n;
}

/**
 * Fees for re-sending a stuck transaction: at least 12.5% above the fees it was sent with, the
 * node's suggestion now if that is higher, never above a cap. Undefined when a cap leaves no room
 * for the raise (the transaction can only wait for the base fee to fall).
 */
export async function replacementFees(
  provider: Provider,
  caps: FeeCaps,
  sent: SentFees,
): Promise<SentFees | undefined> {
  const suggested = await provider.getFeeData();
  const floorFee = raisedByEighth(sent.maxFeePerGas);
  const floorTip = raisedByEighth(sent.maxPriorityFeePerGas);
  const atLeast = (value: bigint | null, floor: bigint) => (value !== null && value > floor ? value : floor);
  const limit = (cap: number | undefined) =>
    cap === undefined ? undefined : parseUnits(cap.toFixed(9), "gwei");
  const feeCap = limit(caps.maxFeeGwei);
  const tipCap = limit(caps.maxPriorityFeeGwei);
  if ((feeCap !== undefined && feeCap < floorFee) || (tipCap !== undefined && tipCap < floorTip))
    return undefined;
  let maxFeePerGas = atLeast(suggested.maxFeePerGas, floorFee);
  if (feeCap !== undefined && maxFeePerGas > feeCap) maxFeePerGas = feeCap;
  let maxPriorityFeePerGas = atLeast(suggested.maxPriorityFeePerGas, floorTip);
  if (tipCap !== undefined && maxPriorityFeePerGas > tipCap) maxPriorityFeePerGas = tipCap;
  // The tip is part of the fee: never above it, and still raised enough.
  if (maxPriorityFeePerGas > maxFeePerGas) maxPriorityFeePerGas = maxFeePerGas;
  if (maxPriorityFeePerGas < floorTip) return undefined;
  return { maxFeePerGas, maxPriorityFeePerGas };
}
