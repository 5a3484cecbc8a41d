/** The CSV export on the machine's PostgreSQL (its own schema, dropped afterwards), through the command. */
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CSV_COLUMNS, exportCsv } from "../../../services/collector/export-csv";
import { migrate } from "../../../services/collector/storage/migrations";
import { openPostgresEngine } from "../../../services/collector/storage/postgres-engine";
import { ReadingStore } from "../../../services/collector/storage/reading-store";
import type { SqlEngine } from "../../../services/collector/storage/sql-engine";
import { sampleReading } from "../../telemetry/arbitraries";
import { dropSchema, requirePostgres, TEST_DATABASE_URL, testSchemaName } from "./postgres";

const ROOT = resolve(__dirname, "../../..");

describe("CSV export", () => {
  const schema = testSchemaName();
  const dir = mkdtempSync(join(tmpdir(), "iotguard-export-"));
  let db: SqlEngine;
  const a = new Uint8Array(randomBytes(32));
  const b = new Uint8Array(randomBytes(32));
  const t0 = Date.UTC(2026, 0, 1);

  beforeAll(async () => {
    await requirePostgres();
    db = await openPostgresEngine(TEST_DATABASE_URL, schema);
    await migrate(db);
    const rows = (deviceId: Uint8Array, n: number) =>
      Array.from({ length: n }, (_, i) => ({
        ...sampleReading(t0 + i * 1000),
        heartRateBpm: 60 + (i % 50),
        deviceId,
        streamId: new Uint8Array(8).fill(7),
        index: i,
        sessionId: new Uint8Array(8).fill(1),
        frameSeq: BigInt(i),
      }));
    await new ReadingStore(db).insert([...rows(a, 2_500), ...rows(b, 10)]);
  }, 60_000);

  afterAll(async () => {
    await db?.close();
    await dropSchema(schema);
    rmSync(dir, { recursive: true, force: true });
  });

  it("writes every reading of a device, in device-time order, across pages", async () => {
    const out = join(dir, "a.csv");
    expect(await exportCsv(db, { out, device: Buffer.from(a).toString("hex") })).toBe(2_500);
    const lines = readFileSync(out, "utf8").trim().split("\n");
    expect(lines[0]).toBe(CSV_COLUMNS.join(","));
    expect(lines).toHaveLength(2_501);
    const col = (name: string) => CSV_COLUMNS.indexOf(name);
    const first = lines[1]!.split(",");
    expect(first[col("device_id")]).toBe(Buffer.from(a).toString("hex"));
    expect(first[col("heart_rate_bpm")]).toBe("60");
    expect(first[col("device_time_ms")]).toBe(String(t0));
    const times = lines.slice(1).map((l) => Number(l.split(",")[col("device_time_ms")]));
    expect(times).toEqual([...times].sort((x, y) => x - y));
  });

  it("filters by device time and refuses a bad device ID", async () => {
    const out = join(dir, "window.csv");
    expect(
      await exportCsv(db, { out, from: String(t0 + 5_000), to: new Date(t0 + 8_000).toISOString() }),
    ).toBe(6);
    await expect(exportCsv(db, { out, device: "nope" })).rejects.toThrow(/device/);
  });

  it("runs as `collector export` against the configured database", async () => {
    const out = join(dir, "cli.csv");
    const { stderr } = await promisify(execFile)(
      process.execPath,
      [
        ...["--import", "tsx", "services/collector/main.ts", "export", "--out", out],
        ...["--device", Buffer.from(b).toString("hex"), "--database-url", TEST_DATABASE_URL],
        ...["--database-schema", schema, "--data-dir", dir],
      ],
      { cwd: ROOT },
    );
    expect(stderr).toContain("exported 10 readings");
    expect(readFileSync(out, "utf8").trim().split("\n")).toHaveLength(11);
  }, 60_000);
});
