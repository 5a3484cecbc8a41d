/**
 * Suite `join`: joins per second and latency through the real HTTP service (the cluster head in
 * its own process, on a real hardhat node), for the classic suite (ECDH) and the hybrid suite
 * (ML-KEM-768 + ECDH) side by side in one run, against the bare head-side work of one join
 * (`acceptJoin`: recover, keygen, ECDH, [ML-KEM encapsulation,] sign, HKDF) on one core; head CPU
 * per join for both. Goal: hybrid joins/s ≥ 0.8 of classic.
 *
 * Measurement: the timed windows hold only joins. Every device is enrolled before the first window,
 * and an enrollment is answered only once the head's index holds its block (send-registry-
 * transaction.ts waits for the follower), so no enrollment log is still being decoded when the
 * clock starts. The head measured is never the profiled one: `node --cpu-prof` sampling every
 * 250 µs costs the sampled head about a fifth more CPU per join (an A/B of two heads, 6 alternating
 * rounds of 400 classic joins: 1.99 ms profiled, 1.56 ms not). With `--profile`, a second head
 * (cluster 2, run under the profiler) gets one extra round per suite after the measured ones, and
 * only that head's windows are summarised.
 * @module
 */
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { JoinSuite } from "../../protocol/constants";
import { decodeJoinRequest } from "../../protocol/join/codec";
import { finishJoin, startJoin } from "../../protocol/join/device";
import { acceptJoin, issueChallenge } from "../../protocol/join/head";
import { joinSuiteName } from "../../protocol/join/suites";
import { startTestChain } from "../../testkit/chain";
import type { TestDevice } from "../../testkit/head";
import { profileMarkdown, summariseProfile } from "../lib/cpu-profile";
import { enrollDevices, INSIDE, joinOverHttpDeferred } from "../lib/devices";
import { runHttpLoad } from "../lib/http-loadgen";
import { latency, median, nowMs, row, runPool } from "../lib/measure";
import { latencyHistogram } from "../lib/plots";
import { type BenchHead, procUsage, startHeadProcess } from "../lib/processes";
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
      candidates: [
        { deviceId: i.d.id, keyAddress: i.d.identity.address, clusterId: c.cluster.clusterId, active: true },
      ],
      cluster: c.cluster,
      headSecretKey: c.head.secretKey,
      now,
    });
  }
  return (count * 1000) / (nowMs() - t0);
}

/** Joins in flight in the throughput runs (the load generator's connections). */
export const CONCURRENCY = 32;

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
    const loadJoins = ctx.quick ? 40 : 1000;
    const seqJoins = ctx.quick ? 15 : 400;
    const bareCount = ctx.quick ? 30 : 150;
    const rounds = 2; // throughput runs per suite, alternating classic/hybrid and hybrid/classic
    const rows: Row[] = [];
    const runs = new Map<JoinSuite, SuiteRun>(
      JOIN_SUITES.map((s) => [s, { bare: [], seqMs: [], loadMs: [], rates: [], cpuMs: [] }]),
    );
    // Profile windows and joins per suite: classic and hybrid are summarised apart.
    const windows = new Map<JoinSuite, [number, number][]>(JOIN_SUITES.map((s) => [s, []]));
    const joined = new Map<JoinSuite, number>(JOIN_SUITES.map((s) => [s, 0]));
    const chain = await startTestChain();
    try {
      const head = await startHeadProcess(chain, [], "built");
      const profiled = ctx.profileDir
        ? await startHeadProcess(chain, ["--cluster-id", "2"], "built", { cpuProfileDir: ctx.profileDir })
        : undefined;
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
          const run = runs.get(s) as SuiteRun;
          const r = await loadRound(
            head,
            Array.from({ length: loadJoins }, () => take(s)),
            s,
          );
          run.rates.push(r.rate);
          run.cpuMs.push(r.cpuMs);
          run.loadMs.push(...r.latenciesMs);
        }
        for (const s of JOIN_SUITES) runs.get(s)?.bare.push(bareJoinRate(bareCount, s));
        if (profiled) {
          ctx.progress(0.92, "profile rounds on the profiled head");
          const { devices: more } = await enrollDevices(profiled, JOIN_SUITES.length * loadJoins);
          for (const [k, s] of JOIN_SUITES.entries()) {
            const r = await loadRound(profiled, more.slice(k * loadJoins, (k + 1) * loadJoins), s);
            windows.get(s)?.push(...r.windowsUs);
            joined.set(s, (joined.get(s) ?? 0) + loadJoins);
          }
        }
      } finally {
        await head.stop();
        await profiled?.stop();
      }
    } finally {
      await chain.stop();
    }
    const profile = ctx.profileDir && readdirSync(ctx.profileDir).find((f) => f.endsWith(".cpuprofile"));
    if (ctx.profileDir && profile) {
      for (const s of JOIN_SUITES)
        ctx.profile(
          profileMarkdown(
            `Head under ${joinSuiteName(s)} join load (challenge + JoinRequest, ${CONCURRENCY} in flight)`,
            summariseProfile(join(ctx.profileDir, profile), windows.get(s) ?? []),
            { label: `${joinSuiteName(s)} join`, count: joined.get(s) ?? 0 },
          ),
        );
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
          note: `${name} suite; median of ${rounds} runs of ${loadJoins}; ${loadJoins} challenges then ${loadJoins} JoinRequests (signed${s === HYBRID ? " and ML-KEM keys made" : ""} by the devices between the two timed phases) sent by a load generator in its own process; the devices verify every response after the clock stops`,
        }),
      );
      if (s === CLASSIC) {
        rows.push(
          row("join", {
            case: `http-join-throughput/${CONCURRENCY}-in-flight/rate`,
            unit: "joins/s",
            value: r.rate,
            latencyMs: latency(r.loadMs),
            goal: { text: "≥ 500 joins/s on this 2-core machine", on: "value", op: ">=", target: 500 },
            note: "the classic throughput row above, against the issue-16 goal",
          }),
        );
      }
      rows.push(
        row("join", {
          case: `head-cpu-per-join${tag}`,
          unit: "ms CPU",
          better: "lower",
          value: r.cpuMs,
          baseline: { case: `bare-acceptJoin${tag} time (one core)`, value: 1000 / r.bare },
          ...(s === CLASSIC
            ? {
                goal: {
                  text: "≤ 1.5 ms of head CPU per join",
                  on: "value" as const,
                  op: "<=" as const,
                  target: 1.5,
                },
              }
            : {}),
          note: `${name} suite; head process (never the profiled one) user+system CPU during the timed phases (challenge and JoinRequest) / joins: its cost per join regardless of how busy the generator's core was (ratio = overhead factor)`,
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

/**
 * One throughput round of `suite` joins on `head`, `batch.length` devices, {@link CONCURRENCY} in
 * flight. Timed: the challenges, then the JoinRequests the devices built from them in between;
 * every response is verified as the device would, after the clock.
 */
async function loadRound(head: BenchHead, batch: TestDevice[], suite: JoinSuite) {
  const load = { url: head.url, concurrency: CONCURRENCY, keepBodies: true };
  let cpuS = 0;
  let cpu0 = 0;
  const cpu = {
    before: () => (cpu0 = procUsage(head.pid).cpuS),
    after: () => (cpuS += procUsage(head.pid).cpuS - cpu0),
  };
  const challenges = await runHttpLoad(
    batch.map(() => new Uint8Array(0)),
    { ...load, path: "/v1/join/challenge" },
    cpu,
  );
  const started = batch.map((device, i) => {
    const answer = challenges.answers[i];
    if (challenges.statuses[i] !== 200 || !answer) throw new Error(`challenge: ${challenges.statuses[i]}`);
    return startJoin({
      challengeMessage: answer,
      clusterId: head.clusterId,
      headAddress: head.headAddress,
      deviceId: device.deviceId,
      deviceSecretKey: device.identity.secretKey,
      position: INSIDE,
      suites: [suite],
    });
  });
  const joins = await runHttpLoad(
    started.map((j) => j.request),
    { ...load, path: "/v1/join" },
    cpu,
  );
  joins.answers.forEach((answer, i) => {
    if (joins.statuses[i] !== 200 || !answer) throw new Error(`join: ${joins.statuses[i]}`);
    finishJoin(answer, (started[i] as (typeof started)[number]).state, Date.now());
  });
  return {
    rate: (batch.length * 1000) / (challenges.wallMs + joins.wallMs),
    cpuMs: (cpuS * 1000) / batch.length,
    latenciesMs: joins.latenciesMs.map((ms, i) => ms + (challenges.latenciesMs[i] ?? 0)),
    windowsUs: [challenges.windowUs, joins.windowUs],
  };
}

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
