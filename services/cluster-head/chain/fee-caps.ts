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
