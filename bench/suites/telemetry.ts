/**
 * Suite `telemetry` (issue 14): the real path device → broker → collector → database, with the
 * embedded PGlite and with PostgreSQL, against the same pipeline in plaintext.
 *
 * - Broker: a private Mosquitto (the head is started with `--broker-url` on it), so both variants
 *   cross the same broker.
 * - Encrypted: the collector is the product (`services/collector/main.ts run`, its own process,
 *   enrolled and joined like any device); the device is an SDK {@link Device} in the bench process,
 *   joined through the head process, sending ReadingBatches (telemetry/) in channel frames.
 * - Plaintext: the same ReadingBatches published bare on a topic to a collector process made of
 *   the product's storage pieces (BatchWriter, ReadingStore, migrations) without the SDK — this
 *   file run as `plain-collector` — which acks the same way.
 * - Both device loops are the same: batches of {@link BATCH} readings, at most {@link WINDOW}
 *   unacknowledged, each publish awaited (PUBACK); latency from the send of a batch to the ack that
 *   covers it (the database commit included). Collector CPU and RSS from /proc.
 * - Crypto per reading and bytes on the wire are measured in this process from the same frames.
 * @module
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import { toHex } from "../../protocol";
import { generateVitals } from "../../scripts/generate-vitals";
import { openDatabase } from "../../services/collector/collector";
import { loadConfig } from "../../services/collector/config";
import { BatchWriter } from "../../services/collector/ingest/batch-writer";
import { createMetrics } from "../../services/collector/metrics";
import { ReadingStore } from "../../services/collector/storage/reading-store";
import {
  type Ack,
  decodeAck,
  decodeReadingBatch,
  encodeAck,
  encodeReadingBatch,
  type Reading,
  TelemetrySize,
} from "../../telemetry";
import { Device } from "../../device/sdk";
import { MqttTransport } from "../../transport/mqtt/client";
import { canConnect } from "../../testkit/brokers";
import { startTestChain, type TestChain } from "../../testkit/chain";
import { collectorProcess, type CollectorHead } from "../../testkit/collector";
import { INSIDE } from "../../testkit/head";
import { headProcess } from "../../testkit/head-process";
import { nodeArgs, spawnReady, stopped } from "../../testkit/spawn";
import { latency, median, row } from "../lib/measure";
import { procUsage, startMosquitto } from "../lib/processes";
import { pureSessionPair } from "../lib/pure-session";
import type { Row, Series } from "../lib/schema";
import type { Suite, SuiteContext } from "../lib/suite";

/** Readings per frame, and most readings in flight (as `device publish` defaults). */
const BATCH = 64;
const WINDOW = 4096;
/** The machine's PostgreSQL (trust auth, database `test`); each run uses its own schema and drops it. */
const POSTGRES_URL = process.env.IOTGUARD_BENCH_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test";
const ENVELOPE_BYTES = 32;
const FRAME_OVERHEAD = 31;

type Engine = "pglite" | "postgres";
type Mode = "encrypted" | "plaintext";

interface RunResult {
  readingsPerS: number;
  latenciesMs: number[];
  collectorCpuMsPer1k: number;
  collectorCpuPct: number;
  collectorRssMB: number;
}

/** The replayed readings: one patient of the seeded generator, one row per second. */
function readingsFor(count: number): Reading[] {
  return [...generateVitals({ patients: 1, rows: count, intervalS: 1 })].map(
    ({ timestamp: _t, patient: _p, ...r }) => r,
  );
}

/**
 * Sends `readings` in batches over `send`, at most WINDOW unacknowledged; resolves when all are
 * acknowledged (via the returned `onAck`), or rejects after `timeoutMs` without progress.
 */
function driver(readings: Reading[], streamId: Uint8Array, send: (m: Uint8Array) => Promise<unknown>) {
  let acked = 0;
  let wake: (() => void) | undefined;
  const sentAt: [number, number][] = []; // [end index, time]
  const latencies: number[] = [];
  return {
    onAck(ack: Ack) {
      if (!Buffer.from(ack.streamId).equals(streamId) || ack.nextIndex <= acked) return;
      acked = ack.nextIndex;
      const now = performance.now();
      while (sentAt.length > 0 && (sentAt[0] as [number, number])[0] <= acked) {
        const [end, at] = sentAt.shift() as [number, number];
        for (let i = 0; i < Math.min(BATCH, end); i++) latencies.push(now - at);
      }
      wake?.();
    },
    async run(timeoutMs: number): Promise<{ seconds: number; latencies: number[] }> {
      const t0 = performance.now();
      let next = 0;
      const waitAck = () =>
        new Promise<void>((resolve, reject) => {
          const timer = setTimeout(
            () => reject(new Error(`no ack progress in ${timeoutMs} ms (${acked}/${readings.length})`)),
            timeoutMs,
          );
          wake = () => {
            clearTimeout(timer);
            wake = undefined;
            resolve();
          };
        });
      while (next < readings.length) {
        if (next - acked >= WINDOW) {
          await waitAck();
          continue;
        }
        const count = Math.min(BATCH, readings.length - next);
        const message = encodeReadingBatch({
          streamId,
          firstIndex: next,
          readings: readings.slice(next, next + count),
        });
        sentAt.push([next + count, performance.now()]);
        next += count;
        await send(message);
      }
      while (acked < readings.length) await waitAck();
      return { seconds: (performance.now() - t0) / 1000, latencies };
    },
  };
}

/** Drops a PostgreSQL schema the run created. */
async function dropSchema(schema: string): Promise<void> {
  const { Client } = await import("pg");
  const client = new Client({ connectionString: POSTGRES_URL });
  await client.connect();
  try {
    await client.query(`drop schema if exists ${schema} cascade`);
  } finally {
    await client.end();
  }
}

interface Pipeline {
  chain: TestChain;
  head: CollectorHead & { stop(): Promise<void> };
  brokerUrl: string;
  device: Device;
  deviceDir: string;
  stop(): Promise<void>;
}

async function startPipeline(): Promise<Pipeline> {
  const chain = await startTestChain();
  const mosquitto = await startMosquitto();
  const head = await headProcess(chain, {
    runner: "built",
    settings: "product",
    port: 0,
    flags: ["--cluster-id", "1", "--broker-url", mosquitto.url],
  });
  const collectorHead = {
    url: head.url,
    adminToken: head.adminToken,
    deploymentFile: join(head.dir, "deployment.json"),
    rpcUrl: chain.node.url,
    stop: () => head.destroy(),
  };
  const deviceDir = mkdtempSync(join(tmpdir(), "iotguard-bench-device-"));
  const device = await Device.open(deviceDir, {
    registry: { rpcUrl: chain.node.url, address: chain.deployment.address },
    grantTimeoutMs: 15_000,
  });
  await device.init();
  await device.enroll(head.url, head.adminToken);
  await device.join(head.url, { position: INSIDE });
  await device.connect();
  return {
    chain,
    head: collectorHead,
    brokerUrl: mosquitto.url,
    device,
    deviceDir,
    async stop() {
      await device.close();
      rmSync(deviceDir, { recursive: true, force: true });
      await head.destroy();
      await mosquitto.stop();
      await chain.stop();
    },
  };
}

function dbFlags(engine: Engine, schema: string): string[] {
  return engine === "postgres" ? ["--database-url", POSTGRES_URL, "--database-schema", schema] : [];
}

async function runEncrypted(p: Pipeline, engine: Engine, readings: Reading[]): Promise<RunResult> {
  const schema = `bench_enc_${randomBytes(4).toString("hex")}`;
  const collector = await collectorProcess(p.head, { flags: dbFlags(engine, schema), runner: "built" });
  const streamId = new Uint8Array(randomBytes(TelemetrySize.STREAM_ID));
  const d = driver(readings, streamId, (m) => p.device.send(collector.deviceId, m));
  const onMessage = (m: { from: string; data: Uint8Array }) => {
    if (m.from === collector.deviceId) d.onAck(decodeAck(m.data));
  };
  p.device.on("message", onMessage);
  try {
    await p.device.openSession(collector.deviceId); // the grant is not part of the throughput
    const before = procUsage(collector.pid);
    const r = await d.run(30_000);
    const after = procUsage(collector.pid);
    return result(readings.length, r, before, after);
  } finally {
    p.device.off("message", onMessage);
    await collector.destroy();
    if (engine === "postgres") await dropSchema(schema);
  }
}

async function runPlaintext(p: Pipeline, engine: Engine, readings: Reading[]): Promise<RunResult> {
  const schema = `bench_plain_${randomBytes(4).toString("hex")}`;
  const dataDir = mkdtempSync(join(tmpdir(), "iotguard-bench-plain-"));
  const topic = `bench-plain/${randomBytes(6).toString("hex")}`;
  const { child } = await spawnReady(
    [
      ...nodeArgs("bench/suites/telemetry.ts", "tsx"),
      "plain-collector",
      JSON.stringify({
        brokerUrl: p.brokerUrl,
        topic,
        dataDir,
        ...(engine === "postgres" ? { databaseUrl: POSTGRES_URL, schema } : {}),
      }),
    ],
    { name: "the plaintext collector", ready: /plain collector ready/, stream: "stdout" },
  );
  const client = await MqttTransport.connect(p.brokerUrl, {
    clientId: `bench-plain-dev-${randomBytes(4).toString("hex")}`,
    clean: true,
  });
  const streamId = new Uint8Array(randomBytes(TelemetrySize.STREAM_ID));
  const d = driver(readings, streamId, (m) => client.publish(`${topic}/in`, m));
  client.on("message", (_t, payload) => d.onAck(decodeAck(payload)));
  try {
    await client.subscribe([`${topic}/ack`]);
    const before = procUsage(child.pid as number);
    const r = await d.run(30_000);
    const after = procUsage(child.pid as number);
    return result(readings.length, r, before, after);
  } finally {
    await client.close();
    await stopped(child);
    rmSync(dataDir, { recursive: true, force: true });
    if (engine === "postgres") await dropSchema(schema);
  }
}

function result(
  n: number,
  r: { seconds: number; latencies: number[] },
  before: { cpuS: number },
  after: { cpuS: number; rssMB: number },
): RunResult {
  const cpuS = after.cpuS - before.cpuS;
  return {
    readingsPerS: n / r.seconds,
    latenciesMs: r.latencies,
    collectorCpuMsPer1k: (cpuS * 1000 * 1000) / n,
    collectorCpuPct: (cpuS / r.seconds) * 100,
    collectorRssMB: after.rssMB,
  };
}

/** µs per reading to seal and to open one batch frame of `batch` readings (node:crypto backend as configured). */
function cryptoPerReading(readings: Reading[], batch: number): { sealUs: number; openUs: number } {
  const pair = pureSessionPair();
  const sender = pair.initiator.sender;
  const receiver = pair.responder.receiver;
  const message = encodeReadingBatch({
    streamId: new Uint8Array(8),
    firstIndex: 0,
    readings: readings.slice(0, batch),
  });
  const frames: Uint8Array[] = [];
  const rounds = 2000;
  const t0 = performance.now();
  for (let i = 0; i < rounds; i++) frames.push(sender.seal(message, Date.now()));
  const t1 = performance.now();
  for (const f of frames) receiver.open(f, Date.now());
  const t2 = performance.now();
  return { sealUs: ((t1 - t0) * 1000) / rounds / batch, openUs: ((t2 - t1) * 1000) / rounds / batch };
}

export const telemetrySuite: Suite = {
  name: "telemetry",
  description:
    "vitals readings device → Mosquitto → collector → PGlite / PostgreSQL, encrypted vs the same pipeline in plaintext (readings/s, latency, crypto, bytes, collector CPU/RSS)",
  async run(ctx: SuiteContext) {
    const count = ctx.quick ? 4_000 : 40_000;
    const rounds = ctx.quick ? 1 : 2;
    const readings = readingsFor(count);
    if (!(await canConnect("127.0.0.1", Number(new URL(POSTGRES_URL).port || 5432))))
      throw new Error(
        `PostgreSQL is not reachable at ${new URL(POSTGRES_URL).host}: start it (the suite needs database \`test\`, trust auth) or set IOTGUARD_BENCH_DATABASE_URL`,
      );
    const rows: Row[] = [];
    const series: Series[] = [];

    // Crypto and bytes, from the frames the pipeline sends.
    const perBatch = cryptoPerReading(readings, BATCH);
    const single = cryptoPerReading(readings, 1);
    const json = readings.slice(0, 1000).map((r) => Buffer.byteLength(JSON.stringify(r)));
    const jsonBytes = json.reduce((a, b) => a + b, 0) / json.length;
    const batchBytes = (k: number) =>
      (ENVELOPE_BYTES + FRAME_OVERHEAD + TelemetrySize.BATCH_HEADER + k * TelemetrySize.READING) / k;
    rows.push(
      row("telemetry", {
        case: "encrypt-per-reading/batch64",
        unit: "µs",
        better: "lower",
        value: perBatch.sealUs,
        baseline: { case: "encrypt-per-reading/batch1", value: single.sealUs },
        note: `seal of one ${BATCH}-reading frame ÷ ${BATCH}, vs one reading per frame`,
      }),
      row("telemetry", {
        case: "decrypt-per-reading/batch64",
        unit: "µs",
        better: "lower",
        value: perBatch.openUs,
        baseline: { case: "decrypt-per-reading/batch1", value: single.openUs },
        note: "open (window check, tag, decrypt) of the same frames",
      }),
      row("telemetry", {
        case: "wire-bytes-per-reading/encrypted-batch64",
        unit: "B",
        better: "lower",
        value: batchBytes(BATCH),
        baseline: { case: "wire-bytes-per-reading/plaintext-json", value: jsonBytes },
        note: `MQTT payload: envelope ${ENVELOPE_BYTES} + frame ${FRAME_OVERHEAD} + batch header ${TelemetrySize.BATCH_HEADER} + ${TelemetrySize.READING}/reading, ÷ ${BATCH}; vs one reading as JSON (field names, ${jsonBytes.toFixed(1)} B)`,
      }),
      row("telemetry", {
        case: "wire-bytes-per-reading/encrypted-batch1",
        unit: "B",
        better: "lower",
        value: batchBytes(1),
        baseline: { case: "wire-bytes-per-reading/plaintext-json", value: jsonBytes },
        note: `one reading per frame; overhead ${(((batchBytes(1) - jsonBytes) / jsonBytes) * 100).toFixed(0)} % vs JSON`,
      }),
    );
    ctx.note(
      `wire overhead vs plaintext JSON per reading: ${(((batchBytes(BATCH) - jsonBytes) / jsonBytes) * 100).toFixed(0)} % at ${BATCH} per frame, ${(((batchBytes(1) - jsonBytes) / jsonBytes) * 100).toFixed(0)} % at 1 per frame`,
    );

    ctx.progress(0.02, "chain, Mosquitto, head, device");
    const pipeline = await startPipeline();
    const results: Record<Engine, Record<Mode, RunResult[]>> = {
      pglite: { encrypted: [], plaintext: [] },
      postgres: { encrypted: [], plaintext: [] },
    };
    try {
      const engines: Engine[] = ["pglite", "postgres"];
      let step = 0;
      const steps = engines.length * rounds * 2;
      for (const engine of engines)
        for (let r = 0; r < rounds; r++)
          for (const mode of ["plaintext", "encrypted"] as const) {
            ctx.progress(0.05 + (0.95 * step++) / steps, `${engine} ${mode} round ${r + 1}`);
            const res =
              mode === "encrypted"
                ? await runEncrypted(pipeline, engine, readings)
                : await runPlaintext(pipeline, engine, readings);
            results[engine][mode].push(res);
          }
    } finally {
      await pipeline.stop();
    }

    const med = (xs: RunResult[], f: (x: RunResult) => number) => median(xs.map(f));
    for (const engine of ["pglite", "postgres"] as const) {
      const enc = results[engine].encrypted;
      const plain = results[engine].plaintext;
      const encRate = med(enc, (x) => x.readingsPerS);
      const plainRate = med(plain, (x) => x.readingsPerS);
      rows.push(
        row("telemetry", {
          case: `${engine}/stored-per-s/encrypted`,
          unit: "readings/s",
          value: encRate,
          baseline: { case: `${engine}/stored-per-s/plaintext`, value: plainRate },
          latencyMs: latency(enc.flatMap((x) => x.latenciesMs)),
          goal:
            engine === "postgres"
              ? { text: "≥ 5,000 readings/s stored with PostgreSQL", on: "value", op: ">=", target: 5000 }
              : { text: "encrypted ≥ 0.8 of plaintext", on: "ratio", op: ">=", target: 0.8 },
          note: `${count} readings per run, ${BATCH} per frame, ≤ ${WINDOW} unacknowledged; latency = send of a batch → the ack after its commit; ${rounds} run(s) each, alternating, median`,
        }),
        row("telemetry", {
          case: `${engine}/stored-per-s/plaintext`,
          unit: "readings/s",
          value: plainRate,
          latencyMs: latency(plain.flatMap((x) => x.latenciesMs)),
          note: "the same batches published bare to a collector of the product's BatchWriter + ReadingStore",
        }),
      );
      if (engine === "postgres")
        rows.push(
          row("telemetry", {
            case: "postgres/encrypted-vs-plaintext",
            unit: "ratio",
            value: encRate / plainRate,
            goal: { text: "encrypted ≥ 0.8 of plaintext", on: "value", op: ">=", target: 0.8 },
          }),
        );
      for (const [mode, xs] of [
        ["encrypted", enc],
        ["plaintext", plain],
      ] as const) {
        rows.push(
          row("telemetry", {
            case: `${engine}/collector-cpu-per-1k/${mode}`,
            unit: "ms",
            better: "lower",
            value: med(xs, (x) => x.collectorCpuMsPer1k),
            note: `collector process CPU (user + system) per 1,000 readings; ${med(xs, (x) => x.collectorCpuPct).toFixed(0)} % of a core during the run`,
          }),
          row("telemetry", {
            case: `${engine}/collector-rss/${mode}`,
            unit: "MB",
            better: "lower",
            value: med(xs, (x) => x.collectorRssMB),
            note: "collector process RSS at the end of the run",
          }),
        );
      }
    }

    const point = (engine: Engine, mode: Mode, f: (x: RunResult) => number) =>
      median(results[engine][mode].map(f));
    series.push(
      {
        suite: "telemetry",
        name: "telemetry-stored",
        title: "Readings stored per second: device → Mosquitto → collector → database",
        kind: "bar",
        x: { label: "database", scale: "band" },
        y: { label: "readings/s", scale: "linear" },
        points: (["pglite", "postgres"] as const).flatMap((e) =>
          (["encrypted", "plaintext"] as const).map((m) => ({
            x: e,
            y: point(e, m, (x) => x.readingsPerS),
            group: m,
          })),
        ),
      },
      {
        suite: "telemetry",
        name: "telemetry-latency",
        title: "End-to-end latency (send → stored → ack), p50 and p99",
        kind: "bar",
        x: { label: "database / percentile", scale: "band" },
        y: { label: "ms", scale: "linear" },
        points: (["pglite", "postgres"] as const).flatMap((e) =>
          (["encrypted", "plaintext"] as const).flatMap((m) => {
            const l = latency(results[e][m].flatMap((x) => x.latenciesMs));
            return [
              { x: `${e} p50`, y: l.p50, group: m },
              { x: `${e} p99`, y: l.p99, group: m },
            ];
          }),
        ),
      },
      {
        suite: "telemetry",
        name: "telemetry-collector-cpu",
        title: "Collector CPU per 1,000 readings stored",
        kind: "bar",
        x: { label: "database", scale: "band" },
        y: { label: "CPU ms", scale: "linear" },
        points: (["pglite", "postgres"] as const).flatMap((e) =>
          (["encrypted", "plaintext"] as const).map((m) => ({
            x: e,
            y: point(e, m, (x) => x.collectorCpuMsPer1k),
            group: m,
          })),
        ),
      },
    );
    return { rows, series };
  },
};

/**
 * `tsx bench/suites/telemetry.ts plain-collector '{"brokerUrl","topic","dataDir","databaseUrl"?,"schema"?}'`:
 * the plaintext baseline's collector: ReadingBatches from `<topic>/in` into the product's
 * BatchWriter and ReadingStore, acks to `<topic>/ack`. Not a product: no authentication at all.
 */
async function plainCollector(o: {
  brokerUrl: string;
  topic: string;
  dataDir: string;
  databaseUrl?: string;
  schema?: string;
}) {
  const config = loadConfig(
    {
      dataDir: o.dataDir,
      logLevel: "silent",
      ...(o.databaseUrl ? { databaseUrl: o.databaseUrl, databaseSchema: o.schema as string } : {}),
    },
    {},
  );
  const logger = pino({ level: "silent" });
  const db = await openDatabase(config, logger);
  const client = await MqttTransport.connect(o.brokerUrl, {
    clientId: `bench-plain-col-${randomBytes(4).toString("hex")}`,
    clean: true,
  });
  const deviceId = new Uint8Array(32).fill(1);
  const sessionId = new Uint8Array(8);
  let seq = 0n;
  const writer = new BatchWriter(
    new ReadingStore(db),
    (_peer, streamId, nextIndex) =>
      void client.publish(`${o.topic}/ack`, encodeAck({ streamId, nextIndex })).catch(() => undefined),
    createMetrics(),
    logger,
    config,
  );
  client.on("message", (_t, payload) => {
    const batch = decodeReadingBatch(payload);
    const frameSeq = seq++;
    writer.add({
      deviceId,
      deviceIdHex: toHex(deviceId),
      streamId: batch.streamId,
      arrivedAt: performance.now(),
      readings: batch.readings.map((r, i) => ({
        ...r,
        deviceId,
        streamId: batch.streamId,
        index: batch.firstIndex + i,
        sessionId,
        frameSeq,
      })),
    });
  });
  await client.subscribe([`${o.topic}/in`]);
  const stop = async () => {
    await writer.stop();
    await client.close();
    await db.close();
    process.exit(0);
  };
  process.once("SIGTERM", () => void stop());
  process.once("SIGINT", () => void stop());
  console.log("plain collector ready");
}

if (require.main === module && process.argv[2] === "plain-collector") {
  plainCollector(JSON.parse(process.argv[3] as string)).catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
