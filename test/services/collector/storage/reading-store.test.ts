/**
 * One suite, run against both engines (embedded PGlite and the machine's PostgreSQL): migrations,
 * exactly-once storage, atomic batches, the ack frontier and paging.
 */
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MIGRATIONS, migrate } from "../../../../services/collector/storage/migrations";
import { openPgliteEngine } from "../../../../services/collector/storage/pglite-engine";
import { openPostgresEngine } from "../../../../services/collector/storage/postgres-engine";
import { ReadingStore, type StoredReading } from "../../../../services/collector/storage/reading-store";
import type { SqlEngine } from "../../../../services/collector/storage/sql-engine";
import { sampleReading } from "../../../telemetry/arbitraries";
import { dropSchema, requirePostgres, schemaExists, TEST_DATABASE_URL, testSchemaName } from "../postgres";

function readings(deviceId: Uint8Array, streamId: Uint8Array, from: number, count: number): StoredReading[] {
  const sessionId = new Uint8Array(randomBytes(8));
  return Array.from({ length: count }, (_, i) => ({
    ...sampleReading(Date.UTC(2026, 0, 1) + (from + i) * 1000),
    deviceId,
    streamId,
    index: from + i,
    sessionId,
    frameSeq: BigInt(i),
  }));
}

const newDevice = () => new Uint8Array(randomBytes(32));
const newStream = () => new Uint8Array(randomBytes(8));

function storageSuite(
  name: string,
  open: () => Promise<SqlEngine>,
  cleanup: (db: SqlEngine) => Promise<void>,
) {
  describe(`reading storage on ${name}`, () => {
    let db: SqlEngine;
    let store: ReadingStore;

    beforeAll(async () => {
      db = await open();
      await migrate(db);
      store = new ReadingStore(db);
    }, 120_000);

    afterAll(async () => {
      if (db) await cleanup(db);
    }, 60_000);

    it("applies the migrations once and records them (idempotent)", async () => {
      expect(await migrate(db)).toEqual([]);
      const r = await db.query<{ version: number }>("select version from schema_migrations order by version");
      expect(r.rows.map((x) => Number(x.version))).toEqual(MIGRATIONS.map((m) => m.version));
    });

    it("stores a duplicated reading once, however often it is inserted", async () => {
      const device = newDevice();
      const stream = newStream();
      const batch = readings(device, stream, 0, 50);
      expect(await store.insert(batch)).toBe(50);
      // Re-sent in a new frame of another session: same identity, no new row.
      const again = batch.map((r) => ({ ...r, sessionId: new Uint8Array(8), frameSeq: 99n }));
      expect(await store.insert([...again.slice(10), ...readings(device, stream, 50, 5)])).toBe(5);
      expect(await store.count(Buffer.from(device).toString("hex"))).toBe(55);
    });

    it("stores a batch larger than one statement in one transaction", async () => {
      const device = newDevice();
      expect(await store.insert(readings(device, newStream(), 0, 2_345))).toBe(2_345);
      expect(await store.count(Buffer.from(device).toString("hex"))).toBe(2_345);
    });

    it("rolls a whole batch back when one row is refused (atomic)", async () => {
      const device = newDevice();
      const stream = newStream();
      const batch = readings(device, stream, 0, 1_500);
      batch[1_200] = { ...batch[1_200]!, streamId: new Uint8Array(7) };
      await expect(store.insert(batch)).rejects.toThrow();
      expect(await store.count(Buffer.from(device).toString("hex"))).toBe(0);
    });

    it("finds the acknowledgement frontier: the first index not stored", async () => {
      const device = newDevice();
      const stream = newStream();
      expect(await store.frontier(device, stream)).toBe(0);
      await store.insert(readings(device, stream, 1, 4));
      expect(await store.frontier(device, stream)).toBe(0);
      await store.insert(readings(device, stream, 0, 1));
      expect(await store.frontier(device, stream)).toBe(5);
      await store.insert(readings(device, stream, 7, 3));
      expect(await store.frontier(device, stream, 5)).toBe(5);
      await store.insert(readings(device, stream, 5, 2));
      expect(await store.frontier(device, stream, 5)).toBe(10);
      expect(await store.frontier(device, newStream())).toBe(0);
    });

    it("pages readings by device time with a keyset, filtered by device and time", async () => {
      const device = newDevice();
      const hex = Buffer.from(device).toString("hex");
      await store.insert(readings(device, newStream(), 0, 25));
      const t0 = Date.UTC(2026, 0, 1);
      const seen: number[] = [];
      let after: { timeMs: number; id: number } | undefined;
      for (;;) {
        const page = await store.page({ deviceId: hex, limit: 10, ...(after ? { after } : {}) });
        seen.push(...page.map((r) => r.index));
        if (page.length < 10) break;
        const last = page[page.length - 1]!;
        after = { timeMs: last.deviceTimeMs, id: last.id };
      }
      expect(seen).toEqual(Array.from({ length: 25 }, (_, i) => i));
      const window = await store.page({ deviceId: hex, fromMs: t0 + 5_000, toMs: t0 + 8_000, limit: 100 });
      expect(window.map((r) => r.index)).toEqual([5, 6, 7]);
      expect(window[0]).toMatchObject({ deviceId: hex, heartRateBpm: 72, temperatureCentiC: 3690 });
    });
  });
}

const pgSchema = testSchemaName();
storageSuite(
  "embedded PGlite",
  () => openPgliteEngine(undefined, "iotguard"),
  (db) => db.close(),
);
storageSuite(
  "PostgreSQL",
  async () => {
    await requirePostgres();
    return openPostgresEngine(TEST_DATABASE_URL, pgSchema);
  },
  async (db) => {
    await db.close();
    await dropSchema(pgSchema);
    expect(await schemaExists(pgSchema)).toBe(false);
  },
);
