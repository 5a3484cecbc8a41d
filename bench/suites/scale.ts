/**
 * Suite `scale`: a cluster head process with many devices enrolled (batched) and many concurrent
 * sessions exchanging traffic through its embedded broker, its RSS and CPU sampled from /proc the
 * whole time. Sessions form a ring (device k initiates with device k + 1), so S sessions need S
 * members and every member has two peers.
 * @module
 */
import { brokerPassword } from "../../protocol/broker-credential";
import { type Channel, createChannel } from "../../protocol/channel/session";
import type { Membership } from "../../protocol/membership";
import { startTestChain } from "../../testkit/chain";
import { MqttTransport } from "../../transport/mqtt/client";
import { decodeEnvelope, encodeEnvelope } from "../../transport/mqtt/envelope";
import { inboxTopic } from "../../transport/mqtt/topics";
import { acceptGrants, enrollDevices, grantRequest, joinOverHttp } from "../lib/devices";
import { latency, nowMs, row, runPool } from "../lib/measure";
import { latencyHistogram } from "../lib/plots";
import { procUsage, startHeadProcess } from "../lib/processes";
import type { Row, Series } from "../lib/schema";
import type { Suite } from "../lib/suite";

/** Full-size figures of the issue. */
export const FULL = { devices: 10_000, sessions: 1_000, trafficS: 30 };
export const QUICK = { devices: 300, sessions: 60, trafficS: 5 };

interface Sample {
  t: number;
  rssMB: number;
  cpuPct: number;
  phase: string;
}

export const scaleSuite: Suite = {
  name: "scale",
  description:
    "10k devices enrolled in batches, 1k concurrent sessions with traffic; head RSS/CPU over time (goal ≤ 150 MB, issue 16)",
  async run(ctx) {
    const size = ctx.quick ? QUICK : FULL;
    if (ctx.quick)
      ctx.note(
        `quick mode: ${size.devices} devices, ${size.sessions} sessions, ${size.trafficS} s of traffic (full: 10,000 / 1,000 / 30 s)`,
      );
    const rows: Row[] = [];
    const chain = await startTestChain();
    try {
      const head = await startHeadProcess(chain);
      const samples: Sample[] = [];
      let phase = "idle";
      const t0 = nowMs();
      let last = { t: t0, cpuS: procUsage(head.pid).cpuS };
      const sample = () => {
        const u = procUsage(head.pid);
        const t = nowMs();
        samples.push({
          t: (t - t0) / 1000,
          rssMB: u.rssMB,
          cpuPct: (100 * (u.cpuS - last.cpuS) * 1000) / Math.max(1, t - last.t),
          phase,
        });
        last = { t, cpuS: u.cpuS };
        return u;
      };
      const sampler = setInterval(sample, 500);
      const clients: MqttTransport[] = [];
      try {
        await new Promise((r) => setTimeout(r, 2000));
        const idle = sample();

        // 1. Enrollment in batches of 200, with the RSS at 1,000 devices and at the end.
        phase = "enroll";
        let rssAt1k: number | undefined;
        const t1 = nowMs();
        const { devices, batchMs } = await enrollDevices(head, size.devices, 200, (done) => {
          if (rssAt1k === undefined && done >= 1000) rssAt1k = sample().rssMB;
          ctx.progress((0.45 * done) / size.devices, `enrolled ${done}/${size.devices}`);
        });
        const enrollS = (nowMs() - t1) / 1000;
        const afterEnroll = sample();
        rows.push(
          row("scale", {
            case: `enroll/${size.devices}-devices-batched-200`,
            unit: "devices/s",
            value: size.devices / enrollS,
            latencyMs: latency(batchMs),
            note: `POST /v1/devices/batch: proofs checked, one enrollBatch transaction mined and indexed per request; latency is per batch of 200; the bench builds the next batch's keys and proofs meanwhile`,
          }),
        );
        if (rssAt1k !== undefined) {
          rows.push(
            row("scale", {
              case: "head-rss/1000-devices",
              unit: "MB",
              better: "lower",
              value: rssAt1k,
              baseline: { case: "head-rss/idle", value: idle.rssMB },
            }),
          );
        }
        rows.push(
          row("scale", {
            case: `head-rss/${size.devices}-devices`,
            unit: "MB",
            better: "lower",
            value: afterEnroll.rssMB,
            baseline: { case: "head-rss/idle", value: idle.rssMB },
          }),
        );

        // 2. Members join, 3. sessions are granted around the ring.
        phase = "join";
        const members = devices.slice(0, size.sessions);
        const ms: Membership[] = new Array(members.length);
        const joins = await runPool(members.length, 8, async (i) => {
          ms[i] = await joinOverHttp(head, members[i]!);
        });
        ctx.progress(0.6, `${members.length} joined`);
        phase = "grant";
        const sendTo: Channel[] = new Array(members.length); // k → k+1 (initiator side of session k)
        const replyFrom: Channel[] = new Array(members.length); // k+1 → k (responder side of session k)
        const grants = await runPool(members.length, 16, async (k) => {
          const m1 = ms[k]!;
          const m2 = ms[(k + 1) % members.length]!;
          const req = grantRequest(m1, m2, head.clusterId);
          const res = await head.http.post("/v1/sessions", req.message);
          const s = acceptGrants(new Uint8Array(res.body), m1, m2, req);
          sendTo[k] = createChannel(s.initiator);
          replyFrom[k] = createChannel(s.responder);
        });
        ctx.progress(0.65, `${members.length} sessions granted`);

        // 4. Every member connects to the head's broker with its derived credential.
        phase = "connect";
        const ids = members.map((d) => d.deviceIdHex);
        const index = new Map(ids.map((id, i) => [id, i]));
        const latencies: number[] = [];
        let delivered = 0;
        let refused = 0;
        let transportErrors = 0;
        await runPool(members.length, 50, async (i) => {
          const c = await MqttTransport.connect(head.brokerUrl, {
            clientId: ids[i]!,
            username: ids[i]!,
            password: brokerPassword(ms[i]!),
            clean: true,
            reconnectPeriodMs: 0,
          });
          c.on("error", () => void transportErrors++); // counted, not thrown (EventEmitter semantics)
          c.on("message", (_topic, payload) => {
            try {
              const env = decodeEnvelope(payload);
              const from = index.get(env.senderId) as number;
              // From the previous member: it initiated session from; from the next: a reply on session i.
              const ch = from === (i + members.length - 1) % members.length ? replyFrom[from] : sendTo[i];
              const { plaintext } = (ch as Channel).receiver.open(env.message, Date.now());
              latencies.push(nowMs() - new DataView(plaintext.buffer, plaintext.byteOffset).getFloat64(0));
              delivered++;
            } catch {
              refused++;
            }
          });
          await c.subscribe([inboxTopic("iotguard", head.clusterId, ids[i]!)]);
          clients[i] = c;
        });
        ctx.progress(0.7, `${members.length} connected`);

        // 5. Traffic: each session sends one 64-byte frame each way per second.
        phase = "traffic";
        const n = members.length;
        let sent = 0;
        let publishErrors = 0;
        const frame = (ch: Channel) => {
          const plain = new Uint8Array(64);
          new DataView(plain.buffer).setFloat64(0, nowMs());
          return ch.sender.seal(plain, Date.now());
        };
        const ticks = size.trafficS;
        const tTraffic = nowMs();
        // Spread over the second in 10 slots of 100 ms, so latency is not a burst's queue.
        const SLOTS = 10;
        for (let s = 0; s < ticks; s++) {
          for (let slot = 0; slot < SLOTS; slot++) {
            const slotStart = nowMs();
            for (let k = slot; k < n; k += SLOTS) {
              const next = (k + 1) % n;
              const a = clients[k]!;
              const b = clients[next]!;
              sent += 2;
              a.publish(
                inboxTopic("iotguard", head.clusterId, ids[next]!),
                encodeEnvelope(members[k]!.deviceId, frame(sendTo[k]!)),
              ).catch(() => void publishErrors++);
              b.publish(
                inboxTopic("iotguard", head.clusterId, ids[k]!),
                encodeEnvelope(members[next]!.deviceId, frame(replyFrom[k]!)),
              ).catch(() => void publishErrors++);
            }
            await new Promise((r) => setTimeout(r, Math.max(0, 1000 / SLOTS - (nowMs() - slotStart))));
          }
          ctx.progress(0.7 + (0.28 * (s + 1)) / ticks, `traffic ${s + 1}/${ticks} s`);
        }
        const deadline = nowMs() + 10_000;
        while (delivered + refused < sent && nowMs() < deadline) await new Promise((r) => setTimeout(r, 50));
        const trafficS = (nowMs() - tTraffic) / 1000;
        const trafficSamples = samples.filter((x) => x.phase === "traffic");
        const peakRss = Math.max(...samples.map((x) => x.rssMB));
        const avgCpu = trafficSamples.reduce((a, x) => a + x.cpuPct, 0) / Math.max(1, trafficSamples.length);
        phase = "done";
        sample();
        if (sent - delivered > 0)
          ctx.note(
            `traffic: ${sent - delivered} of ${sent} frames not delivered (${refused} refused on open, ${publishErrors} publish errors, ${transportErrors} transport errors)`,
          );

        const full = !ctx.quick;
        rows.push(
          row("scale", {
            case: `head-rss-peak/${size.devices}-devices-${size.sessions}-sessions`,
            unit: "MB",
            better: "lower",
            value: peakRss,
            baseline: { case: "head-rss/idle", value: idle.rssMB },
            ...(full
              ? {
                  goal: {
                    text: "≤ 150 MB RSS at 10k devices / 1k sessions",
                    on: "value" as const,
                    op: "<=" as const,
                    target: 150,
                  },
                }
              : {}),
            note: `peak of ${samples.length} samples (every 500 ms) over the whole run; the head built (dist/), as npm run cluster-head runs it`,
          }),
        );
        rows.push(
          row("scale", {
            case: `traffic/${size.sessions}-sessions-delivered`,
            unit: "msg/s",
            value: delivered / trafficS,
            baseline: { case: "traffic/offered", value: sent / trafficS },
            latencyMs: latencies.length ? latency(latencies) : null,
            note: `64 B frames, one per session per direction per second spread over 10 slots, QoS 1 through the head's embedded broker (ACL checks each publish); ${sent} sent, ${delivered} delivered`,
          }),
        );
        rows.push(
          row("scale", {
            case: "head-cpu/traffic",
            unit: "% of one core",
            better: "lower",
            value: avgCpu,
            note: `mean over the traffic phase (${trafficSamples.length} samples)`,
          }),
        );
        rows.push(
          row("scale", {
            case: `join/${size.sessions}-members-8-in-flight`,
            unit: "joins/s",
            value: (members.length * 1000) / joins.wallMs,
            latencyMs: latency(joins.latenciesMs),
          }),
        );
        rows.push(
          row("scale", {
            case: `grant/${size.sessions}-sessions-16-in-flight`,
            unit: "grants/s",
            value: (members.length * 1000) / grants.wallMs,
            latencyMs: latency(grants.latenciesMs),
            note: `with ${size.devices} devices in the index`,
          }),
        );
        const series: Series[] = [
          {
            suite: "scale",
            name: "scale-rss",
            title: `Head RSS over time (${size.devices} devices, ${size.sessions} sessions)`,
            kind: "line",
            x: { label: "time (s)", scale: "linear" },
            y: { label: "RSS (MB)", scale: "linear" },
            points: samples.map((x) => ({ x: x.t, y: x.rssMB, group: x.phase })),
          },
          {
            suite: "scale",
            name: "scale-cpu",
            title: "Head CPU over time (% of one core)",
            kind: "line",
            x: { label: "time (s)", scale: "linear" },
            y: { label: "CPU %", scale: "linear" },
            points: samples.slice(1).map((x) => ({ x: x.t, y: x.cpuPct, group: x.phase })),
          },
          {
            suite: "scale",
            name: "scale-traffic-latency",
            title: `Frame latency through the head's broker, ${size.sessions} sessions`,
            kind: "histogram",
            x: { label: "latency (ms)", scale: "log" },
            y: { label: "frames", scale: "linear" },
            points: latencyHistogram(latencies, "seal → broker (ACL) → open"),
          },
        ];
        return { rows, series };
      } finally {
        clearInterval(sampler);
        await Promise.all(clients.filter(Boolean).map((c) => c.close(true).catch(() => undefined)));
        await head.stop();
      }
    } finally {
      await chain.stop();
    }
  },
};
