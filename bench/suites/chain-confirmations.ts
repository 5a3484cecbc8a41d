/**
 * Part of suite `chain` (issue 18): on a chain that mines a block every second, as a network does,
 * how long an enrollment takes to become joinable and a revocation to be refused at 0, 1 and 3
 * confirmations (seconds and blocks); and how long the head takes to rewind and replay a
 * reorganisation of 1 and of 10 indexed blocks (made with evm_snapshot / evm_revert).
 * @module
 */
import { startJoin } from "../../protocol/join/device";
import { startTestChain } from "../../testkit/chain";
import { makeTestDevice, startTestHead, type TestDevice, type TestHead } from "../../testkit/head";
import { INSIDE, joinOverHttp } from "../lib/devices";
import { latency, nowMs, row } from "../lib/measure";
import { benchHead, type BenchHead } from "../lib/processes";
import type { Row } from "../lib/schema";
import type { SuiteContext } from "../lib/suite";

const BLOCK_INTERVAL_MS = 1000;
/** The head's default index poll interval (services/cluster-head/config.ts). */
const POLL_INTERVAL_MS = 250;
const CONFIRMATIONS = [0, 1, 3];
/** Join attempts are spaced by this much while waiting (a join is two requests). */
const RETRY_MS = 100;

/** One join attempt: the head's answer status and refusal code. */
async function tryJoin(head: BenchHead, device: TestDevice): Promise<{ status: number; code?: string }> {
  const challenge = await head.http.post("/v1/join/challenge");
  if (challenge.status !== 200) throw new Error(`challenge: ${challenge.status}`);
  const { request } = startJoin({
    challengeMessage: new Uint8Array(challenge.body),
    clusterId: head.clusterId,
    headAddress: head.headAddress,
    deviceId: device.deviceId,
    deviceSecretKey: device.identity.secretKey,
    position: INSIDE,
  });
  const res = await head.http.post("/v1/join", request);
  if (res.status === 200) return { status: 200 };
  const code = (JSON.parse(res.body.toString()) as { error?: { code?: string } }).error?.code;
  return { status: res.status, ...(code ? { code } : {}) };
}

/** Retries `attempt` every RETRY_MS until it says done; fails after 60 s. */
async function until(what: string, attempt: () => Promise<boolean>): Promise<void> {
  const deadline = nowMs() + 60_000;
  while (!(await attempt())) {
    if (nowMs() > deadline) throw new Error(`${what}: not within 60 s`);
    await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
  }
}

interface Timings {
  seconds: number[];
  blocks: number[];
}

/** Enrollment → first admitted join, and revocation → first refused join, `trials` times on `test`. */
async function measureHead(test: TestHead, trials: number): Promise<{ enroll: Timings; revoke: Timings }> {
  const head = benchHead(test, process.pid, async () => undefined);
  const enroll: Timings = { seconds: [], blocks: [] };
  const revoke: Timings = { seconds: [], blocks: [] };
  const height = async () => Number(await test.context.registry.runner!.provider!.getBlockNumber());
  try {
    for (let t = 0; t < trials; t++) {
      const device = makeTestDevice();
      const t0 = nowMs();
      const sent = await head.operator("POST", "/v1/devices?wait=false", device.enrollBody(head.clusterId));
      if (sent.status !== 201 && sent.status !== 202) throw new Error(`enroll: ${sent.status}`);
      const block = (sent.json as { blockNumber: number }).blockNumber;
      await until("enrollment to joinable", async () => (await tryJoin(head, device)).status === 200);
      enroll.seconds.push((nowMs() - t0) / 1000);
      enroll.blocks.push((await height()) - block);

      await joinOverHttp(head, device);
      const r0 = nowMs();
      const revoked = await head.operator("POST", `/v1/devices/${device.deviceIdHex}/revoke?wait=false`);
      if (revoked.status !== 200 && revoked.status !== 202) throw new Error(`revoke: ${revoked.status}`);
      const revokeBlock = (revoked.json as { blockNumber: number }).blockNumber;
      await until("revocation to refusal", async () => (await tryJoin(head, device)).code === "E_REVOKED");
      revoke.seconds.push((nowMs() - r0) / 1000);
      revoke.blocks.push((await height()) - revokeBlock);
    }
  } finally {
    await head.stop();
  }
  return { enroll, revoke };
}

/** Enrollment-to-joinable and revocation-to-refusal at 0, 1 and 3 confirmations, one head each. */
export async function measureConfirmations(ctx: SuiteContext): Promise<Row[]> {
  const trials = ctx.quick ? 2 : 5;
  const chain = await startTestChain({ blockIntervalMs: BLOCK_INTERVAL_MS });
  const rows: Row[] = [];
  try {
    // One head per depth, each its own cluster, measured side by side on the same chain. Started
    // one after the other: each creates its cluster with the same admin key (one nonce sequence).
    const heads: TestHead[] = [];
    try {
      for (const [i, confirmations] of CONFIRMATIONS.entries())
        heads.push(
          await startTestHead(chain, {
            clusterId: String(21 + i),
            confirmations: String(confirmations),
            pollIntervalMs: String(POLL_INTERVAL_MS),
            joinRate: "1000",
            joinBurst: "1000",
          }),
        );
      const results = await Promise.all(heads.map((head) => measureHead(head, trials)));
      CONFIRMATIONS.forEach((confirmations, i) => {
        const { enroll, revoke } = results[i]!;
        for (const [name, timings] of [
          ["enroll-to-joinable", enroll],
          ["revoke-to-refusal", revoke],
        ] as const) {
          const s = latency(timings.seconds.map((x) => x * 1000));
          rows.push(
            row("chain", {
              case: `${name}/confirmations-${confirmations}`,
              unit: "s (p50)",
              better: "lower",
              value: s.p50 / 1000,
              latencyMs: s,
              note: `blocks after the transaction's block: ${timings.blocks.join(", ")} (over ${trials} trials); a block every ${BLOCK_INTERVAL_MS} ms, head polls every ${POLL_INTERVAL_MS} ms; from the operator's request (answered once mined) to the first ${name === "enroll-to-joinable" ? "admitted" : "refused"} join`,
            }),
          );
          rows.push(
            row("chain", {
              case: `${name}/confirmations-${confirmations}/blocks`,
              unit: "blocks (max)",
              better: "lower",
              value: Math.max(...timings.blocks),
              goal: {
                text: `≤ ${confirmations} confirmations + 1 block`,
                on: "value",
                op: "<=",
                target: confirmations + 1,
              },
            }),
          );
        }
      });
    } finally {
      await Promise.all(heads.map((head) => head.destroy()));
    }
  } finally {
    await chain.stop();
  }
  return rows;
}

/** Time for the head to rewind and replay a reorganisation of 1 and 10 indexed blocks. */
export async function measureReorgRewind(ctx: SuiteContext): Promise<Row[]> {
  const trials = ctx.quick ? 2 : 5;
  const chain = await startTestChain();
  const rows: Row[] = [];
  try {
    const test = await startTestHead(chain, { confirmations: "0", pollIntervalMs: String(POLL_INTERVAL_MS) });
    try {
      for (const depth of [1, 10]) {
        const rewind: number[] = [];
        const detected: number[] = [];
        for (let t = 0; t < trials; t++) {
          const snapshot = await chain.snapshot();
          // `depth` indexed blocks, each enrolling a device (automine: one block per transaction).
          for (let b = 0; b < depth; b++) {
            const res = await test.operator(
              "POST",
              "/v1/devices",
              makeTestDevice().enrollBody(test.clusterId),
            );
            if (res.status !== 201) throw new Error(`enroll: ${res.status}`);
          }
          const reorg = new Promise<{ durationMs: number }>((resolve) =>
            test.context.follower.once("reorg", resolve),
          );
          await chain.revert(snapshot);
          const t0 = nowMs();
          await chain.mine(depth + 1);
          const info = await reorg;
          detected.push(nowMs() - t0);
          rewind.push(info.durationMs);
        }
        const l = latency(rewind);
        rows.push(
          row("chain", {
            case: `reorg-rewind/depth-${depth}`,
            unit: "ms (p50)",
            better: "lower",
            value: l.p50,
            latencyMs: l,
            note: `rewind to the common ancestor + replay of the new branch + members and sessions reconciled, over ${trials} reorganisations of ${depth} indexed block(s), each enrolling one device; from the new blocks to the head's reorg event: p50 ${latency(detected).p50.toFixed(0)} ms (poll every ${POLL_INTERVAL_MS} ms)`,
          }),
        );
        ctx.progress(0.95, `reorg depth ${depth}`);
      }
    } finally {
      await test.destroy();
    }
  } finally {
    await chain.stop();
  }
  return rows;
}
