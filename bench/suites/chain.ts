/**
 * Suite `chain`: gas per enrollment (single and per device in batches of 10 and 100, enrolled
 * through the head's REST API on a real hardhat node), a device look-up from the head's index vs a
 * direct contract call, and the time from a revoke transaction on chain to the head's first
 * refusal of that device; on an interval-mined chain, enrollment-to-joinable and revocation-to-refusal
 * at 0, 1 and 3 confirmations, and the time to rewind a reorganisation of 1 and 10 blocks
 * (chain-confirmations.ts).
 * @module
 */
import { connectRegistry } from "../../chain/registry-contract";
import { startTestChain } from "../../testkit/chain";
import { startTestHead } from "../../testkit/head";
import { enrollDevices, grantRequest, joinOverHttp } from "../lib/devices";
import { latency, nowMs, row } from "../lib/measure";
import { latencyHistogram } from "../lib/plots";
import { benchHead } from "../lib/processes";
import type { Row, Series } from "../lib/schema";
import type { Suite } from "../lib/suite";
import { measureConfirmations, measureReorgRewind } from "./chain-confirmations";

/** The head's default index poll interval (services/cluster-head/config.ts). */
const PRODUCT_POLL_INTERVAL_MS = 250;

export const chainSuite: Suite = {
  name: "chain",
  description:
    "gas per enrollment (1, batches of 10/100), index vs direct contract look-up, revoke → first refusal, confirmations 0/1/3 on 1 s blocks, reorg rewind",
  async run(ctx) {
    const lookups = ctx.quick ? 200 : 2000;
    const revocations = ctx.quick ? 2 : 6;
    const rows: Row[] = [];
    const series: Series[] = [];
    const chain = await startTestChain();
    try {
      const test = await startTestHead(chain, { pollIntervalMs: String(PRODUCT_POLL_INTERVAL_MS) });
      // In this process (pid: the bench's own), so the index can be read directly.
      const head = benchHead(test, process.pid, () => test.destroy());
      try {
        // Gas, from the receipts of the head's own enrollment transactions.
        ctx.progress(0.05, "gas");
        const gas: Record<number, number> = {};
        const enrolled: string[] = [];
        for (const size of [1, 10, 100]) {
          const before = await chain.provider.getBlockNumber();
          const { devices } = await enrollDevices(head, size, size);
          enrolled.push(...devices.map((d) => d.deviceIdHex));
          const block = await chain.provider.getBlock(before + 1, true);
          const hash = block?.transactions[0];
          const receipt = hash ? await chain.provider.getTransactionReceipt(hash) : null;
          if (!receipt) throw new Error("no enrollment receipt");
          gas[size] = Number(receipt.gasUsed);
        }
        const single = gas[1] as number;
        rows.push(
          row("chain", {
            case: "enroll-gas/single",
            unit: "gas",
            better: "lower",
            value: single,
            goal: { text: "≤ 55,000 gas per enrollment", on: "value", op: "<=", target: 55_000 },
          }),
        );
        for (const size of [10, 100]) {
          rows.push(
            row("chain", {
              case: `enroll-gas/per-device-in-batch-of-${size}`,
              unit: "gas",
              better: "lower",
              value: (gas[size] as number) / size,
              baseline: { case: "enroll-gas/single", value: single },
              ...(size === 100
                ? {
                    goal: {
                      text: "≤ 30,000 gas per device in a batch",
                      on: "value" as const,
                      op: "<=" as const,
                      target: 30_000,
                    },
                  }
                : {}),
              note: `${gas[size]} gas for the transaction`,
            }),
          );
        }

        // Verification: the head's level index vs an eth_call to the contract, alternating.
        ctx.progress(0.3, "index vs contract look-ups");
        const registry = connectRegistry(chain.deployment, chain.provider);
        const fromIndex: number[] = [];
        const fromContract: number[] = [];
        for (let i = 0; i < lookups; i++) {
          const id = enrolled[i % enrolled.length] as string;
          let t0 = nowMs();
          const rec = await test.context.index.getDevice(id);
          fromIndex.push(nowMs() - t0);
          t0 = nowMs();
          const onChain = await registry.getDevice(`0x${id}`);
          fromContract.push(nowMs() - t0);
          if (!rec || Number(onChain.clusterId) !== rec.clusterId)
            throw new Error("index and contract disagree");
        }
        const li = latency(fromIndex);
        const lc = latency(fromContract);
        rows.push(
          row("chain", {
            case: "device-lookup/head-index",
            unit: "ms (p50)",
            better: "lower",
            value: li.p50,
            baseline: { case: "device-lookup/contract-eth_call", value: lc.p50 },
            latencyMs: li,
            note: "RegistryIndexStore.getDevice (level) in the head vs registry.getDevice over JSON-RPC to the hardhat node",
          }),
        );
        rows.push(
          row("chain", {
            case: "device-lookup/contract-eth_call",
            unit: "ms (p50)",
            better: "lower",
            value: lc.p50,
            latencyMs: lc,
          }),
        );
        series.push({
          suite: "chain",
          name: "chain-lookup-latency",
          title: "Device look-up: head index vs direct contract call",
          kind: "histogram",
          x: { label: "latency (ms)", scale: "log" },
          y: { label: "look-ups", scale: "linear" },
          points: [
            ...latencyHistogram(fromIndex, "head index (level)"),
            ...latencyHistogram(fromContract, "contract eth_call"),
          ],
        });

        // Revocation: a revoke transaction sent on chain with the head's key (not through the
        // head's API, which would update its index at once); then M2 keeps asking for a session
        // with the revoked M1 until the head warns instead of granting.
        ctx.progress(0.6, "revocations");
        const { devices } = await enrollDevices(head, revocations + 1);
        const peer = await joinOverHttp(head, devices[revocations]!);
        const fromReceipt: number[] = [];
        const fromSend: number[] = [];
        const attempts: number[] = [];
        for (let r = 0; r < revocations; r++) {
          const victim = devices[r]!;
          const m1 = await joinOverHttp(head, victim);
          const pre = grantRequest(m1, peer, head.clusterId);
          const ok = await head.http.post("/v1/sessions", pre.message);
          if (ok.headers["x-iotguard-outcome"] !== "grant")
            throw new Error("expected a grant before the revocation");
          const tSend = nowMs();
          const tx = await test.context.registry.revoke(`0x${victim.deviceIdHex}`);
          const receipt = await tx.wait();
          const tMined = nowMs();
          if (receipt?.status !== 1) throw new Error("revoke failed");
          let tries = 0;
          for (;;) {
            tries++;
            const res = await head.http.post("/v1/sessions", grantRequest(m1, peer, head.clusterId).message);
            if (res.headers["x-iotguard-outcome"] === "warning") break;
            if (nowMs() - tMined > 30_000) throw new Error("no refusal within 30 s of the revocation");
          }
          const tRefused = nowMs();
          fromReceipt.push(tRefused - tMined);
          fromSend.push(tRefused - tSend);
          attempts.push(tries);
          ctx.progress(0.6 + (0.2 * (r + 1)) / revocations, `revocation ${r + 1}/${revocations}`);
        }
        const worst = Math.max(...fromSend);
        const mining = Math.max(...fromSend.map((s, i) => s - (fromReceipt[i] as number)));
        rows.push(
          row("chain", {
            case: "revoke-to-first-refusal/worst",
            unit: "ms",
            better: "lower",
            value: worst,
            latencyMs: latency(fromSend),
            goal: {
              text: "≤ 1 block + 1 s (automine: the block is the receipt, so ≤ 1,000 ms + mining)",
              on: "value",
              op: "<=",
              target: 1000 + mining,
            },
            note: `from sending the revoke transaction to the first refused grant, over ${revocations} revocations; sending and mining took ≤ ${mining.toFixed(0)} ms (the goal's "1 block"); head polls the chain every ${PRODUCT_POLL_INTERVAL_MS} ms (product default); ${Math.max(...attempts)} grant attempts at most`,
          }),
        );
        rows.push(
          row("chain", {
            case: "revoke-to-first-refusal/after-receipt",
            unit: "ms (p50)",
            better: "lower",
            value: latency(fromReceipt).p50,
            latencyMs: latency(fromReceipt),
          }),
        );
      } finally {
        await head.stop();
      }
    } finally {
      await chain.stop();
    }
    ctx.progress(0.8, "confirmations 0/1/3 on an interval-mined chain");
    rows.push(...(await measureConfirmations(ctx)));
    ctx.progress(0.9, "reorg rewinds");
    rows.push(...(await measureReorgRewind(ctx)));
    return { rows, series };
  },
};
