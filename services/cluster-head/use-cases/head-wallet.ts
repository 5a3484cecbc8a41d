/**
 * What the head's own key pays on a network that charges: its balance, the measured cost of an
 * enrollment (fee of the head's last enrollment transaction per device), and a warning when the
 * balance covers fewer than LOW_BALANCE_ENROLLMENTS more (logged once per crossing, shown in
 * /health and /metrics).
 */
import { formatEther } from "ethers";
import { toHex } from "../../../protocol";
import type { HeadContext } from "../context";
import type { PendingAction } from "../stores/pending-transactions-store";

/** Below the cost of this many enrollments the balance is low. */
export const LOW_BALANCE_ENROLLMENTS = 100;

export interface WalletStatus {
  address: string;
  /** In ether, as a decimal string (exact). */
  balance: string;
  /** Fee per enrolled device of the head's last enrollment, in ether; absent before the first. */
  costPerEnrollment?: string;
  /** How many more enrollments at that cost the balance pays for. */
  enrollmentsLeft?: number;
  lowBalance: boolean;
}

interface Costs {
  perEnrollmentWei?: bigint;
  spentWei: bigint;
  warned: boolean;
}

const costsOf = new WeakMap<HeadContext, Costs>();

function costs(ctx: HeadContext): Costs {
  let c = costsOf.get(ctx);
  if (!c) costsOf.set(ctx, (c = { spentWei: 0n, warned: false }));
  return c;
}

/** Notes the fee a mined registry transaction cost the head. */
export function recordFee(ctx: HeadContext, action: PendingAction, devices: number, feeWei: bigint): void {
  const c = costs(ctx);
  c.spentWei += feeWei;
  if (action === "enroll" && devices > 0) c.perEnrollmentWei = feeWei / BigInt(devices);
}

/** Total fees the head paid since start, in wei. */
export function spentWei(ctx: HeadContext): bigint {
  return costs(ctx).spentWei;
}

/** The head's balance (read from the chain now) and what it pays for. */
export async function walletStatus(ctx: HeadContext): Promise<WalletStatus> {
  const address = `0x${toHex(ctx.identity.address)}`;
  const balanceWei = (await ctx.registry.runner?.provider?.getBalance(address)) ?? 0n;
  const c = costs(ctx);
  const per = c.perEnrollmentWei;
  const enrollmentsLeft = per && per > 0n ? Number(balanceWei / per) : undefined;
  const lowBalance =
    balanceWei === 0n || (enrollmentsLeft !== undefined && enrollmentsLeft < LOW_BALANCE_ENROLLMENTS);
  if (lowBalance && !c.warned)
    ctx.logger.warn(
      { address, balance: formatEther(balanceWei), enrollmentsLeft },
      "the head's balance is low: fund its address or enrollments will fail",
    );
  c.warned = lowBalance;
  return {
    address,
    balance: formatEther(balanceWei),
    ...(per === undefined ? {} : { costPerEnrollment: formatEther(per) }),
    ...(enrollmentsLeft === undefined ? {} : { enrollmentsLeft }),
    lowBalance,
  };
}
