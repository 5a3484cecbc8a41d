/**
 * The acceptance run on real processes: `iotguard device publish` (the CLI, from source;
 * IOTGUARD_TEST_CLI_RUNNER=built for dist/) sends 10,000 readings of the repository's data set to
 * a collector process (PostgreSQL) through a real head (the machine's Mosquitto as its broker),
 * rotating the session key every 2.5 s at 1,000 readings/s: 3 or 4 rotations. (A frame-count limit
 * gives an unpredictable number, as the publisher sizes frames by ack timing, and the collector's
 * SDK admits 8 session set-ups per peer at once, then one per 10 s.) Exactly 10,000 rows arrive, and
 * the collector keeps no more sessions with the device than the current one and one draining.
 */
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { resolve } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Device } from "../../../device/sdk";
import { startTestChain, type TestChain } from "../../../testkit/chain";
import { type CollectorProcess, collectorProcess, collectorHeadOf } from "../../../testkit/collector";
import { joinedDevice, removeDir, requireMosquitto } from "../../../testkit/device";
import { nodeArgs, type Runner } from "../../../testkit/spawn";
import { startTestHead, type TestHead } from "../../../testkit/head";
import { deviceDir } from "../../../services/collector/identity";
import { openPostgresEngine } from "../../../services/collector/storage/postgres-engine";
import { dropSchema, requirePostgres, TEST_DATABASE_URL, testSchemaName } from "./postgres";

const ROOT = resolve(__dirname, "../../..");
const DATASET = resolve(ROOT, "data/vitals.csv");
/** The CLI from source (IOTGUARD_TEST_CLI_RUNNER=built runs dist/, as the bin does). */
const RUNNER = (process.env.IOTGUARD_TEST_CLI_RUNNER ?? "tsx") as Runner;

async function iotguard(
  args: string[],
  timeoutMs: number,
): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(
      process.execPath,
      [...nodeArgs("device/cli/main.ts", RUNNER), ...args],
      { cwd: ROOT, timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 },
    );
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    return { code: e.code ?? -1, stdout: e.stdout ?? "", stderr: e.stderr ?? String(error) };
  }
}

describe("10,000 readings across key rotations", () => {
  let chain: TestChain;
  let head: TestHead;
  let collector: CollectorProcess;
  let member: Device;
  const schema = testSchemaName();
  const prefix = `iotguard-rot-${randomBytes(5).toString("hex")}`;

  beforeAll(async () => {
    await requirePostgres();
    await requireMosquitto();
    chain = await startTestChain();
    head = await startTestHead(chain, { brokerUrl: "mqtt://127.0.0.1:1883", topicPrefix: prefix });
    member = await joinedDevice(head, { topicPrefix: prefix });
    await member.close();
    collector = await collectorProcess(collectorHeadOf(head, chain), {
      flags: ["--database-url", TEST_DATABASE_URL, "--database-schema", schema, "--log-level", "debug"],
    });
  }, 120_000);

  afterAll(async () => {
    await collector?.destroy();
    await head?.destroy();
    await chain?.stop();
    await dropSchema(schema);
  }, 60_000);

  it("arrive as exactly 10,000 rows, and the collector drops the rotated-away sessions' keys", async () => {
    const dataDir = member.dataDir;
    const deviceId = member.deviceId;
    try {
      const result = await iotguard(
        [
          ...["device", "publish", "--data-dir", dataDir, "--to", collector.deviceId, "--dataset", DATASET],
          ...["--loop", "--count", "10000", "--rate", "1000", "--rotate-after-ms", "2500"],
          ...["--rotation-drain-ms", "500", "--json", "--quiet"],
        ],
        150_000,
      );
      expect(result.code, `${result.stderr}\ncollector: ${collector.output()}`).toBe(0);
      const summary = JSON.parse(result.stdout.trim().split("\n").pop()!) as {
        sent: number;
        acknowledged: number;
        rotations: number;
      };
      expect(summary).toMatchObject({ sent: 10_000, acknowledged: 10_000 });
      expect(summary.rotations).toBeGreaterThanOrEqual(3);

      const db = await openPostgresEngine(TEST_DATABASE_URL, schema);
      try {
        const r = await db.query<{ n: string; distinct_n: string; sessions: string }>(
          `select count(*)::text as n, count(distinct reading_index)::text as distinct_n,
                  count(distinct session_id)::text as sessions
             from readings where device_id = $1`,
          [Buffer.from(deviceId, "hex")],
        );
        expect(Number(r.rows[0]!.n)).toBe(10_000);
        expect(Number(r.rows[0]!.distinct_n)).toBe(10_000);
        expect(Number(r.rows[0]!.sessions)).toBeGreaterThanOrEqual(4);
      } finally {
        await db.close();
      }

      // The collector's store after it stopped: at most the current session and one draining.
      await collector.stop();
      const member = await Device.open(deviceDir(collector.dataDir));
      try {
        const withDevice = (await member.status()).sessions.filter((s) => s.peerId === deviceId);
        expect(withDevice.length).toBeLessThanOrEqual(2);
      } finally {
        await member.close();
      }
    } finally {
      removeDir(dataDir);
    }
  }, 240_000);
});
