/**
 * Suite `grant`: session grants per second, head CPU per grant and latency through the real HTTP
 * head (its own process), against the bare work of one grant (`issueGrant`: MAC checks, key
 * derivation, two AES-GCM seals) measured in the same run on one core; and the head's RSS over
 * 100k grants (issue 16: flat within 5 %) once it holds its steady state: the timed chunks follow a
 * warm-up of one replay window (30 s) of grants, after which expired replay keys are deleted as fast
 * as new ones arrive. The requests are built before the clock starts and sent
 * by a load generator in its own process (../lib/http-loadgen.ts), so neither building them nor
 * sending them competes with the head for its core.
 * @module
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { Defaults } from "../../protocol/constants";
import { decodeGrantRequest } from "../../protocol/grant/codec";
import { issueGrant } from "../../protocol/grant/head";
import { SessionAnswerKind, SessionAnswerSize } from "../../protocol/grant/session-answer";
import { createGrantRequest, createSessionRequest } from "../../protocol/grant/member";
import type { Membership } from "../../protocol/membership";
import { startTestChain, type TestChain } from "../../testkit/chain";
import { acceptGrants, enrollDevices, grantRequest, joinOverHttp } from "../lib/devices";
import { summariseProfile, profileMarkdown } from "../lib/cpu-profile";
import { type LoadResult, runHttpLoad } from "../lib/http-loadgen";
import { latency, median, nowMs, row, runPool } from "../lib/measure";
import { latencyHistogram } from "../lib/plots";
import { procUsage, startHeadProcess, startHttpFloor } from "../lib/processes";
import { pureCluster, pureDevice } from "../lib/pure-session";
import type { Row, Series } from "../lib/schema";
import type { Suite } from "../lib/suite";

/** issueGrant calls per second over `count` pre-built GrantRequests (members' work excluded). */
export function bareGrantRate(count: number): number {
  const c = pureCluster();
  const a = c.join(pureDevice());
  const b = c.join(pureDevice());
  const now = Date.now();
  const requests = Array.from({ length: count }, () => {
    const sr = createSessionRequest({ membership: a.device, clusterId: 1, peerId: b.device.deviceId, now });
    const gr = createGrantRequest({
      membership: b.device,
      clusterId: 1,
      peerId: a.device.deviceId,
      sessionRequest: sr.message,
      now,
    });
    return decodeGrantRequest(gr.message);
  });
  const initiator = { membership: a.head, active: true };
  const responder = { membership: b.head, active: true };
  const t0 = nowMs();
  for (const request of requests) {
    const out = issueGrant({ request, clusterId: 1, initiator, responder, replayed: false, now });
    if (out.kind !== "grant") throw new Error("bare grant refused");
  }
  return (count * 1000) / (nowMs() - t0);
}

export const GRANT_CONCURRENCY = 32;

/** The head's answer-kind header and M2's request for direct delivery, as the SDK sends it (docs/api.md). */
const OUTCOME_HEADER = "x-iotguard-outcome";
const GRANT_DELIVERY_HEADER = "x-iotguard-grant-delivery";
const DIRECT_DELIVERY = "direct";

const FLOOR_NOTE = `a bare node:http server in its own process that reads each body and answers ${SessionAnswerSize.GRANT} bytes, nothing else (bench/lib/http-floor-server.ts), ${GRANT_CONCURRENCY} in flight from the same load generator`;

/**
 * The transport floor: the same requests and load generator against a bare node:http server, best
 * of three runs of `count` requests (the floor is a ceiling: noise only lowers it).
 */
async function httpFloor(
  body: Uint8Array,
  count: number,
): Promise<{ rate: number; cpuMsPerRequest: number }> {
  const server = await startHttpFloor(SessionAnswerSize.GRANT);
  try {
    const requests = Array.from({ length: count }, () => body);
    let best = { rate: 0, cpuMsPerRequest: Infinity };
    for (let round = 0; round < 3; round++) {
      let cpuS = 0;
      const run = await runHttpLoad(
        requests,
        { url: server.url, path: "/v1/sessions", concurrency: GRANT_CONCURRENCY },
        {
          before: () => (cpuS = procUsage(server.pid).cpuS),
          after: () => (cpuS = procUsage(server.pid).cpuS - cpuS),
        },
      );
      const rate = (count * 1000) / run.wallMs;
      if (rate > best.rate) best = { rate, cpuMsPerRequest: (cpuS * 1000) / count };
    }
    return best;
  } finally {
    await server.stop();
  }
}

/**
 * Sends pre-built GrantRequests to `head` from the load generator, answers counted by kind, and
 * returns the head's CPU seconds over the run.
 */
async function grantLoad(
  head: { url: string; pid: number },
  requests: readonly Uint8Array[],
  headers: Record<string, string> = {},
): Promise<{ run: LoadResult; cpuS: number; mainThreadCpuS: number }> {
  let cpuS = 0;
  let mainThreadCpuS = 0;
  const run = await runHttpLoad(
    requests,
    {
      url: head.url,
      path: "/v1/sessions",
      concurrency: GRANT_CONCURRENCY,
      countHeader: OUTCOME_HEADER,
      headers,
    },
    {
      before: () => ({ cpuS, mainThreadCpuS } = procUsage(head.pid)),
      after: () => {
        const now = procUsage(head.pid);
        cpuS = now.cpuS - cpuS;
        mainThreadCpuS = now.mainThreadCpuS - mainThreadCpuS;
      },
    },
  );
  return { run, cpuS, mainThreadCpuS };
}

/**
 * How long the warm-up grants for (full runs): one replay window, the longest any replay key is
 * kept (`Defaults.MAX_SKEW_MS` after its request's timestamp), and a little more for housekeeping.
 * Up to then the head's state grows with every grant by design; from then on it is as large as it
 * gets at this rate, and growth would be a leak.
 */
const WARM_UP_MS = Defaults.MAX_SKEW_MS + 5_000;
/** RSS samples (one per chunk) whose median stands for the head's RSS at a point of the run. */
const RSS_SAMPLES = 3;

/** The values of one labelled `iotguard_*` gauge on the head's /metrics, by label value. */
async function headGauge(
  head: { http: { send(method: string, path: string): Promise<{ body: Buffer }> } },
  metric: string,
  label: string,
  values: readonly string[],
): Promise<Record<string, number>> {
  const text = (await head.http.send("GET", "/metrics")).body.toString();
  const out: Record<string, number> = {};
  for (const value of values) {
    const match = text.match(new RegExp(`^${metric}\\{${label}="${value}"\\} (\\d+)`, "m"));
    if (!match) throw new Error(`the head's /metrics has no ${metric}{${label}="${value}"}`);
    out[value] = Number(match[1]);
  }
  return out;
}

/** The grant journal's group-commit counters (`iotguard_grant_journal`). */
async function journalWrites(head: Parameters<typeof headGauge>[0]) {
  const c = await headGauge(head, "iotguard_grant_journal", "counter", ["records", "writes", "snapshots"]);
  return { records: c.records!, writes: c.writes!, snapshots: c.snapshots! };
}

/** What the head holds per grant (`iotguard_grant_state`), for the RSS rows' notes. */
async function grantState(head: Parameters<typeof headGauge>[0]): Promise<string> {
  const g = await headGauge(head, "iotguard_grant_state", "kind", [
    "replayKeys",
    "replayKeyBytes",
    "sessions",
  ]);
  return `${g.replayKeys} replay keys in ${(g.replayKeyBytes! / 1048576).toFixed(1)} MB, ${g.sessions} sessions`;
}

/** The head's RSS and what it is made of, after a chunk. */
interface MemorySample {
  grants: number;
  mb: number;
  /** V8's heap (`nodejs_heap_size_total_bytes`), MB. */
  heapMb: number;
  /** Anonymous memory outside V8's heap (/proc smaps_rollup `Anonymous` less the heap): Buffers, the C library's heap, native modules. */
  otherAnonMb: number;
}

async function memorySample(
  head: Parameters<typeof headGauge>[0] & { pid: number },
  grants: number,
): Promise<MemorySample> {
  const text = (await head.http.send("GET", "/metrics")).body.toString();
  const heap = text.match(/^nodejs_heap_size_total_bytes (\d+)/m);
  if (!heap) throw new Error("the head's /metrics has no nodejs_heap_size_total_bytes");
  const anonKb = readFileSync(`/proc/${head.pid}/smaps_rollup`, "utf8").match(/^Anonymous:\s+(\d+)/m);
  if (!anonKb) throw new Error(`/proc/${head.pid}/smaps_rollup has no Anonymous line`);
  const heapMb = Number(heap[1]) / 1048576;
  return { grants, mb: procUsage(head.pid).rssMB, heapMb, otherAnonMb: Number(anonKb[1]) / 1024 - heapMb };
}

/** The `i`th pair of members granted: each member with three different peers in turn. */
function pairAt(ms: readonly Membership[], i: number): [Membership, Membership] {
  return [ms[i % ms.length]!, ms[(i + 1 + (i % 3)) % ms.length]!];
}

/** Chunks of grants the profiled head serves (`--profile`). */
const PROFILE_CHUNKS = 3;

/**
 * With `--profile`: a second head (cluster 2) under `node --cpu-prof` serves `chunks` chunks of
 * grants, so the head measured above is never the profiled one (sampling costs a head about 20 %
 * CPU: see the join suite). Returns the timed windows for the profile's summary.
 */
async function profileGrants(
  chain: TestChain,
  profileDir: string,
  members: number,
  chunk: number,
  chunks: number,
): Promise<{ windows: [number, number][]; grants: number }> {
  const head = await startHeadProcess(chain, ["--cluster-id", "2"], "built", { cpuProfileDir: profileDir });
  try {
    const { devices } = await enrollDevices(head, members);
    const ms: Membership[] = [];
    for (const d of devices) ms.push(await joinOverHttp(head, d));
    const windows: [number, number][] = [];
    for (let k = 0; k < chunks; k++) {
      const reqs = Array.from(
        { length: chunk },
        (_, i) => grantRequest(...pairAt(ms, k * chunk + i), head.clusterId).message,
      );
      windows.push((await grantLoad(head, reqs)).run.windowUs);
    }
    return { windows, grants: chunks * chunk };
  } finally {
    await head.stop();
  }
}

/** Where a --cpu-prof head wrote its profile (one file per process). */
function profileFile(dir: string): string | undefined {
  const name = readdirSync(dir).find((f) => f.endsWith(".cpuprofile"));
  return name ? join(dir, name) : undefined;
}

export const grantSuite: Suite = {
  name: "grant",
  description:
    "session grants/s, head CPU per grant and latency through the real HTTP head (load generator in its own process) vs the bare work of a grant; head RSS over 100k grants (goals ≥ 5,000/s, ≤ 0.2 ms, ≥ 0.8, flat ± 5 %)",
  async run(ctx) {
    const members = ctx.quick ? 10 : 40;
    const chunk = ctx.quick ? 1000 : 10_000;
    const chunks = ctx.quick ? 3 : 10;
    const seqGrants = ctx.quick ? 50 : 1000;
    const bareCount = ctx.quick ? 300 : 3000;
    const rows: Row[] = [];
    const series: Series[] = [];
    const chain = await startTestChain();
    let profiled: { windows: [number, number][]; grants: number } | undefined;
    let loadGrants = 0;
    try {
      const head = await startHeadProcess(chain, [], "built");
      try {
        ctx.progress(0.05, "enrolling and joining members");
        const { devices } = await enrollDevices(head, members);
        const ms: Membership[] = [];
        for (const d of devices) ms.push(await joinOverHttp(head, d));
        const pairOf = (i: number) => pairAt(ms, i);
        bareGrantRate(50);
        const bare: number[] = [bareGrantRate(bareCount)];

        ctx.progress(0.1, `${seqGrants} grants one at a time`);
        const seqReqs = Array.from({ length: seqGrants }, (_, i) =>
          grantRequest(...pairOf(i), head.clusterId),
        );
        let refused = 0;
        const seq = await runPool(seqGrants, 1, async (i) => {
          const res = await head.http.post("/v1/sessions", seqReqs[i]!.message);
          if (res.headers["x-iotguard-outcome"] !== "grant") refused++;
        });
        // Each member checks a few of its grants: the answers are real.
        for (let i = 0; i < 3; i++) {
          const [m1, m2] = pairOf(i);
          const r = grantRequest(m1, m2, head.clusterId);
          acceptGrants(new Uint8Array((await head.http.post("/v1/sessions", r.message)).body), m1, m2, r);
        }

        // Chunks of pre-built requests: each is sent well inside the 30 s skew the head allows.
        const rss: MemorySample[] = [await memorySample(head, 0)];
        // Warm-up (full runs): one replay window of grants, untimed, so that the timed chunks see
        // the head with all the state it holds at this rate (replay keys of the last 30 s, the
        // 10,000 ended sessions kept), deleting expired keys as it adds new ones.
        let warmUpGrants = 0;
        const warmUpStart = nowMs();
        while (!ctx.quick && nowMs() - warmUpStart < WARM_UP_MS) {
          const reqs = Array.from(
            { length: chunk },
            (_, i) => grantRequest(...pairOf(warmUpGrants + i), head.clusterId).message,
          );
          const { run } = await grantLoad(head, reqs);
          refused += chunk - (run.counted.grant ?? 0);
          warmUpGrants += chunk;
          rss.push(await memorySample(head, warmUpGrants));
          ctx.progress(
            0.12,
            `warm-up: ${warmUpGrants} grants in ${((nowMs() - warmUpStart) / 1000).toFixed(0)} s`,
          );
        }
        /** Samples after the warm-up: its last ones, and the timed chunks' from here on. */
        const steadyFrom = rss.length;
        const steady = rss[rss.length - 1] as MemorySample;
        const journalBefore = await journalWrites(head);
        const stateAfterWarmUp = await grantState(head);
        const latencies: number[] = [];
        let wallMs = 0;
        let headCpuS = 0;
        let headMainThreadCpuS = 0;
        for (let k = 0; k < chunks; k++) {
          const reqs = Array.from(
            { length: chunk },
            (_, i) => grantRequest(...pairOf(warmUpGrants + k * chunk + i), head.clusterId).message,
          );
          const { run, cpuS, mainThreadCpuS } = await grantLoad(head, reqs);
          headCpuS += cpuS;
          headMainThreadCpuS += mainThreadCpuS;
          refused += chunk - (run.counted.grant ?? 0);
          wallMs += run.wallMs;
          latencies.push(...run.latenciesMs);
          loadGrants += chunk;
          rss.push(await memorySample(head, warmUpGrants + loadGrants));
          ctx.progress(0.15 + (0.8 * (k + 1)) / chunks, `${loadGrants}/${chunk * chunks} grants`);
        }
        if (refused > 0) ctx.note(`${refused} session requests were not granted (expected 0)`);
        const journalAfter = await journalWrites(head);
        const stateAtEnd = await grantState(head);

        // As deployed: the SDK asks for direct delivery, so the head also delivers M1's Grant on M1's
        // ctl topic (QoS 1; into its embedded broker, in process) before it answers M2.
        ctx.progress(0.95, "grants with direct delivery");
        const directReqs = Array.from(
          { length: chunk },
          (_, i) => grantRequest(...pairOf(i), head.clusterId).message,
        );
        const { run: direct, cpuS: directCpu } = await grantLoad(head, directReqs, {
          [GRANT_DELIVERY_HEADER]: DIRECT_DELIVERY,
        });
        const delivered = direct.counted[SessionAnswerKind.DELIVERED] ?? 0;
        if (delivered !== chunk)
          ctx.note(`${chunk - delivered} of ${chunk} direct-delivery grants were not answered "delivered"`);
        const directRate = (chunk * 1000) / direct.wallMs;
        ctx.progress(0.96, "the bare node:http floor");
        const floor = await httpFloor(grantRequest(...pairOf(0), head.clusterId).message, chunk);
        if (ctx.profileDir) {
          ctx.progress(0.97, "profile chunks on the profiled head");
          profiled = await profileGrants(chain, ctx.profileDir, members, chunk, PROFILE_CHUNKS);
        }
        bare.push(bareGrantRate(bareCount));
        const bareRate = median(bare);
        const rate = (loadGrants * 1000) / wallMs;
        const loadLatency = latency(latencies);
        const common = {
          unit: "grants/s",
          value: rate,
          latencyMs: loadLatency,
          note: `POST /v1/sessions, ${GRANT_CONCURRENCY} in flight over keep-alive HTTP from a load generator in its own process; ${chunks} chunks of ${chunk} requests, each built before its clock started${warmUpGrants > 0 ? `, after a warm-up of ${warmUpGrants} grants (one replay window)` : ""}`,
        };
        rows.push(
          row("grant", {
            ...common,
            case: `http-grant-throughput/${GRANT_CONCURRENCY}-in-flight`,
            goal: { text: "≥ 5,000 grants/s on this 2-core machine", on: "value", op: ">=", target: 5000 },
          }),
        );
        rows.push(
          row("grant", {
            ...common,
            case: `http-grant-throughput/${GRANT_CONCURRENCY}-in-flight/vs-bound`,
            baseline: { case: "bare-issueGrant (one core)", value: bareRate },
            goal: { text: "≥ 0.8 of the bare work of a grant", on: "ratio", op: ">=", target: 0.8 },
          }),
        );
        rows.push(
          row("grant", {
            case: `http-grant-throughput/${GRANT_CONCURRENCY}-in-flight/direct-delivery`,
            unit: "grants/s",
            value: directRate,
            latencyMs: latency(direct.latenciesMs),
            baseline: { case: "relayed (the rows above)", value: rate },
            note: `as the SDK asks for it: the head also delivers M1's Grant on M1's ctl topic (QoS 1; handed to its embedded broker in process) before answering M2; one chunk of ${chunk} requests after the others`,
          }),
          row("grant", {
            case: "head-cpu-per-grant/direct-delivery",
            unit: "ms CPU",
            better: "lower",
            value: (directCpu * 1000) / chunk,
            baseline: { case: "relayed", value: (headCpuS * 1000) / loadGrants },
            note: "the delivery and its embedded broker's work included",
          }),
        );
        rows.push(
          row("grant", {
            ...common,
            case: `http-grant-throughput/${GRANT_CONCURRENCY}-in-flight/vs-http-floor`,
            baseline: { case: "bare node:http answering a constant", value: floor.rate },
          }),
          row("grant", {
            case: `http-floor/${GRANT_CONCURRENCY}-in-flight`,
            unit: "requests/s",
            value: floor.rate,
            note: `${FLOOR_NOTE}; the most any head on node:http can answer here with this load generator`,
          }),
          row("grant", {
            case: "http-floor-cpu-per-request",
            unit: "ms CPU",
            better: "lower",
            value: floor.cpuMsPerRequest,
            note: `${FLOOR_NOTE}: the server's CPU per request, i.e. what the HTTP transport alone costs a head`,
          }),
        );
        rows.push(
          row("grant", {
            case: "head-cpu-per-grant",
            unit: "ms CPU",
            better: "lower",
            value: (headCpuS * 1000) / loadGrants,
            baseline: { case: "bare-issueGrant time (one core)", value: 1000 / bareRate },
            goal: { text: "≤ 0.2 ms of head CPU per grant", on: "value", op: "<=", target: 0.2 },
            note: "head process user+system CPU during the timed chunks / grants (ratio = overhead factor of HTTP, storage, index look-ups, logging)",
          }),
          // Where the process CPU is: the main thread (what --profile shows) and the rest.
          row("grant", {
            case: "head-cpu-per-grant/main-thread",
            unit: "ms CPU",
            better: "lower",
            value: (headMainThreadCpuS * 1000) / loadGrants,
            baseline: { case: "the whole process", value: (headCpuS * 1000) / loadGrants },
            note: "the head's main thread alone (JavaScript, node:http, node:crypto, syscalls it makes): the part a --cpu-prof profile shows",
          }),
          row("grant", {
            case: "head-cpu-per-grant/other-threads",
            unit: "ms CPU",
            better: "lower",
            value: ((headCpuS - headMainThreadCpuS) * 1000) / loadGrants,
            baseline: { case: "the whole process", value: (headCpuS * 1000) / loadGrants },
            note: "the head's other threads: V8's (garbage collection helpers, compilation), libuv's pool (the grant journal's writes and fsyncs) and LevelDB's (compaction of the other stores)",
          }),
        );
        const fsyncs = journalAfter.writes - journalBefore.writes;
        const records = journalAfter.records - journalBefore.records;
        if (fsyncs > 0)
          rows.push(
            row("grant", {
              case: "grants-per-fsync",
              unit: "grants",
              value: records / fsyncs,
              note: `group commit in the timed chunks, from the head's iotguard_grant_journal: ${records} records in ${fsyncs} fsynced writes, ${journalAfter.snapshots - journalBefore.snapshots} snapshots (new segments); each grant is answered after the fsynced write that holds its record`,
            }),
          );
        else ctx.note("no fsynced write in the timed chunks: grants per fsync not reported");
        const first = rss[1] as MemorySample;
        const last = rss[rss.length - 1] as MemorySample;
        const rssNote = `RSS after each chunk: ${rss.map((r) => r.mb.toFixed(0)).join(", ")} MB (before, then every ${chunk} grants${warmUpGrants > 0 ? `; the first ${warmUpGrants} are the warm-up` : ""}); ${members} members, each pair granted again and again`;
        // Medians of RSS_SAMPLES samples, not single ones: one sample moves by several MB with the
        // garbage collector's timing and a journal snapshot being written (single chunks 5–9 MB above
        // their neighbours on 2026-11-28), and one sample taken then decided the row.
        const atEnd = rss.slice(-RSS_SAMPLES);
        const atSteady =
          steady.grants > 0 ? rss.slice(Math.max(1, steadyFrom - RSS_SAMPLES), steadyFrom) : [first];
        const mbOf = (samples: MemorySample[], of: "mb" | "heapMb" | "otherAnonMb" = "mb") =>
          median(samples.map((r) => r[of]));
        const endMb = mbOf(atEnd);
        const steadyMb = mbOf(atSteady);
        const parts = `of it V8's heap ${mbOf(atSteady, "heapMb").toFixed(1)} → ${mbOf(atEnd, "heapMb").toFixed(1)} MB and other anonymous memory ${mbOf(atSteady, "otherAnonMb").toFixed(1)} → ${mbOf(atEnd, "otherAnonMb").toFixed(1)} MB (medians of the same samples)`;
        rows.push(
          row("grant", {
            case: `head-rss-after-${loadGrants}-grants`,
            unit: "MB",
            better: "lower",
            value: endMb,
            baseline: {
              case:
                warmUpGrants > 0
                  ? `head RSS at the end of the warm-up (${warmUpGrants} grants in one replay window; median of its last ${RSS_SAMPLES} samples)`
                  : `head RSS after the first ${chunk} grants`,
              value: steadyMb,
            },
            ...(ctx.quick
              ? {}
              : {
                  goal: {
                    text: "flat (± 5 %) over 100k grants",
                    on: "ratio" as const,
                    op: "<=" as const,
                    target: 1.05,
                  },
                }),
            note: `median of the last ${RSS_SAMPLES} samples over the baseline's, ${parts}; the head held ${stateAfterWarmUp} after the warm-up, ${stateAtEnd} at the end; ${rssNote}`,
          }),
          // The warm-up itself: the state the head holds by design filling up (replay keys of the
          // last 30 s, ended sessions up to the kept number) and V8's heap reaching its working size.
          row("grant", {
            case: `head-rss-after-${loadGrants}-grants/vs-first-${chunk}`,
            unit: "MB",
            better: "lower",
            value: last.mb,
            baseline: { case: `head RSS after the first ${chunk} grants of the run`, value: first.mb },
            note: "growth from the first grants on, warm-up included: the bounded state filling (replay keys of the last 30 s, 10,000 ended sessions) as well as any leak (the goal is the row above)",
          }),
        );
        const seqLatency = latency(seq.latenciesMs);
        rows.push(
          row("grant", {
            case: "http-grant-latency/1-in-flight",
            unit: "ms (p50)",
            better: "lower",
            value: seqLatency.p50,
            baseline: { case: "bare-issueGrant time", value: 1000 / bareRate },
            latencyMs: seqLatency,
          }),
        );
        series.push(
          {
            suite: "grant",
            name: "grant-latency",
            title: "Session grant latency over HTTP",
            kind: "histogram",
            x: { label: "latency (ms)", scale: "log" },
            y: { label: "grants", scale: "linear" },
            points: [
              ...latencyHistogram(seq.latenciesMs, "1 in flight"),
              ...latencyHistogram(latencies, `${GRANT_CONCURRENCY} in flight`),
            ],
          },
          {
            suite: "grant",
            name: "grant-rss",
            title: "Head RSS while granting",
            kind: "line",
            x: { label: "grants issued", scale: "linear" },
            y: { label: "RSS (MB)", scale: "linear" },
            points: rss.map((r) => ({
              x: r.grants,
              y: r.mb,
              group: r.grants <= warmUpGrants && warmUpGrants > 0 ? "head RSS, warm-up" : "head RSS",
            })),
          },
        );
      } finally {
        await head.stop();
      }
    } finally {
      await chain.stop();
    }
    const file = ctx.profileDir ? profileFile(ctx.profileDir) : undefined;
    if (file && profiled) {
      ctx.profile(
        profileMarkdown(
          `Head under grant load (POST /v1/sessions, ${GRANT_CONCURRENCY} in flight; a second head, profiled, after the measured one)`,
          summariseProfile(file, profiled.windows),
          { label: "grant", count: profiled.grants },
        ),
      );
    }
    return { rows, series };
  },
};
