/**
 * The shared level wrapper (platform/level-database.ts) on a real classic-level database, and the
 * head's and device's databases built on it.
 */
import { mkdirSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ClassicLevel } from "classic-level";
import { afterEach, describe, expect, it, vi } from "vitest";
import { DeviceDatabase } from "../../device/sdk/store/database";
import { type JsonLevel, LevelDatabase, LevelOpenError, openJsonLevel } from "../../platform/level-database";
import { DatabaseOpenError, HeadDatabase } from "../../services/cluster-head/stores/database";

const NAMES = ["users", "audit"] as const;
type Name = (typeof NAMES)[number];

const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "iotguard-level-"));
  cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

async function open(location: string, options: { privateDir?: string } = {}): Promise<LevelDatabase<Name>> {
  const db = new LevelDatabase(await openJsonLevel(location, options), NAMES);
  cleanup.push(() => db.close());
  return db;
}

const mode = (path: string) => statSync(path).mode & 0o777;

describe("LevelDatabase", () => {
  it("creates its directory 0700, and makes an existing directory 0700 too", async () => {
    const root = tempDir();
    await open(join(root, "fresh"));
    expect(mode(join(root, "fresh"))).toBe(0o700);
    const existing = join(root, "existing");
    mkdirSync(existing, { mode: 0o755 });
    await open(join(existing, "db"), { privateDir: existing });
    expect(mode(existing)).toBe(0o700);
  });

  it("keeps each sublevel's keys apart, stores JSON, and answers undefined for a missing key", async () => {
    const db = await open(join(tempDir(), "db"));
    await db.put("users", "a", { n: 1, tags: ["x"] });
    await db.put("audit", "a", "other");
    expect(await db.get<{ n: number }>("users", "a")).toEqual({ n: 1, tags: ["x"] });
    expect(await db.get<string>("audit", "a")).toBe("other");
    expect(await db.get("users", "missing")).toBeUndefined();
    await db.del("users", "a");
    await db.del("users", "never-written");
    expect(await db.get("users", "a")).toBeUndefined();
    expect(await db.entries("audit")).toEqual([["a", "other"]]);
  });

  it("lists entries and values in key order, values up to a limit", async () => {
    const db = await open(join(tempDir(), "db"));
    await db.batch(
      ["c", "a", "b"].map((key) => ({
        type: "put" as const,
        sublevel: "users" as const,
        key,
        value: key.toUpperCase(),
      })),
    );
    expect(await db.entries<string>("users")).toEqual([
      ["a", "A"],
      ["b", "B"],
      ["c", "C"],
    ]);
    expect(await db.values<string>("users", 2)).toEqual(["A", "B"]);
    expect(await db.values("audit")).toEqual([]);
  });

  it("writes a batch across sublevels as one write, and asks for fsync exactly when durable", async () => {
    const db = await open(join(tempDir(), "db"));
    const writes: string[][] = [];
    db.db.on("write", (ops: { key: string }[]) => writes.push(ops.map((o) => o.key)));
    // Observe the options level receives; the spy calls through, so the write itself is real.
    const batch = vi.spyOn(db.db, "batch");

    await db.batch(
      [
        { type: "put", sublevel: "users", key: "u1", value: 1 },
        { type: "put", sublevel: "audit", key: "e1", value: "joined" },
        { type: "del", sublevel: "users", key: "u0" },
      ],
      { durable: true },
    );
    await db.put("users", "u2", 2);
    await db.del("audit", "e1", { durable: true });
    await db.batch([]);
    expect(writes).toEqual([["!users!u1", "!audit!e1", "!users!u0"], ["!users!u2"], ["!audit!e1"]]);
    const syncs = batch.mock.calls.map(
      (call: unknown[]) => (call[1] as { sync?: boolean } | undefined)?.sync,
    );
    expect(syncs).toEqual([true, false, true]);
    expect(await db.get("users", "u1")).toBe(1);
  });

  it("compacts exactly the range of one sublevel", async () => {
    const db = await open(join(tempDir(), "db"));
    await db.put("users", "a", 1);
    // level on Node is classic-level; the spy calls through to the real compaction.
    const compactRange = vi.spyOn(db.db as JsonLevel & ClassicLevel<string, unknown>, "compactRange");
    await db.compact("users");
    expect(compactRange.mock.calls).toEqual([["!users!", "!users!\uffff"]]);
    expect(await db.get("users", "a")).toBe(1);
  });

  it("refuses to open a database another handle holds with LevelOpenError E_STORAGE and level's reason", async () => {
    const location = join(tempDir(), "db");
    await open(location);
    const error = await openJsonLevel(location).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LevelOpenError);
    expect(error).toMatchObject({ code: "E_STORAGE", location });
    expect((error as LevelOpenError).reason).toMatch(/lock/i);
    expect((error as Error).message).toContain(location);
  });
});

describe("LevelDatabase group commit", () => {
  const put = (key: string, value: unknown) => ({
    type: "put" as const,
    sublevel: "users" as const,
    key,
    value,
  });
  /** Whether each level write from now on was fsynced, in order. */
  const syncsOf = (db: LevelDatabase<Name>) => {
    const syncs: boolean[] = [];
    db.observeWrites((write) => syncs.push(write.durable));
    return () => syncs;
  };
  const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

  it("writes the batches of one event-loop turn as one level batch, every one of them on disk after a reopen", async () => {
    const location = join(tempDir(), "db");
    const db = new LevelDatabase(await openJsonLevel(location), NAMES);
    const syncs = syncsOf(db);
    await Promise.all(
      Array.from({ length: 100 }, (_, i) =>
        db.batch([put(`u${i}`, i), { type: "put", sublevel: "audit", key: `e${i}`, value: `joined ${i}` }], {
          durable: i % 10 === 0,
        }),
      ),
    );
    expect(db.writeStats).toEqual({ calls: 100, writes: 1, durableWrites: 1 });
    expect(syncs()).toEqual([true]);
    await db.close();

    const reopened = await open(location);
    expect(await reopened.entries("users")).toHaveLength(100);
    expect(await reopened.get("users", "u99")).toBe(99);
    expect(await reopened.get("audit", "e42")).toBe("joined 42");
  });

  it("writes through classic-level's native batch exactly the bytes the JSON sublevels would", async () => {
    const db = await open(join(tempDir(), "db"));
    const native = vi.spyOn(db.db as unknown as { _chainedBatch: () => unknown }, "_chainedBatch");
    const value = { n: 1, s: "ü", list: [1, null] };
    await db.batch([put("u1", value), { type: "put", sublevel: "audit", key: "e1", value: "x" }], {
      durable: true,
    });
    await db.del("audit", "e1");
    expect(native).toHaveBeenCalledTimes(2);
    expect(await db.get("users", "u1")).toEqual(value);
    expect(await db.db.get("!users!u1", { valueEncoding: "utf8" })).toBe(JSON.stringify(value));
    expect(await db.get("audit", "e1")).toBeUndefined();
    await expect(db.batch([{ type: "del", sublevel: "users", key: "" }])).rejects.toMatchObject({
      code: "LEVEL_INVALID_KEY",
    });
  });

  it("gathers the batches asked for while a write is in flight into the next write, after it", async () => {
    const db = await open(join(tempDir(), "db"));
    const syncs = syncsOf(db);
    const first = db.put("users", "k", "first");
    await nextTurn(); // the first write is in flight now
    const later = Array.from({ length: 20 }, (_, i) => db.put("users", "k", `later ${i}`));
    await Promise.all([first, ...later]);
    expect(db.writeStats).toMatchObject({ calls: 21, writes: 2 });
    expect(syncs()).toEqual([false, false]);
    // Within one write the operations keep the callers' order, and a later write lands after an earlier one.
    expect(await db.get("users", "k")).toBe("later 19");
  });

  it("applies a later turn's put of a key after an earlier turn's, over many rounds", async () => {
    const db = await open(join(tempDir(), "db"));
    const writes: Promise<void>[] = [];
    for (let round = 0; round < 50; round++) {
      writes.push(db.put("users", "k", round, { durable: round % 2 === 0 }));
      await nextTurn();
    }
    await Promise.all(writes);
    expect(await db.get("users", "k")).toBe(49);
  });

  it("never resolves a durable caller by a write that was not fsynced", async () => {
    const db = await open(join(tempDir(), "db"));
    const syncs = syncsOf(db);
    const plain = db.put("users", "a", 1);
    await nextTurn(); // a plain write is in flight: the durable one must wait for its own
    const durable = db.put("users", "b", 2, { durable: true });
    const alsoPlain = db.put("users", "c", 3);
    await Promise.all([plain, durable, alsoPlain]);
    expect(syncs()).toEqual([false, true]);
    expect(db.writeStats).toEqual({ calls: 3, writes: 2, durableWrites: 1 });
  });

  it("rejects every caller of a group whose write fails, and writes none of it", async () => {
    const db = await open(join(tempDir(), "db"));
    const results = await Promise.allSettled([
      db.put("users", "a", 1, { durable: true }),
      // level refuses an undefined value: this caller's mistake fails the whole atomic write.
      db.batch([put("b", 2), put("c", undefined)]),
      db.put("audit", "d", 4),
    ]);
    expect(results.map((r) => r.status)).toEqual(["rejected", "rejected", "rejected"]);
    const reasons = results.map((r) => (r as PromiseRejectedResult).reason as { code?: string });
    expect(new Set(reasons)).toHaveProperty("size", 1); // one error, the write's
    expect(reasons[0]?.code).toBe("LEVEL_INVALID_VALUE");
    expect(await db.entries("users")).toEqual([]);
    expect(await db.entries("audit")).toEqual([]);
    // The next turn's group is written as usual.
    await db.put("users", "a", 1, { durable: true });
    expect(await db.get("users", "a")).toBe(1);
  });

  it("writes what was asked for before close, then closes", async () => {
    const location = join(tempDir(), "db");
    const db = new LevelDatabase(await openJsonLevel(location), NAMES);
    const written = db.put("users", "a", 1, { durable: true });
    await db.close();
    await written;
    expect(await (await open(location)).get("users", "a")).toBe(1);
  });
});

describe("the head's and the device's databases on the wrapper", () => {
  it("the head refuses a locked database with DatabaseOpenError E_STORAGE, saying how to recover", async () => {
    const directory = join(tempDir(), "db");
    const first = await HeadDatabase.open(directory);
    cleanup.push(() => first.close());
    const error = await HeadDatabase.open(directory).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DatabaseOpenError);
    expect(error).toMatchObject({
      code: "E_STORAGE",
      message: expect.stringContaining("restore the data directory"),
    });
    expect((error as Error).message).toMatch(/lock/i);
  });

  it("the device refuses a locked data directory with DeviceError E_STORAGE, and keeps the directory 0700", async () => {
    const dataDir = join(tempDir(), "device");
    const first = await DeviceDatabase.open(dataDir);
    cleanup.push(() => first.close());
    expect(mode(dataDir)).toBe(0o700);
    await expect(DeviceDatabase.open(dataDir)).rejects.toMatchObject({
      name: "DeviceError",
      code: "E_STORAGE",
      message: expect.stringContaining("another iotguard process"),
    });
  });

  it("the head's durable batch and compact reach level with its sublevel names", async () => {
    const db = await HeadDatabase.open(join(tempDir(), "db"));
    cleanup.push(() => db.close());
    await db.batch(
      [
        { type: "put", sublevel: "members", key: "k", value: { kid: "01" } },
        { type: "put", sublevel: "member-kids", key: "01", value: "k" },
      ],
      { durable: true },
    );
    await db.compact("members");
    expect(await db.values("members")).toEqual([{ kid: "01" }]);
    expect(await db.get("member-kids", "01")).toBe("k");
  });
});
