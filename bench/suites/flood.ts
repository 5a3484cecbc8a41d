/**
 * Suite `flood`: a legitimate device's join latency (p50/p99) while junk arrives at the join
 * routes at 10× the head's measured join capacity from 20 other loopback sources (issue 12), the
 * junk the head absorbs per second, and its RSS before and after. The head runs in its own
 * process with product settings and no rate-limit exemption (`--rate-limit-exempt none`); every
 * client here sends from its own source address (127.0.0.x), so the per-source buckets apply as
 * they would on a network. Junk is the costliest a stranger can send: challenge requests, and
 * JoinRequests on fresh challenges for enrolled devices signed with the wrong key (they reach
 * ECDSA), plus JoinRequests with made-up challenges. Legitimate devices each join from a source of
 * their own and wait out `Retry-After` as the SDK does.
 * @module
 */
import { randomBytes } from "node:crypto";
import { Agent, request } from "node:http";
import { finishJoin, startJoin } from "../../protocol/join/device";
import { generateIdentity } from "../../protocol/identity";
import { JoinSuite } from "../../protocol/constants";
import { encodeJoinChallenge } from "../../protocol/join/codec";
import { startTestChain } from "../../testkit/chain";
import type { TestDevice } from "../../testkit/head";
import { enrollDevices, INSIDE } from "../lib/devices";
import { latency, row, runPool } from "../lib/measure";
import { latencyHistogram } from "../lib/plots";
import { type BenchHead, procUsage, startHeadProcess } from "../lib/processes";
import type { Row, Series } from "../lib/schema";
import type { Suite } from "../lib/suite";

/** Junk arrives at this multiple of the head's measured join capacity (issue 12). */
const FLOOD_FACTOR = 10;
/** Junk sources 127.0.0.2 … 127.0.0.21. */
const JUNK_SOURCES = Array.from({ length: 20 }, (_, i) => `127.0.0.${i + 2}`);
/** At most this many junk requests in flight per source; past it the bench counts a send as dropped. */
const MAX_IN_FLIGHT_PER_SOURCE = 64;
/** The classic suite: the cheapest legitimate join, so the flood's effect is not hidden in ML-KEM. */
const SUITES = [JoinSuite.SECP256K1_ECDH_HKDF_SHA256];

interface Answer {
  status: number;
  body: Buffer;
  retryAfterS: number | undefined;
}

/** One keep-alive connection pool per source address. */
class SourceClient {
  readonly #agent: Agent;
  constructor(
    private readonly url: string,
    readonly address: string,
  ) {
    this.#agent = new Agent({ keepAlive: true, maxSockets: MAX_IN_FLIGHT_PER_SOURCE, localAddress: address });
  }

  post(path: string, body?: Uint8Array): Promise<Answer> {
    return new Promise((resolve, reject) => {
      const req = request(
        `${this.url}${path}`,
        {
          method: "POST",
          agent: this.#agent,
          headers: body
            ? { "content-type": "application/octet-stream", "content-length": String(body.length) }
            : { "content-length": "0" },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("end", () => {
            const header = res.headers["retry-after"];
            resolve({
              status: res.statusCode ?? 0,
              body: Buffer.concat(chunks),
              retryAfterS: header === undefined ? undefined : Number(header),
            });
          });
          res.on("error", reject);
        },
      );
      req.on("error", reject);
      req.end(body ? Buffer.from(body) : undefined);
    });
  }

  close(): void {
    this.#agent.destroy();
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * One legitimate join from `client`'s source, waiting out 429/503 + Retry-After (as the SDK does).
 * @returns the latency from the first request to the verified membership, and the retries
 */
async function legitimateJoin(
  head: BenchHead,
  client: SourceClient,
  device: TestDevice,
): Promise<{ ms: number; retries: number }> {
  const t0 = performance.now();
  let retries = 0;
  const post = async (path: string, body?: Uint8Array): Promise<Answer> => {
    for (;;) {
      const answer = await client.post(path, body);
      if (
        (answer.status === 429 || answer.status === 503) &&
        answer.retryAfterS !== undefined &&
        retries < 20
      ) {
        retries++;
        await sleep(answer.retryAfterS * 1000);
        continue;
      }
      if (answer.status !== 200) throw new Error(`${path}: ${answer.status} ${answer.body.toString()}`);
      return answer;
    }
  };
  const challenge = await post("/v1/join/challenge");
  const { request: joinRequest, state } = startJoin({
    challengeMessage: new Uint8Array(challenge.body),
    clusterId: head.clusterId,
    headAddress: head.headAddress,
    deviceId: device.deviceId,
    deviceSecretKey: device.identity.secretKey,
    position: INSIDE,
    suites: SUITES,
  });
  const response = await post("/v1/join", joinRequest);
  finishJoin(new Uint8Array(response.body), state, Date.now());
  return { ms: performance.now() - t0, retries };
}

interface FloodStats {
  sent: number;
  answered: number;
  dropped: number;
  byStatus: Map<number, number>;
  /** Junk JoinRequests on a genuine challenge: the ones that reach ECDSA unless refused first. */
  signedJunk: number;
}

/**
 * Sends junk at `ratePerS` (open loop, spread over {@link JUNK_SOURCES}) until `stop()`.
 * Half the sends are challenge requests; a challenge that is answered is spent on a JoinRequest
 * for a `victim` signed by a stranger's key; the other sends are JoinRequests on made-up challenges.
 */
function startFlood(head: BenchHead, victims: TestDevice[], ratePerS: number) {
  const clients = JUNK_SOURCES.map((address) => new SourceClient(head.url, address));
  const inFlight = new Map<string, number>();
  const challenges = new Map<string, Uint8Array[]>();
  const stranger = generateIdentity();
  // Well formed, on a challenge the head never issued: refused at the challenge check.
  const bogus = startJoin({
    challengeMessage: encodeJoinChallenge({ challenge: new Uint8Array(randomBytes(16)) }),
    clusterId: head.clusterId,
    headAddress: head.headAddress,
    deviceId: (victims[0] as TestDevice).deviceId,
    deviceSecretKey: stranger.secretKey,
    position: INSIDE,
    suites: SUITES,
  }).request;
  const stats: FloodStats = { sent: 0, answered: 0, dropped: 0, byStatus: new Map(), signedJunk: 0 };
  let running = true;
  let k = 0;
  const fire = (client: SourceClient) => {
    const busy = inFlight.get(client.address) ?? 0;
    if (busy >= MAX_IN_FLIGHT_PER_SOURCE) {
      stats.dropped++;
      return;
    }
    inFlight.set(client.address, busy + 1);
    stats.sent++;
    const queue = challenges.get(client.address) ?? [];
    let sending: Promise<Answer>;
    if (queue.length > 0) {
      stats.signedJunk++;
      const victim = victims[k % victims.length] as TestDevice;
      const { request: junk } = startJoin({
        challengeMessage: queue.shift() as Uint8Array,
        clusterId: head.clusterId,
        headAddress: head.headAddress,
        deviceId: victim.deviceId,
        deviceSecretKey: stranger.secretKey,
        position: INSIDE,
        suites: SUITES,
      });
      sending = client.post("/v1/join", junk);
    } else if (k % 2 === 0) {
      sending = client.post("/v1/join/challenge").then((answer) => {
        if (answer.status === 200) challenges.set(client.address, [...queue, new Uint8Array(answer.body)]);
        return answer;
      });
    } else sending = client.post("/v1/join", bogus);
    k++;
    sending
      .then(
        (answer) => {
          stats.answered++;
          stats.byStatus.set(answer.status, (stats.byStatus.get(answer.status) ?? 0) + 1);
        },
        () => stats.byStatus.set(-1, (stats.byStatus.get(-1) ?? 0) + 1),
      )
      .finally(() => inFlight.set(client.address, (inFlight.get(client.address) ?? 1) - 1));
  };
  const t0 = performance.now();
  const loop = (async () => {
    let next = 0;
    while (running) {
      const due = Math.floor(((performance.now() - t0) / 1000) * ratePerS);
      for (; next < due; next++) fire(clients[next % clients.length] as SourceClient);
      await sleep(5);
    }
  })();
  return {
    stats,
    async stop(): Promise<number> {
      running = false;
      await loop;
      const seconds = (performance.now() - t0) / 1000;
      // Let the answers in flight arrive before the connections close.
      for (let waited = 0; [...inFlight.values()].some((n) => n > 0) && waited < 5000; waited += 20)
        await sleep(20);
      for (const client of clients) client.close();
      return seconds;
    },
  };
}

/**
 * Runs legitimate joins one at a time, the i-th starting `i · spacingMs` after the first, each
 * device from a source of its own (127.0.1.x, 127.0.2.x, …).
 */
async function legitimateJoins(
  head: BenchHead,
  devices: TestDevice[],
  firstSource: number,
  spacingMs: number,
) {
  const latencies: number[] = [];
  let retries = 0;
  const t0 = performance.now();
  for (const [i, device] of devices.entries()) {
    const wait = t0 + i * spacingMs - performance.now();
    if (wait > 0) await sleep(wait);
    const n = firstSource + i;
    const client = new SourceClient(head.url, `127.0.${1 + Math.floor(n / 250)}.${1 + (n % 250)}`);
    try {
      const result = await legitimateJoin(head, client, device);
      latencies.push(result.ms);
      retries += result.retries;
    } finally {
      client.close();
    }
  }
  return { latencies, retries };
}

export const floodSuite: Suite = {
  name: "flood",
  description:
    "legitimate join p50/p99 while junk arrives at 10× the head's join capacity from 20 other sources; junk absorbed per second; head RSS before and after",
  async run(ctx) {
    const capacityJoins = ctx.quick ? 60 : 300;
    const legit = ctx.quick ? 15 : 80;
    // The legitimate joins are spread over this long; the flood lasts as long.
    const floodSeconds = ctx.quick ? 5 : 30;
    const spacingMs = (floodSeconds * 1000) / legit;
    const rows: Row[] = [];
    const chain = await startTestChain();
    let calm: { latencies: number[]; retries: number };
    let flooded: { latencies: number[]; retries: number };
    let capacity: number;
    let offered: number;
    let absorbed: number;
    let stats: FloodStats;
    let seconds: number;
    let rssBefore: number;
    let rssAfter: number;
    let refusals: string;
    try {
      const head = await startHeadProcess(chain, ["--rate-limit-exempt", "none"]);
      try {
        ctx.progress(0.05, "enrolling");
        const { devices } = await enrollDevices(head, capacityJoins + 2 * legit);
        const victims = devices.slice(0, 20);
        const capacityDevices = devices.slice(0, capacityJoins);
        const calmDevices = devices.slice(capacityJoins, capacityJoins + legit);
        const floodDevices = devices.slice(capacityJoins + legit);

        // Capacity: joins/s with 8 in flight, each device from its own source (no bucket in the way).
        ctx.progress(0.15, `join capacity: ${capacityJoins} joins, 8 in flight`);
        const pool = await runPool(capacityJoins, 8, async (i) => {
          const client = new SourceClient(head.url, `127.0.${100 + Math.floor(i / 250)}.${1 + (i % 250)}`);
          try {
            await legitimateJoin(head, client, capacityDevices[i] as TestDevice);
          } finally {
            client.close();
          }
        });
        capacity = (capacityJoins * 1000) / pool.wallMs;

        ctx.progress(0.35, `${legit} legitimate joins, no flood`);
        calm = await legitimateJoins(head, calmDevices, 0, spacingMs);

        rssBefore = procUsage(head.pid).rssMB;
        offered = FLOOD_FACTOR * capacity;
        ctx.progress(0.55, `${legit} legitimate joins under ${Math.round(offered)} junk requests/s`);
        const flood = startFlood(head, victims, offered);
        await sleep(1000); // the flood is at full rate before the first legitimate join
        try {
          flooded = await legitimateJoins(head, floodDevices, legit, spacingMs);
        } finally {
          seconds = await flood.stop();
        }
        stats = flood.stats;
        absorbed = stats.answered / seconds;
        rssAfter = procUsage(head.pid).rssMB;
        const metrics = (await head.http.send("GET", "/metrics", undefined, {})).body.toString();
        refusals = [...metrics.matchAll(/^iotguard_limit_refusals_total\{limit="(\w+)"\} (\d+)/gm)]
          .map((m) => `${m[1]} ${m[2]}`)
          .join(", ");
      } finally {
        await head.stop();
      }
    } finally {
      await chain.stop();
    }

    const statuses = [...stats.byStatus.entries()]
      .sort(([a], [b]) => a - b)
      .map(([s, n]) => `${s === -1 ? "error" : s}: ${n}`)
      .join(", ");
    const calmLatency = latency(calm.latencies);
    const floodLatency = latency(flooded.latencies);
    rows.push(
      row("flood", {
        case: "head-join-capacity/8-in-flight",
        unit: "joins/s",
        value: capacity,
        note: `${capacityJoins} classic joins, each device from its own source; the flood below offers ${FLOOD_FACTOR}× this`,
      }),
      row("flood", {
        case: "legit-join-latency/under-flood",
        unit: "ms (p99)",
        better: "lower",
        value: floodLatency.p99,
        baseline: { case: "legit-join-latency/no-flood (p99)", value: calmLatency.p99 },
        latencyMs: floodLatency,
        note: `${legit} joins one at a time over ${floodSeconds} s, each from its own source, while junk arrived from ${JUNK_SOURCES.length} others; waits for Retry-After included (${flooded.retries} retries under flood, ${calm.retries} without); the legitimate client shares the bench process (and its event loop) with the flood's senders; no flood: p50 ${calmLatency.p50.toFixed(1)} ms, p99 ${calmLatency.p99.toFixed(1)} ms`,
      }),
      row("flood", {
        case: "junk-absorbed",
        unit: "req/s",
        value: absorbed,
        baseline: { case: `junk offered (${FLOOD_FACTOR}× capacity)`, value: stats.sent / seconds },
        note: `answered junk requests per second over ${seconds.toFixed(1)} s by status: ${statuses}; ${stats.signedJunk} junk joins on genuine challenges; ${stats.dropped} sends not made (bench-side cap of ${MAX_IN_FLIGHT_PER_SOURCE} in flight per source); head limit refusals: ${refusals}`,
      }),
      row("flood", {
        case: "head-rss/after-flood",
        unit: "MB",
        better: "lower",
        value: rssAfter,
        baseline: { case: "head RSS before the flood", value: rssBefore },
      }),
    );
    const series: Series[] = [
      {
        suite: "flood",
        name: "flood-join-latency",
        title: `Legitimate join latency with and without ${FLOOD_FACTOR}× junk from other sources`,
        kind: "histogram",
        x: { label: "latency (ms)", scale: "log" },
        y: { label: "joins", scale: "linear" },
        points: [
          ...latencyHistogram(calm.latencies, "no flood"),
          ...latencyHistogram(flooded.latencies, "under flood"),
        ],
      },
    ];
    ctx.progress(1, "done");
    return { rows, series };
  },
};
