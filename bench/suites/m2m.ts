/**
 * Suite `m2m`: encrypted vs plaintext messages per second through the same broker — a bare aedes
 * (the head's broker library) and a private Mosquitto, each in its own process — at 64 B, 256 B
 * and 4 KiB, QoS 0 and 1, with end-to-end latency. Plaintext and encrypted runs alternate.
 * @module
 */
import { randomBytes } from "node:crypto";
import { AeadSuite } from "../../protocol/constants";
import { latency, median, row } from "../lib/measure";
import { connectClient, runLoad } from "../lib/mqtt-load";
import { latencyHistogram } from "../lib/plots";
import { type BrokerProcess, startAedes, startMosquitto } from "../lib/processes";
import { pureSessionPair } from "../lib/pure-session";
import type { Row, Series } from "../lib/schema";
import type { Suite } from "../lib/suite";

export const M2M_SIZES = [64, 256, 4096] as const;
const WINDOW = 100;

export const m2mSuite: Suite = {
  name: "m2m",
  description:
    "encrypted vs plaintext msg/s and e2e latency through aedes and Mosquitto, 64 B/256 B/4 KiB, QoS 0/1 (goal ≥ 0.9 at 256 B)",
  async run(ctx) {
    const count = ctx.quick ? 300 : 3000;
    const rounds = ctx.quick ? 1 : 2;
    const rows: Row[] = [];
    const throughput: Series["points"] = [];
    const ratios: Series["points"] = [];
    const hist: Series["points"] = [];
    const prefix = `iotguard-bench-${randomBytes(4).toString("hex")}`;
    const total = 2 * 2 * M2M_SIZES.length;
    let step = 0;
    for (const start of [startAedes, startMosquitto]) {
      const broker: BrokerProcess = await start();
      const pub = await connectClient(broker.url);
      const sub = await connectClient(broker.url);
      try {
        for (const qos of [0, 1] as const) {
          for (const size of M2M_SIZES) {
            ctx.progress(step++ / total, `${broker.name} QoS ${qos} ${size} B`);
            const rates = { plain: [] as number[], enc: [] as number[], chacha: [] as number[] };
            const lat = { plain: [] as number[], enc: [] as number[], chacha: [] as number[] };
            let lost = 0;
            let encBytes = 0;
            const body = randomBytes(size);
            for (let r = 0; r < rounds; r++) {
              // ChaCha20-Poly1305 (the other grant suite) only at 256 B, to keep the run short.
              const modes =
                size === 256 ? (["plain", "enc", "chacha"] as const) : (["plain", "enc"] as const);
              for (const mode of modes) {
                const pair =
                  mode === "plain"
                    ? undefined
                    : pureSessionPair(
                        mode === "chacha" ? AeadSuite.CHACHA20_POLY1305 : AeadSuite.AES_256_GCM,
                      );
                const res = await runLoad({
                  pub,
                  sub,
                  topic: `${prefix}/${broker.name}/${qos}/${size}/${mode}/${r}`,
                  qos,
                  count,
                  window: WINDOW,
                  message: () => Uint8Array.from(body),
                  ...(pair
                    ? {
                        channels: {
                          initiator: pair.initiator,
                          responder: pair.responder,
                          senderId: randomBytes(32),
                        },
                      }
                    : {}),
                });
                lost += res.sent - res.received;
                if (mode === "enc") encBytes = res.payloadBytes;
                rates[mode].push(res.rate);
                lat[mode].push(...res.latenciesMs);
              }
            }
            const plain = median(rates.plain);
            const enc = median(rates.enc);
            const name = `${broker.name}/qos${qos}/${size}B`;
            if (lost > 0) ctx.note(`${name}: ${lost} messages lost`);
            rows.push(
              row("m2m", {
                case: `${name}/encrypted`,
                unit: "msg/s",
                value: enc,
                baseline: { case: `${name}/plaintext`, value: plain },
                latencyMs: latency(lat.enc),
                ...(size === 256
                  ? {
                      goal: {
                        text: "encrypted/plaintext ≥ 0.9 at 256 B",
                        on: "ratio" as const,
                        op: ">=" as const,
                        target: 0.9,
                      },
                    }
                  : {}),
                note: `AES-256-GCM; ${encBytes.toFixed(0)} B per publish (frame + 32 B sender envelope) vs ${size} B; ${WINDOW} in flight; publisher and subscriber share the bench process, so seal and open both cost its one core`,
              }),
            );
            if (rates.chacha.length) {
              rows.push(
                row("m2m", {
                  case: `${name}/encrypted-chacha20-poly1305`,
                  unit: "msg/s",
                  value: median(rates.chacha),
                  baseline: { case: `${name}/plaintext`, value: plain },
                  latencyMs: latency(lat.chacha),
                  note: "same run with the session granted for ChaCha20-Poly1305 instead of the default AES-256-GCM",
                }),
              );
            }
            rows.push(
              row("m2m", {
                case: `${name}/plaintext`,
                unit: "msg/s",
                value: plain,
                latencyMs: latency(lat.plain),
              }),
            );
            const g = `${broker.name} QoS ${qos}`;
            throughput.push(
              { x: size, y: enc, group: `${g} encrypted` },
              { x: size, y: plain, group: `${g} plaintext` },
            );
            ratios.push({ x: `${size} B`, y: enc / plain, group: g });
            if (size === 256 && qos === 1) {
              hist.push(
                ...latencyHistogram(lat.enc, `${broker.name} encrypted`),
                ...latencyHistogram(lat.plain, `${broker.name} plaintext`),
              );
            }
          }
        }
      } finally {
        await Promise.all([pub.endAsync(), sub.endAsync()]);
        await broker.stop();
      }
    }
    const series: Series[] = [
      {
        suite: "m2m",
        name: "m2m-throughput",
        title: "M2M messages/s vs payload size (encrypted vs plaintext)",
        kind: "line",
        x: { label: "payload (bytes)", scale: "log" },
        y: { label: "messages/s", scale: "linear" },
        points: throughput,
      },
      {
        suite: "m2m",
        name: "m2m-encrypted-vs-plaintext",
        title: "Encrypted / plaintext throughput (goal ≥ 0.9 at 256 B)",
        kind: "bar",
        x: { label: "payload", scale: "band" },
        y: { label: "ratio", scale: "linear" },
        points: ratios,
      },
      {
        suite: "m2m",
        name: "m2m-latency",
        title: "End-to-end latency, 256 B, QoS 1",
        kind: "histogram",
        x: { label: "latency (ms)", scale: "log" },
        y: { label: "messages", scale: "linear" },
        points: hist,
      },
    ];
    return { rows, series };
  },
};
