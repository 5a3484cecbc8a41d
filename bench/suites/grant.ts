/**
 * Suite `grant`: session grants per second and latency through the real HTTP head, against the
 * bare work of one grant (`issueGrant`: MAC checks, key derivation, two AES-GCM seals) measured in
 * the same run on one core.
 * @module
 */
import { decodeGrantRequest } from "../../protocol/grant/codec";
import { issueGrant } from "../../protocol/grant/head";
import { createGrantRequest, createSessionRequest } from "../../protocol/grant/member";
import type { Membership } from "../../protocol/membership";
import { startTestChain } from "../../testkit/chain";
import { acceptGrants, enrollDevices, grantRequest, joinOverHttp } from "../lib/devices";
import { latency, median, nowMs, row, runPool } from "../lib/measure";
import { latencyHistogram } from "../lib/plots";
import { procUsage, startHeadProcess } from "../lib/processes";
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

export const grantSuite: Suite = {
  name: "grant",
  description:
    "session grants/s and latency through the real HTTP head vs the bare work of a grant (goals ≥ 5,000/s, ≥ 0.8)",
  async run(ctx) {
    const members = ctx.quick ? 10 : 40;
    const loadGrants = ctx.quick ? 400 : 6000;
    const seqGrants = ctx.quick ? 50 : 1000;
    const bareCount = ctx.quick ? 300 : 3000;
    const rows: Row[] = [];
    const chain = await startTestChain();
    try {
      const head = await startHeadProcess(chain);
      try {
        ctx.progress(0.05, "enrolling and joining members");
        const { devices } = await enrollDevices(head, members);
        const ms: Membership[] = [];
        for (const d of devices) ms.push(await joinOverHttp(head, d));
        const pairOf = (i: number): [Membership, Membership] => [
          ms[i % members]!,
          ms[(i + 1 + (i % 3)) % members]!,
        ];
        bareGrantRate(50);
        const bare: number[] = [bareGrantRate(bareCount)];

        ctx.progress(0.2, `${seqGrants} grants one at a time`);
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

        ctx.progress(0.4, `${loadGrants} grants, ${GRANT_CONCURRENCY} in flight`);
        // Built in chunks just before sending, so every timestamp is well inside the allowed skew.
        const chunk = 1000;
        const latencies: number[] = [];
        let wallMs = 0;
        let headCpuS = 0;
        for (let done = 0; done < loadGrants; done += chunk) {
          const n = Math.min(chunk, loadGrants - done);
          const reqs = Array.from(
            { length: n },
            (_, i) => grantRequest(...pairOf(done + i), head.clusterId).message,
          );
          const cpu0 = procUsage(head.pid).cpuS;
          const run = await runPool(n, GRANT_CONCURRENCY, async (i) => {
            const res = await head.http.post("/v1/sessions", reqs[i]);
            if (res.headers["x-iotguard-outcome"] !== "grant") refused++;
          });
          headCpuS += procUsage(head.pid).cpuS - cpu0;
          wallMs += run.wallMs;
          latencies.push(...run.latenciesMs);
          ctx.progress(0.4 + (0.55 * (done + n)) / loadGrants, `${done + n}/${loadGrants} grants`);
        }
        if (refused > 0) ctx.note(`${refused} session requests were not granted (expected 0)`);
        bare.push(bareGrantRate(bareCount));
        const bareRate = median(bare);
        const rate = (loadGrants * 1000) / wallMs;
        const loadLatency = latency(latencies);
        const common = {
          unit: "grants/s",
          value: rate,
          latencyMs: loadLatency,
          note: `POST /v1/sessions with ${GRANT_CONCURRENCY} in flight over keep-alive HTTP; requests built (MACs) between timed chunks of ${chunk}`,
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
            case: "head-cpu-per-grant",
            unit: "ms CPU",
            better: "lower",
            value: (headCpuS * 1000) / loadGrants,
            baseline: { case: "bare-issueGrant time (one core)", value: 1000 / bareRate },
            note: "head process CPU during the timed chunks / grants (ratio = overhead factor of HTTP, level, index look-ups, logging)",
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
        const series: Series[] = [
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
        ];
        return { rows, series };
      } finally {
        await head.stop();
      }
    } finally {
      await chain.stop();
    }
  },
};
