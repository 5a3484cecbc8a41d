/**
 * The collector's faults on real processes and a real PostgreSQL: the database unreachable at
 * start, a SIGKILL mid-stream, and the database cut mid-stream (through a TCP proxy in front of the
 * machine's server, which is never stopped).
 */
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Device } from "../../../device/sdk";
import { freePort } from "../../../platform/free-port";
import {
  type CollectorHead,
  collectorProcess,
  startTestCollector,
  tempCollectorDir,
  collectorHeadOf,
} from "../../../testkit/collector";
import { removeDir, requireMosquitto, waitUntil } from "../../../testkit/device";
import { openPgliteEngine } from "../../../services/collector/storage/pglite-engine";
import { openPostgresEngine } from "../../../services/collector/storage/postgres-engine";
import { dropSchema, requirePostgres, TEST_DATABASE_URL, testSchemaName } from "./postgres";
import { startTcpProxy } from "./tcp-proxy";
import {
  type AckLog,
  batches,
  publishUntilAcked,
  startTelemetryScene,
  type TelemetryScene,
} from "./telemetry-flow";

const run = promisify(execFile);
const ROOT = resolve(__dirname, "../../..");

describe("collector start without its database", () => {
  it("stops with one line naming the database (no credentials) and exit code 3", async () => {
    const dir = tempCollectorDir();
    const port = await freePort();
    try {
      const error = (await run(
        process.execPath,
        [
          ...["--import", "tsx", "services/collector/main.ts", "run", "--data-dir", dir],
          ...["--database-url", `postgres://someone:hunter2secret@127.0.0.1:${port}/test`],
        ],
        { cwd: ROOT },
      ).catch((e: unknown) => e)) as { code: number; stderr: string };
      expect(error.code).toBe(3);
      const lines = error.stderr.trim().split("\n");
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(
        new RegExp(`database unavailable: PostgreSQL at 127\\.0\\.0\\.1:${port}/test \\(ECONNREFUSED\\)`),
      );
      expect(error.stderr).not.toContain("hunter2secret");
      expect(error.stderr).not.toContain("someone");
    } finally {
      removeDir(dir);
    }
  }, 60_000);
});

describe("collector faults mid-stream (PostgreSQL)", () => {
  let scene: TelemetryScene | undefined;
  let collectorHead: CollectorHead;
  let device: Device;
  let acks: AckLog;
  const schemas: string[] = [];
  const prefix = `iotguard-colf-${randomBytes(5).toString("hex")}`;

  beforeAll(async () => {
    await requireMosquitto();
    await requirePostgres();
    scene = await startTelemetryScene(prefix, 10_000);
    ({ device, acks } = scene);
    collectorHead = collectorHeadOf(scene.head, scene.chain);
  }, 120_000);

  afterAll(async () => {
    await scene?.close();
    for (const s of schemas) await dropSchema(s);
  }, 60_000);

  it.each(["PostgreSQL", "embedded PGlite"] as const)(
    "loses and duplicates nothing when SIGKILLed mid-stream and restarted, on %s (what it left unacknowledged is delivered again)",
    async (engine) => {
      const schema = testSchemaName();
      schemas.push(schema);
      const collector = await collectorProcess(collectorHead, {
        flags:
          engine === "PostgreSQL" ? ["--database-url", TEST_DATABASE_URL, "--database-schema", schema] : [],
      });
      try {
        const stream = new Uint8Array(randomBytes(8));
        const total = 3_000;
        // Killed after the 20th of the stream's 60 frames, while the device goes on sending: what
        // the kill left unacknowledged comes back from the broker's queue for the collector's
        // persistent session at its restart, or from the device's re-send (framesSent beyond 60).
        let killed = false;
        let acknowledgedAtKill = 0;
        let restarted: Promise<void> = Promise.resolve();
        const { framesSent } = await publishUntilAcked(device, collector.deviceId, stream, total, acks, {
          perFrame: 50,
          timeoutMs: 90_000,
          onFrame: async (sent) => {
            if (sent !== 20 || killed) return;
            await collector.kill();
            acknowledgedAtKill = acks.of(stream);
            killed = true;
            restarted = collector.start();
            restarted.catch(() => undefined); // awaited below
          },
        });
        await restarted;
        expect(killed).toBe(true);
        expect(acknowledgedAtKill).toBeLessThan(total);
        expect(framesSent).toBeGreaterThanOrEqual(total / 50);
        // Read the rows as stored (PGlite's files are the collector's own: read them after it stopped).
        await collector.stop();
        const db =
          engine === "PostgreSQL"
            ? await openPostgresEngine(TEST_DATABASE_URL, schema)
            : await openPgliteEngine(join(collector.dataDir, "pgdata"), "iotguard");
        try {
          const r = await db.query<{ n: string; distinct_n: string }>(
            "select count(*)::text as n, count(distinct reading_index)::text as distinct_n from readings where stream_id = $1",
            [stream],
          );
          expect([Number(r.rows[0]!.n), Number(r.rows[0]!.distinct_n)]).toEqual([total, total]);
        } finally {
          await db.close();
        }
      } finally {
        await collector.destroy();
      }
    },
    180_000,
  );

  it("stops acknowledging while PostgreSQL is unreachable and resumes, storing everything once, when it returns", async () => {
    const schema = testSchemaName();
    schemas.push(schema);
    const proxy = await startTcpProxy({
      host: "127.0.0.1",
      port: Number(new URL(TEST_DATABASE_URL).port || 5432),
    });
    const url = new URL(TEST_DATABASE_URL);
    url.port = String(proxy.port);
    const collector = await startTestCollector(collectorHead, {
      flags: { databaseUrl: url.toString(), databaseSchema: schema },
    });
    try {
      const stream = new Uint8Array(randomBytes(8));
      for (const frame of batches(stream, 0, 200, 50)) await device.send(collector.deviceId, frame);
      await waitUntil(() => acks.of(stream) === 200, "the ack before the cut");

      await proxy.cut();
      const acksAtCut = acks.all.length;
      for (const frame of batches(stream, 200, 300, 50)) await device.send(collector.deviceId, frame);
      const gauge = async (m: { get(): Promise<{ values: { value: number }[] }> }) =>
        (await m.get()).values[0]?.value ?? 0;
      // Every frame is received and buffered, and a retry has failed since: nothing was committed.
      await waitUntil(
        async () => (await gauge(collector.metrics.buffered)) === 300,
        "all 300 readings buffered",
      );
      const failedBefore = await gauge(collector.metrics.storageErrors);
      await waitUntil(
        async () => (await gauge(collector.metrics.storageErrors)) >= failedBefore + 2,
        "two failed retries",
      );
      expect(await gauge(collector.metrics.databaseUp)).toBe(0);
      expect(acks.all.length).toBe(acksAtCut);
      expect((await collector.get("/health")).status).toBe(503);

      await proxy.restore();
      await waitUntil(() => acks.of(stream) === 500, "the ack after the database returned", 30_000);
      expect(await collector.store.count(device.deviceId)).toBeGreaterThanOrEqual(500);
      const own = await collector.store.page({ deviceId: device.deviceId, limit: 1000 });
      expect(own.filter((r) => r.streamId === Buffer.from(stream).toString("hex"))).toHaveLength(500);
      expect((await collector.get("/health")).status).toBe(200);
    } finally {
      await collector.destroy();
      await proxy.close();
    }
  }, 120_000);
});
