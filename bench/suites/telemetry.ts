/**
 * Suite `telemetry`: the seeded synthetic health data set (scripts/generate-telemetry.ts)
 * replayed through one session over a bare aedes broker, as encrypted frames vs the same
 * records as plaintext JSON: messages per second and bytes.
 * @module
 */
import { randomBytes } from "node:crypto";
import { generateTelemetry } from "../../scripts/generate-telemetry";
import { latency, median, row } from "../lib/measure";
import { connectClient, runLoad } from "../lib/mqtt-load";
import { startAedes } from "../lib/processes";
import { pureSessionPair } from "../lib/pure-session";
import type { Row, Series } from "../lib/schema";
import type { Suite } from "../lib/suite";

export const TELEMETRY_SEED = 20261123;

export const telemetrySuite: Suite = {
  name: "telemetry",
  description:
    "seeded heart rate / SpO2 / temperature data set replayed through a session vs plaintext JSON (msg/s, bytes)",
  async run(ctx) {
    const devices = 10;
    const seconds = ctx.quick ? 30 : 600;
    const rounds = ctx.quick ? 1 : 2;
    // 4 bytes of room for the bench's sequence number, then the record as JSON.
    const records = [...generateTelemetry({ seed: TELEMETRY_SEED, devices, seconds })].map((r) =>
      new TextEncoder().encode(`    ${JSON.stringify(r)}`),
    );
    const jsonBytes = records.reduce((n, r) => n + r.length - 4, 0) / records.length;
    ctx.note(
      `data set: seed ${TELEMETRY_SEED}, ${devices} devices × ${seconds} s = ${records.length} records, mean ${jsonBytes.toFixed(1)} B of JSON`,
    );
    const broker = await startAedes();
    const pub = await connectClient(broker.url);
    const sub = await connectClient(broker.url);
    const prefix = `iotguard-bench-${randomBytes(4).toString("hex")}`;
    const rates = { plain: [] as number[], enc: [] as number[] };
    const lat = { plain: [] as number[], enc: [] as number[] };
    const bytes = { plain: 0, enc: 0 };
    try {
      for (let r = 0; r < rounds; r++) {
        for (const mode of ["plain", "enc"] as const) {
          ctx.progress((r * 2 + (mode === "enc" ? 1 : 0)) / (rounds * 2), `round ${r + 1} ${mode}`);
          const pair = mode === "enc" ? pureSessionPair() : undefined;
          const res = await runLoad({
            pub,
            sub,
            topic: `${prefix}/telemetry/${mode}/${r}`,
            qos: 1,
            count: records.length,
            window: 100,
            message: (i) => (records[i] as Uint8Array).slice(),
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
          if (res.received !== res.sent)
            ctx.note(`${mode} round ${r + 1}: ${res.sent - res.received} records lost`);
          rates[mode].push(res.rate);
          lat[mode].push(...res.latenciesMs);
          bytes[mode] = res.payloadBytes - 4;
        }
      }
    } finally {
      await Promise.all([pub.endAsync(), sub.endAsync()]);
      await broker.stop();
    }
    const plain = median(rates.plain);
    const enc = median(rates.enc);
    const rows: Row[] = [
      row("telemetry", {
        case: "replay/encrypted-session",
        unit: "msg/s",
        value: enc,
        baseline: { case: "replay/plaintext-json", value: plain },
        latencyMs: latency(lat.enc),
        note: `aedes, QoS 1, 100 in flight; ${records.length} records per run, ${rounds} run(s) each, alternating`,
      }),
      row("telemetry", {
        case: "replay/plaintext-json",
        unit: "msg/s",
        value: plain,
        latencyMs: latency(lat.plain),
      }),
      row("telemetry", {
        case: "bytes-per-record/encrypted-session",
        unit: "B",
        better: "lower",
        value: bytes.enc,
        baseline: { case: "bytes-per-record/plaintext-json", value: bytes.plain },
        note: "MQTT payload per record: JSON + 31 B frame overhead + 32 B sender envelope",
      }),
      row("telemetry", {
        case: "device-second-capacity/encrypted-session",
        unit: "devices",
        value: enc,
        baseline: { case: "device-second-capacity/plaintext-json", value: plain },
        note: "devices sending one record per second that one session-replay pipeline keeps up with (= msg/s)",
      }),
    ];
    const series: Series[] = [
      {
        suite: "telemetry",
        name: "telemetry-replay",
        title: "Health telemetry replay: encrypted session vs plaintext JSON",
        kind: "bar",
        x: { label: "measure", scale: "band" },
        y: { label: "value", scale: "linear" },
        points: [
          { x: "messages/s", y: enc, group: "encrypted" },
          { x: "messages/s", y: plain, group: "plaintext JSON" },
          { x: "bytes/record ×10", y: bytes.enc * 10, group: "encrypted" },
          { x: "bytes/record ×10", y: bytes.plain * 10, group: "plaintext JSON" },
        ],
      },
    ];
    return { rows, series };
  },
};
