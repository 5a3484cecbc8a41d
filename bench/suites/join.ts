/**
 * Suite `join`: joins per second and latency through the real HTTP service (the cluster head in
 * its own process, on a real hardhat node), against the bare head-side work of one join
 * (`acceptJoin`: recover, keygen, ECDH, sign, HKDF) measured in the same run on one core.
 * @module
 */
import { decodeJoinRequest } from "../../protocol/join/codec";
import { acceptJoin, issueChallenge } from "../../protocol/join/head";
import { startTestChain } from "../../testkit/chain";
import { enrollDevices, joinOverHttp, joinOverHttpDeferred } from "../lib/devices";
import { latency, median, nowMs, row, runPool } from "../lib/measure";
import { latencyHistogram } from "../lib/plots";
import { procUsage, startHeadProcess } from "../lib/processes";
import { pureCluster, pureDevice, startJoinFor } from "../lib/pure-session";
import type { Row, Series } from "../lib/schema";
import type { Suite } from "../lib/suite";

/** acceptJoin calls per second over `count` pre-built requests (device-side work excluded). */
export function bareJoinRate(count: number): number {
  const c = pureCluster();
  const now = Date.now();
  const inputs = Array.from({ length: count }, () => {
    const d = pureDevice();
    const ch = issueChallenge({ clusterId: c.cluster.clusterId, now });
    const start = startJoinFor(c.cluster, d, ch.message);
    return { request: decodeJoinRequest(start.request), record: ch.record, d };
  });
  const t0 = nowMs();
  for (const i of inputs) {
    acceptJoin({
      request: i.request,
      challenge: i.record,
      device: { keyAddress: i.d.identity.address, clusterId: c.cluster.clusterId, active: true },
      cluster: c.cluster,
      headSecretKey: c.head.secretKey,
      now,
    });
  }
  return (count * 1000) / (nowMs() - t0);
}

export const CONCURRENCY = 8;

export const joinSuite: Suite = {
  name: "join",
  description: "joins/s and p50/p99 through the real HTTP head vs the bare crypto of one join (goal ≥ 0.8)",
  async run(ctx) {
    const loadJoins = ctx.quick ? 40 : 400;
    const seqJoins = ctx.quick ? 15 : 1000;
    const bareCount = ctx.quick ? 30 : 200;
    const rows: Row[] = [];
    const chain = await startTestChain();
    try {
      const head = await startHeadProcess(chain);
      try {
        ctx.progress(0.05, "enrolling");
        const { devices } = await enrollDevices(head, loadJoins + seqJoins);
        bareJoinRate(10); // warm-up
        const bare: number[] = [bareJoinRate(bareCount)];
        ctx.progress(0.3, `${seqJoins} joins one at a time`);
        const seq = await runPool(seqJoins, 1, async (i) => void (await joinOverHttp(head, devices[i]!)));
        ctx.progress(0.5, `${loadJoins} joins, ${CONCURRENCY} in flight`);
        const finishers: (() => unknown)[] = [];
        const cpu0 = procUsage(head.pid).cpuS;
        const load = await runPool(loadJoins, CONCURRENCY, async (i) => {
          const pending = await joinOverHttpDeferred(head, devices[seqJoins + i]!);
          finishers.push(pending.finish);
        });
        const headCpuS = procUsage(head.pid).cpuS - cpu0;
        for (const finish of finishers) finish(); // every response verifies as the device would
        bare.push(bareJoinRate(bareCount));
        const bareRate = median(bare);
        const rate = (loadJoins * 1000) / load.wallMs;
        rows.push(
          row("join", {
            case: `http-join-throughput/${CONCURRENCY}-in-flight`,
            unit: "joins/s",
            value: rate,
            baseline: { case: "bare-acceptJoin (one core)", value: bareRate },
            latencyMs: latency(load.latenciesMs),
            goal: { text: "≥ 0.8 of the bare crypto of one join", on: "ratio", op: ">=", target: 0.8 },
            note: "challenge + join request per join; the head in its own process; the devices' signing in the bench process, their verification of the response after the clock stops",
          }),
        );
        rows.push(
          row("join", {
            case: "head-cpu-per-join",
            unit: "ms CPU",
            better: "lower",
            value: (headCpuS * 1000) / loadJoins,
            baseline: { case: "bare-acceptJoin time (one core)", value: 1000 / bareRate },
            note: "head process user+system CPU during the throughput run / joins: its cost per join regardless of how busy the bench's core was (ratio = overhead factor)",
          }),
        );
        const seqLatency = latency(seq.latenciesMs);
        rows.push(
          row("join", {
            case: "http-join-latency/1-in-flight",
            unit: "ms (p50)",
            better: "lower",
            value: seqLatency.p50,
            baseline: { case: "bare-acceptJoin time", value: 1000 / bareRate },
            latencyMs: seqLatency,
            note: "includes the device's own startJoin and finishJoin (≈ 2 ECDSA + ECDH on the device side)",
          }),
        );
        const series: Series[] = [
          {
            suite: "join",
            name: "join-latency",
            title: "Join latency over HTTP (challenge → verified membership)",
            kind: "histogram",
            x: { label: "latency (ms)", scale: "log" },
            y: { label: "joins", scale: "linear" },
            points: [
              ...latencyHistogram(seq.latenciesMs, "1 in flight"),
              ...latencyHistogram(load.latenciesMs, `${CONCURRENCY} in flight`),
            ],
          },
        ];
        ctx.progress(1, "done");
        return { rows, series };
      } finally {
        await head.stop();
      }
    } finally {
      await chain.stop();
    }
  },
};
