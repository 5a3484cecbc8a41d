/**
 * The chain side of the head's Prometheus metrics: rewinds of the index after reorganisations
 * (how many, how deep), and the transactions waiting for confirmations. Registered on the head's own registry, so two heads in one process stay apart.
 */
import { Counter, Gauge, Histogram, type Registry } from "prom-client";
import { formatEther } from "ethers";
import type { HeadContext } from "../context";
import type { PendingTransactionsStore } from "../stores/pending-transactions-store";
import { LOW_BALANCE_ENROLLMENTS, spentWei, type WalletStatus, walletStatus } from "../use-cases/head-wallet";
import type { ChainIndexFollower } from "./index-follower";

/** Counts each rewind of `follower` on `registry`: `iotguard_chain_reorgs_total` and its depth. */
export function exposeReorgMetrics(registry: Registry, follower: ChainIndexFollower): void {
  const reorgs = new Counter({
    name: "iotguard_chain_reorgs_total",
    help: "reorganisations of indexed blocks the head rewound and replayed",
    registers: [registry],
  });
  const depth = new Histogram({
    name: "iotguard_chain_reorg_depth_blocks",
    help: "indexed blocks each rewound reorganisation replaced",
    buckets: [1, 2, 3, 5, 10, 20, 64, 128],
    registers: [registry],
  });
  follower.on("reorg", (reorg) => {
    reorgs.inc();
    depth.observe(reorg.depth);
  });
}

/** `iotguard_pending_transactions{action}`: transactions the head sent that its index does not hold yet. */
export function exposePendingMetrics(registry: Registry, pending: PendingTransactionsStore): void {
  new Gauge({
    name: "iotguard_pending_transactions",
    help: "registry transactions the head sent that wait to be mined or confirmed, by action",
    labelNames: ["action"],
    registers: [registry],
    collect() {
      for (const action of ["enroll", "revoke", "rotate"] as const)
        this.set({ action }, pending.list().filter((tx) => tx.action === action).length);
    },
  });
}

/**
 * The head's wallet on `registry`: `iotguard_head_balance_eth` (read from the chain at each
 * scrape), `iotguard_enrollment_cost_eth` (fee per device of its last enrollment),
 * `iotguard_head_low_balance` (1 below LOW_BALANCE_ENROLLMENTS enrollments) and
 * `iotguard_head_fees_eth_total`.
 */
export function exposeWalletMetrics(registry: Registry, ctx: HeadContext): void {
  // One balance read per scrape: the first gauge reads it, the others (collected after it) share it.
  let read: Promise<WalletStatus> | undefined;
  const current = () => (read ??= walletStatus(ctx));
  new Gauge({
    name: "iotguard_head_balance_eth",
    help: "the head's balance (it pays for enrollments, revocations and rotations)",
    registers: [registry],
    async collect() {
      read = walletStatus(ctx);
      this.set(Number((await read).balance));
    },
  });
  new Gauge({
    name: "iotguard_enrollment_cost_eth",
    help: "fee per device of the head's last enrollment transaction",
    registers: [registry],
    async collect() {
      const cost = (await current()).costPerEnrollment;
      if (cost !== undefined) this.set(Number(cost));
    },
  });
  new Gauge({
    name: "iotguard_head_low_balance",
    help: `1 when the balance pays for fewer than ${LOW_BALANCE_ENROLLMENTS} more enrollments (or is zero)`,
    registers: [registry],
    async collect() {
      this.set((await current()).lowBalance ? 1 : 0);
    },
  });
  new Gauge({
    name: "iotguard_head_fees_eth_total",
    help: "fees the head paid for registry transactions since it started",
    registers: [registry],
    collect() {
      this.set(Number(formatEther(spentWei(ctx))));
    },
  });
}
