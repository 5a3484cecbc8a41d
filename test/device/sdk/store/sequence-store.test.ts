/**
 * The level sequence store under SequenceReservation, on a real level database in a temp
 * directory: block sizes that change between runs, the old value format, durable writes.
 */
import { afterEach, describe, expect, it } from "vitest";
import { SequenceReservation } from "../../../../protocol/channel/sequence";
import { DeviceDatabase } from "../../../../device/sdk/store/database";
import { LevelSequenceStore } from "../../../../device/sdk/store/sequence-store";
import { removeDir, tempDeviceDir } from "../../../../testkit/device";

const LIMIT = 2n ** 32n;

async function take(r: SequenceReservation, n: number): Promise<bigint[]> {
  const out: bigint[] = [];
  for (let i = 0; i < n; i++) out.push(await r.next());
  return out;
}

describe("LevelSequenceStore", () => {
  const dirs: string[] = [];
  let db: DeviceDatabase | undefined;
  afterEach(async () => {
    await db?.close();
    db = undefined;
    for (const d of dirs.splice(0)) removeDir(d);
  });

  async function open(dir: string): Promise<DeviceDatabase> {
    await db?.close();
    db = await DeviceDatabase.open(dir);
    return db;
  }

  it("a device restarted with a smaller sequence block never sends a number twice (1024, then 8)", async () => {
    const dir = tempDeviceDir();
    dirs.push(dir);
    const first = await SequenceReservation.open(new LevelSequenceStore(await open(dir)), "s/i2r", 1024n);
    const before = await take(first, 18);
    // Restart: the database is closed and opened again, the reservation rebuilt with K = 8.
    const second = await SequenceReservation.open(new LevelSequenceStore(await open(dir)), "s/i2r", 8n);
    const after = await take(second, 40);
    expect(after.filter((seq) => before.includes(seq))).toEqual([]);
    expect(after[0]).toBe(1024n);
    expect(await db!.get("sequence", "s/i2r")).toEqual({ bound: "1064" });
  });

  it("reads a value of the old format (a bare block start) as a spent key and leaves it in place", async () => {
    const dir = tempDeviceDir();
    dirs.push(dir);
    const d = await open(dir);
    await d.put("sequence", "s/r2i", "2048"); // what the first format wrote
    const store = new LevelSequenceStore(d);
    expect(await store.load("s/r2i")).toEqual({ kind: "block-start", value: 2048n });
    const r = await SequenceReservation.open(store, "s/r2i", 1024n);
    expect(r.peek).toBe(LIMIT);
    await expect(r.next()).rejects.toMatchObject({ code: "E_LIMIT" });
    expect(await d.get("sequence", "s/r2i")).toBe("2048");
  });

  it("refuses a record it cannot read with E_STORAGE", async () => {
    const dir = tempDeviceDir();
    dirs.push(dir);
    const d = await open(dir);
    await d.put("sequence", "s/i2r", { start: "5" });
    await expect(new LevelSequenceStore(d).load("s/i2r")).rejects.toMatchObject({ code: "E_STORAGE" });
  });

  it("asks level to fsync every reservation (sync: true)", async () => {
    const dir = tempDeviceDir();
    dirs.push(dir);
    const d = await open(dir);
    const writes: { key: unknown; sync?: boolean }[] = [];
    d.db.on("write", (ops: { key: unknown; sync?: boolean }[]) => writes.push(...ops));
    const r = await SequenceReservation.open(new LevelSequenceStore(d), "s/i2r", 2n);
    await take(r, 5);
    expect(writes).toHaveLength(3); // bounds 2, 4, 6
    for (const w of writes) expect(w.sync).toBe(true);
  });
});
