/**
 * Suite `join`: joins per second and latency through the real HTTP service (the cluster head in
 * its own process, on a real hardhat node), for the classic suite (ECDH) and the hybrid suite
 * (ML-KEM-768 + ECDH) side by side in one run, against the bare head-side work of one join
 * (`acceptJoin`: recover, keygen, ECDH, [ML-KEM encapsulation,] sign, HKDF) on one core; head CPU
 * per join for both. Goal: hybrid joins/s ≥ 0.8 of classic.
 * @module
 */
import { JoinSuite } from "../../protocol/constants";
import { decodeJoinRequest } from "../../protocol/join/codec";
import { acceptJoin, issueChallenge } from "../../protocol/join/head";
import { joinSuiteName } from "../../protocol/join/suites";
import { startTestChain } from "../../testkit/chain";
import type { TestDevice } from "../../testkit/head";
import { enrollDevices, joinOverHttpDeferred } from "../lib/devices";
import { latency, median, nowMs, row, runPool } from "../lib/measure";
import { latencyHistogram } from "../lib/plots";
import { procUsage, startHeadProcess } from "../lib/processes";
import { pureCluster, pureDevice, startJoinFor } from "../lib/pure-session";
import type { Row, Series } from "../lib/schema";
import type { Suite } from "../lib/suite";

const CLASSIC = JoinSuite.SECP256K1_ECDH_HKDF_SHA256;
const HYBRID = JoinSuite.MLKEM768_SECP256K1_HKDF_SHA256;
/** Both suites, classic first: every pair of runs measures them a few seconds apart. */
export const JOIN_SUITES = [CLASSIC, HYBRID] as const;

/** acceptJoin calls per second over `count` pre-built requests offering only `suite` (device-side work excluded). */
export function bareJoinRate(count: number, suite: JoinSuite = CLASSIC): number {
  const c = pureCluster();
  const now = Date.now();
  const inputs = Array.from({ length: count }, () => {
    const d = pureDevice();
    const ch = issueChallenge({ clusterId: c.cluster.clusterId, now });
    const start = startJoinFor(c.cluster, d, ch.message, [suite]);
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

interface SuiteRun {
  bare: number[];
  seqMs: number[];
  loadMs: number[];
  /** joins/s of each throughput run. */
  rates: number[];
  /** head CPU ms per join of each throughput run. */
  cpuMs: number[];
}

export const joinSuite: Suite = {
  name: "join",
  description:
    "joins/s, p50/p99 and head CPU per join through the real HTTP head, classic and hybrid (ML-KEM-768) side by side, vs the bare crypto of one join (goals ≥ 0.8)",
  async run(ctx) {
    const loadJoins = ctx.quick ? 40 : 300;
    const seqJoins = ctx.quick ? 15 : 400;
    const bareCount = ctx.quick ? 30 : 150;
    const rounds = 2; // throughput runs per suite, alternating classic/hybrid and hybrid/classic
    const rows: Row[] = [];
    const runs = new Map<JoinSuite, SuiteRun>(
      JOIN_SUITES.map((s) => [s, { bare: [], seqMs: [], loadMs: [], rates: [], cpuMs: [] }]),
    );
    const chain = await startTestChain();
    try {
      const head = await startHeadProcess(chain);
      try {
        ctx.progress(0.05, "enrolling");
        const perSuite = rounds * loadJoins + seqJoins;
        const { devices } = await enrollDevices(head, JOIN_SUITES.length * perSuite);
        const pool = new Map(JOIN_SUITES.map((s, k) => [s, devices.slice(k * perSuite, (k + 1) * perSuite)]));
        const take = (s: JoinSuite) => (pool.get(s) as TestDevice[]).pop() as TestDevice;
        for (const s of JOIN_SUITES) bareJoinRate(10, s); // warm-up
        for (const s of JOIN_SUITES) runs.get(s)?.bare.push(bareJoinRate(bareCount, s));

        for (const [k, s] of JOIN_SUITES.entries()) {
          ctx.progress(0.2 + 0.15 * k, `${seqJoins} ${joinSuiteName(s)} joins one at a time`);
          const seq = await runPool(
            seqJoins,
            1,
            async () => void (await joinOverHttpDeferred(head, take(s), s)).finish(),
          );
          runs.get(s)?.seqMs.push(...seq.latenciesMs);
        }
        const order = [...JOIN_SUITES, ...[...JOIN_SUITES].reverse()];
        for (const [k, s] of order.entries()) {
          ctx.progress(
            0.5 + (0.4 * k) / order.length,
            `${loadJoins} ${joinSuiteName(s)} joins, ${CONCURRENCY} in flight`,
          );
          const finishers: (() => unknown)[] = [];
          const cpu0 = procUsage(head.pid).cpuS;
          const load = await runPool(loadJoins, CONCURRENCY, async () => {
            finishers.push((await joinOverHttpDeferred(head, take(s), s)).finish);
          });
          const headCpuS = procUsage(head.pid).cpuS - cpu0;
          for (const finish of finishers) finish(); // every response verifies as the device would
          const run = runs.get(s) as SuiteRun;
          run.rates.push((loadJoins * 1000) / load.wallMs);
          run.cpuMs.push((headCpuS * 1000) / loadJoins);
          run.loadMs.push(...load.latenciesMs);
        }
        for (const s of JOIN_SUITES) runs.get(s)?.bare.push(bareJoinRate(bareCount, s));
      } finally {
        await head.stop();
      }
    } finally {
      await chain.stop();
    }

    const classic = summarise(runs.get(CLASSIC) as SuiteRun);
    const hybrid = summarise(runs.get(HYBRID) as SuiteRun);
    for (const [s, r] of [
      [CLASSIC, classic],
      [HYBRID, hybrid],
    ] as const) {
      // Classic keeps the case names of earlier runs; hybrid rows carry the suite name.
      const tag = s === HYBRID ? "/hybrid" : "";
      const name = joinSuiteName(s);
      rows.push(
        row("join", {
          case: `http-join-throughput/${CONCURRENCY}-in-flight${tag}`,
          unit: "joins/s",
          value: r.rate,
          baseline: { case: `bare-acceptJoin${tag} (one core)`, value: r.bare },
          latencyMs: latency(r.loadMs),
          goal: { text: "≥ 0.8 of the bare crypto of one join", on: "ratio", op: ">=", target: 0.8 },
          note: `${name} suite; median of ${rounds} runs; challenge + join request per join; the head in its own process; the devices' signing${s === HYBRID ? " and ML-KEM key generation" : ""} in the bench process, their verification of the response after the clock stops`,
        }),
      );
      rows.push(
        row("join", {
          case: `head-cpu-per-join${tag}`,
          unit: "ms CPU",
          better: "lower",
          value: r.cpuMs,
          baseline: { case: `bare-acceptJoin${tag} time (one core)`, value: 1000 / r.bare },
          note: `${name} suite; head process user+system CPU during the throughput runs / joins: its cost per join regardless of how busy the bench's core was (ratio = overhead factor)`,
        }),
      );
      const seqLatency = latency(r.seqMs);
      rows.push(
        row("join", {
          case: `http-join-latency/1-in-flight${tag}`,
          unit: "ms (p50)",
          better: "lower",
          value: seqLatency.p50,
          baseline: { case: `bare-acceptJoin${tag} time`, value: 1000 / r.bare },
          latencyMs: seqLatency,
          note: `${name} suite; includes the device's own startJoin and finishJoin (2 ECDSA + ECDH${s === HYBRID ? " + ML-KEM keygen and decapsulation" : ""} on the device side)`,
        }),
      );
    }
    rows.push(
      row("join", {
        case: "hybrid-vs-classic/http-joins-per-s",
        unit: "joins/s",
        value: hybrid.rate,
        baseline: { case: `http-join-throughput/${CONCURRENCY}-in-flight (classic)`, value: classic.rate },
        goal: { text: "hybrid joins/s ≥ 0.8 of classic", on: "ratio", op: ">=", target: 0.8 },
        note: "the same head, the same run; classic and hybrid throughput runs alternate (C, H, H, C)",
      }),
    );
    rows.push(
      row("join", {
        case: "hybrid-vs-classic/head-cpu-per-join",
        unit: "ms CPU",
        better: "lower",
        value: hybrid.cpuMs,
        baseline: { case: "head-cpu-per-join (classic)", value: classic.cpuMs },
        note: "what the ML-KEM-768 encapsulation and the larger transcript add to the head's work per join",
      }),
    );
    rows.push(
      row("join", {
        case: "hybrid-vs-classic/bare-acceptJoin",
        unit: "joins/s",
        value: hybrid.bare,
        baseline: { case: "bare-acceptJoin (classic, one core)", value: classic.bare },
        note: "the head's protocol work alone, one core, no HTTP or storage",
      }),
    );

    const series: Series[] = [
      {
        suite: "join",
        name: "join-latency",
        title: "Join latency over HTTP (challenge → verified membership), classic and hybrid",
        kind: "histogram",
        x: { label: "latency (ms)", scale: "log" },
        y: { label: "joins", scale: "linear" },
        points: JOIN_SUITES.flatMap((s) => {
          const r = runs.get(s) as SuiteRun;
          return [
            ...latencyHistogram(r.seqMs, `${joinSuiteName(s)}, 1 in flight`),
            ...latencyHistogram(r.loadMs, `${joinSuiteName(s)}, ${CONCURRENCY} in flight`),
          ];
        }),
      },
      {
        suite: "join",
        name: "join-suites",
        title: "Joins per second: classic (ECDH) vs hybrid (ML-KEM-768 + ECDH)",
        kind: "bar",
        x: { label: "measurement", scale: "band" },
        y: { label: "joins/s", scale: "linear" },
        points: [
          { x: "bare acceptJoin (one core)", y: classic.bare, group: "classic" },
          { x: "bare acceptJoin (one core)", y: hybrid.bare, group: "hybrid" },
          { x: `HTTP, ${CONCURRENCY} in flight`, y: classic.rate, group: "classic" },
          { x: `HTTP, ${CONCURRENCY} in flight`, y: hybrid.rate, group: "hybrid" },
          { x: "1000 / head CPU ms per join", y: 1000 / classic.cpuMs, group: "classic" },
          { x: "1000 / head CPU ms per join", y: 1000 / hybrid.cpuMs, group: "hybrid" },
        ],
      },
    ];
    ctx.progress(1, "done");
    return { rows, series };
  },
};

function summarise(r: SuiteRun): {
  bare: number;
  rate: number;
  cpuMs: number;
  seqMs: number[];
  loadMs: number[];
} {
  return {
    bare: median(r.bare),
    rate: median(r.rates),
    cpuMs: median(r.cpuMs),
    seqMs: r.seqMs,
    loadMs: r.loadMs,
  };
}
