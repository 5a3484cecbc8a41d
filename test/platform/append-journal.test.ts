/**
 * The append-only journal on a real file system: group commit (one fsynced write per event-loop
 * turn), order, reading back, a torn tail cut off, snapshots into a new segment, what a crash
 * during a snapshot leaves, refusals, and no write after a failed one following a torn record.
 */
import { randomBytes } from "node:crypto";
import {
  appendFileSync,
  mkdtempSync,
  type PathLike,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { createRequire, syncBuiltinESMExports } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import {
  AppendJournal,
  JournalOpenError,
  JournalWriteError,
  RECORD_HEADER_BYTES,
  SEGMENT_MAGIC,
  SNAPSHOT_CHUNK_BYTES,
} from "../../platform/append-journal";

/** node:fs as a module object whose functions a test may replace (then `syncBuiltinESMExports`). */
const fs = createRequire(__filename)("node:fs") as typeof import("node:fs");

const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "iotguard-journal-"));
  cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
  return join(dir, "journal");
}

/** Opens the journal in `dir`, collecting the records read back as strings. */
async function open(dir: string, segmentBytes?: number) {
  const read: string[] = [];
  const journal = await AppendJournal.open(dir, (r) => read.push(r.toString()), { segmentBytes });
  cleanup.push(() => journal.close());
  return { journal, read };
}

const rec = (s: string) => Buffer.from(s);
const segmentsIn = (dir: string) => readdirSync(dir).filter((f) => f.endsWith(".journal"));

describe("AppendJournal", () => {
  it("writes the records of one turn with one fsynced write, in order, and reads them back", async () => {
    const dir = tempDir();
    const { journal } = await open(dir);
    await Promise.all(Array.from({ length: 50 }, (_, i) => journal.append(rec(`r${i}`))));
    await journal.append(rec("last"));
    expect(journal.stats).toEqual({ records: 51, writes: 2, snapshots: 0, snapshotFailures: 0 });
    await journal.close();
    const { read } = await open(dir);
    expect(read).toEqual([...Array.from({ length: 50 }, (_, i) => `r${i}`), "last"]);
  });

  it("writes a turn of more records than one writev takes (IOV_MAX 1024 pieces) whole and in order", async () => {
    const dir = tempDir();
    const { journal } = await open(dir);
    const records = Array.from({ length: 3000 }, (_, i) => `record ${i}`);
    await Promise.all(records.map((r) => journal.append(rec(r))));
    expect(journal.stats.writes).toBe(1);
    await journal.close();
    expect((await open(dir)).read).toEqual(records);
  });

  it("reads back records across its 1 MiB read chunks, and one larger than a chunk", async () => {
    const dir = tempDir();
    const { journal } = await open(dir);
    const sizes = [600_000, 700_000, 3 * 1024 * 1024, 10, 900_000];
    const records = sizes.map((n, i) => Buffer.alloc(n, 97 + i).toString());
    for (const r of records) await journal.append(rec(r));
    await journal.close();
    const { read, journal: again } = await open(dir);
    expect(read.map((r) => r.length)).toEqual(sizes);
    expect(read).toEqual(records);
    expect(again.tailBytesCut).toBe(0);
  });

  it("starts a new journal with one empty segment that begins with its magic", async () => {
    const dir = tempDir();
    const { journal, read } = await open(dir);
    expect(read).toEqual([]);
    expect(segmentsIn(dir)).toEqual(["0000000000000001.journal"]);
    expect(readFileSync(join(dir, "0000000000000001.journal"))).toEqual(SEGMENT_MAGIC);
    expect(journal.segmentSize).toBe(SEGMENT_MAGIC.length);
  });

  it("cuts a torn last record off at open, reports it, and appends after the intact part", async () => {
    const dir = tempDir();
    const first = await open(dir);
    await first.journal.append(rec("kept"));
    await first.journal.close();
    const [segment] = segmentsIn(dir);
    // Half a header, then a whole header whose CRC does not match its payload.
    appendFileSync(join(dir, segment!), Buffer.from([5, 0, 0]));
    const second = await open(dir);
    expect(second.read).toEqual(["kept"]);
    expect(second.journal.tailBytesCut).toBe(3);
    await second.journal.append(rec("after"));
    await second.journal.close();
    const bad = Buffer.alloc(RECORD_HEADER_BYTES + 3);
    bad.writeUInt32LE(3, 0);
    bad.writeUInt32LE(12345, 4);
    appendFileSync(join(dir, segment!), bad);
    const third = await open(dir);
    expect(third.read).toEqual(["kept", "after"]);
    expect(third.journal.tailBytesCut).toBe(bad.length);
  });

  it("writes a snapshot into a new segment when the old one outgrows its budget, and reads only that", async () => {
    const dir = tempDir();
    const { journal } = await open(dir, 64);
    let state: string[] = [];
    journal.setSnapshot(() => [rec(`snapshot of ${state.length}`)]);
    for (let i = 0; i < 20; i++) {
      await journal.append(rec(`record ${i}`));
      state.push(`record ${i}`);
    }
    expect(journal.stats.snapshots).toBeGreaterThan(0);
    expect(segmentsIn(dir)).toHaveLength(1);
    await journal.close();
    const { read } = await open(dir, 64);
    // The newest segment: the last snapshot, then what was appended after it.
    expect(read[0]).toMatch(/^snapshot of \d+$/);
    const upTo = Number(read[0]!.split(" ").at(-1));
    expect(read.slice(1)).toEqual(state.slice(upTo));
    state = [];
  });

  it("takes a snapshot only between writes, after every earlier record's caller has applied it", async () => {
    const dir = tempDir();
    const { journal } = await open(dir, 16);
    const applied: number[] = [];
    const seen: number[][] = [];
    journal.setSnapshot(() => {
      seen.push([...applied]);
      return [];
    });
    const write = async (i: number) => {
      await journal.append(rec(`r${i}`));
      applied.push(i);
    };
    for (let round = 0; round < 5; round++) await Promise.all([0, 1, 2].map((j) => write(3 * round + j)));
    expect(seen.length).toBeGreaterThan(0);
    // Every snapshot saw whole groups: 3k records applied, for some k.
    for (const snapshot of seen) expect(snapshot.length % 3).toBe(0);
  });

  it("snapshotNow switches segments at once and deletes the old one", async () => {
    const dir = tempDir();
    const { journal } = await open(dir);
    await journal.append(rec("before"));
    journal.setSnapshot(() => [rec("state")]);
    await journal.snapshotNow();
    await journal.append(rec("after"));
    expect(segmentsIn(dir)).toEqual(["0000000000000002.journal"]);
    await journal.close();
    expect((await open(dir)).read).toEqual(["state", "after"]);
  });

  it("after a crash during a snapshot reads the newest complete segment and deletes the rest", async () => {
    const dir = tempDir();
    const first = await open(dir);
    await first.journal.append(rec("old"));
    first.journal.setSnapshot(() => [rec("state")]);
    await first.journal.snapshotNow();
    await first.journal.close();
    // A crash before the old segment was deleted, and an unfinished snapshot of a later one.
    writeFileSync(join(dir, "0000000000000001.journal"), Buffer.concat([SEGMENT_MAGIC, randomBytes(20)]));
    writeFileSync(join(dir, "0000000000000003.journal.tmp"), randomBytes(40));
    const { read } = await open(dir);
    expect(read).toEqual(["state"]);
    expect(readdirSync(dir)).toEqual(["0000000000000002.journal"]);
  });

  it("snapshotNow while a write is in flight snapshots the state after its callers applied it", async () => {
    const dir = tempDir();
    const { journal } = await open(dir);
    const state: string[] = [];
    journal.setSnapshot(() => state.map(rec));
    const appended = journal.append(rec("A")).then(() => void state.push("A"));
    await new Promise((resolve) => setImmediate(resolve)); // the write of A has started
    const snapshot = journal.snapshotNow();
    await appended;
    await snapshot;
    await journal.close();
    expect((await open(dir)).read).toEqual(["A"]);
  });

  it("writes a snapshot larger than its 1 MiB chunks, a record larger than a chunk included, and reads it back record for record", async () => {
    const dir = tempDir();
    const { journal } = await open(dir);
    // 3,000 records of 1–2 KB (several chunks, records ending near every chunk boundary), one of
    // 1.5 MiB (a chunk of its own), then small ones again.
    const state = [
      ...Array.from({ length: 3000 }, (_, i) => `small ${i} `.padEnd(1000 + (i % 1000), "x")),
      "large ".padEnd(SNAPSHOT_CHUNK_BYTES * 1.5, "y"),
      ...Array.from({ length: 10 }, (_, i) => `after ${i}`),
    ];
    function* records() {
      for (const s of state) yield rec(s);
    }
    journal.setSnapshot(records);
    await journal.snapshotNow();
    await journal.append(rec("appended"));
    await journal.close();
    const { read, journal: reopened } = await open(dir);
    expect(read).toEqual([...state, "appended"]);
    expect(reopened.tailBytesCut).toBe(0);
  });

  it("keeps the old segment when a snapshot record is empty, and reads back what it held", async () => {
    const dir = tempDir();
    const { journal } = await open(dir);
    await journal.append(rec("kept"));
    journal.setSnapshot(() => [rec("state"), Buffer.alloc(0)]);
    await expect(journal.snapshotNow()).rejects.toBeInstanceOf(JournalWriteError);
    await journal.append(rec("after"));
    await journal.close();
    expect(segmentsIn(dir)).toEqual(["0000000000000001.journal"]);
    expect((await open(dir)).read).toEqual(["kept", "after"]);
  });

  it("tells onSnapshotFailure of a snapshot that failed on its own, and keeps every acknowledged record in the old segment", async () => {
    const dir = tempDir();
    const failures: unknown[] = [];
    const journal = await AppendJournal.open(dir, () => undefined, {
      segmentBytes: 64,
      onSnapshotFailure: (error) => failures.push(error),
    });
    cleanup.push(() => journal.close());
    journal.setSnapshot(() => [rec("state"), Buffer.alloc(0)]);
    const appended = Array.from({ length: 20 }, (_, i) => `record ${i} `.padEnd(40, "z"));
    for (const r of appended) await journal.append(rec(r));
    expect(failures.length).toBeGreaterThan(0);
    expect(failures[0]).toBeInstanceOf(JournalWriteError);
    expect((failures[0] as Error).message).toMatch(/snapshot failed/);
    expect(journal.stats.snapshotFailures).toBe(failures.length);
    expect(journal.stats.snapshots).toBe(0);
    await journal.close();
    expect(segmentsIn(dir)).toEqual(["0000000000000001.journal"]);
    expect((await open(dir)).read).toEqual(appended);
  });

  it("refuses snapshotNow without a snapshot function or once closed, and changes nothing", async () => {
    const dir = tempDir();
    const { journal } = await open(dir);
    await journal.append(rec("kept"));
    await expect(journal.snapshotNow()).rejects.toBeInstanceOf(JournalWriteError);
    journal.setSnapshot(() => []);
    await journal.close();
    await expect(journal.snapshotNow()).rejects.toBeInstanceOf(JournalWriteError);
    expect((await open(dir)).read).toEqual(["kept"]);
  });

  it("close waits for a snapshot already asked for", async () => {
    const dir = tempDir();
    const { journal } = await open(dir);
    journal.setSnapshot(() => [rec("state")]);
    const snapshot = journal.snapshotNow();
    await journal.close();
    await snapshot;
    expect(segmentsIn(dir)).toEqual(["0000000000000002.journal"]);
    expect((await open(dir)).read).toEqual(["state"]);
  });

  it("switches to a snapshot once it is renamed into place even when the directory fsync fails, and acknowledges nothing in it until that fsync succeeds", async () => {
    const dir = tempDir();
    const { journal } = await open(dir);
    journal.setSnapshot(() => [rec("state")]);
    await journal.append(rec("before"));
    // The directory fsync fails twice (opening the directory is its first step): after the
    // rename, then before the first group in the new segment. It is not an I/O error this test
    // can cause for real, hence the stand-in.
    const realOpenSync = fs.openSync;
    let failures = 0;
    const failingOpenSync = ((path: PathLike, ...rest: unknown[]) => {
      if (path === dir && failures < 2) {
        failures++;
        throw Object.assign(new Error("EIO: i/o error, open"), { code: "EIO" });
      }
      return (realOpenSync as (...args: unknown[]) => number)(path, ...rest);
    }) as typeof fs.openSync;
    Object.assign(fs, { openSync: failingOpenSync });
    syncBuiltinESMExports();
    try {
      await journal.snapshotNow();
      expect(segmentsIn(dir).sort()).toEqual(["0000000000000001.journal", "0000000000000002.journal"]);
      await expect(journal.append(rec("refused"))).rejects.toBeInstanceOf(JournalWriteError);
      await journal.append(rec("after"));
    } finally {
      Object.assign(fs, { openSync: realOpenSync });
      syncBuiltinESMExports();
    }
    expect(failures).toBe(2);
    expect(segmentsIn(dir)).toEqual(["0000000000000002.journal"]);
    await journal.close();
    expect((await open(dir)).read).toEqual(["state", "after"]);
  });

  it("refuses to open a segment that is not a journal, with E_STORAGE, and one whose record its owner rejects", async () => {
    const dir = tempDir();
    const first = await open(dir);
    await first.journal.append(rec("x"));
    await first.journal.close();
    await expect(
      AppendJournal.open(dir, () => {
        throw new Error("unknown record");
      }),
    ).rejects.toThrow(/unknown record/);
    writeFileSync(join(dir, segmentsIn(dir)[0]!), randomBytes(64));
    const refused = AppendJournal.open(dir, () => undefined);
    await expect(refused).rejects.toBeInstanceOf(JournalOpenError);
    await expect(refused).rejects.toMatchObject({ code: "E_STORAGE" });
  });

  it("refuses empty records synchronously, and appends after close with JournalWriteError", async () => {
    const { journal } = await open(tempDir());
    expect(() => journal.append(new Uint8Array(0))).toThrow(RangeError);
    await journal.close();
    await expect(journal.append(rec("late"))).rejects.toBeInstanceOf(JournalWriteError);
  });

  it("close waits for the records already appended", async () => {
    const dir = tempDir();
    const { journal } = await open(dir);
    const pending = Array.from({ length: 10 }, (_, i) => journal.append(rec(`r${i}`)));
    await journal.close();
    await Promise.all(pending);
    expect((await open(dir)).read).toHaveLength(10);
  });
});
