/**
 * The session store on a real journal (and level, for what older heads kept there): replay keys
 * answered from memory and written with the session in one fsynced record, supersession (newest 2
 * per pair, a cap per device), the bound on ended records kept, pruning from memory and disk alike,
 * snapshots, a torn tail, and the move from level.
 */
import { createHash } from "node:crypto";
import { appendFileSync, mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { LevelWrite } from "../../../../platform/level-database";
import { HeadDatabase } from "../../../../services/cluster-head/stores/database";
import {
  SESSIONS_PER_PAIR,
  type SessionRecord,
  SessionStore,
  type SessionStoreOptions,
  SUPERSEDED,
} from "../../../../services/cluster-head/stores/session-store";

const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

async function openStore(options: SessionStoreOptions = {}, dir?: string) {
  const location = dir ?? mkdtempSync(join(tmpdir(), "iotguard-session-store-"));
  if (!dir) cleanup.push(() => rmSync(location, { recursive: true, force: true }));
  const database = await HeadDatabase.open(join(location, "db"));
  const store = await SessionStore.open(database, join(location, "grants"), options);
  cleanup.push(async () => {
    await store.close();
    if (database.db.status === "open") await database.close();
  });
  return { location, database, store };
}

/** Closes what {@link openStore} opened (the store's journal, then level) before a reopen. */
async function closeStore(opened: Awaited<ReturnType<typeof openStore>>) {
  await opened.store.close();
  await opened.database.close();
}

const NOW = 1_800_000_000_000;
const TTL = 3600_000;
let counter = 0;
/** A replay key of the real shape (hex SHA-256, as `grantReplayKey` makes it), distinct per `n`. */
const replayKeyOf = (n: number) => createHash("sha256").update(`replay-${n}`).digest("hex");
/** A grant between `a` and `b` issued at `at`: its session record and replay key (30 s). */
function grant(a: string, b: string, at = NOW) {
  const n = ++counter;
  const session: SessionRecord = {
    sessionId: n.toString(16).padStart(16, "0"),
    initiator: a,
    responder: b,
    suite: 1,
    issuedAt: at,
    expiresAt: at + TTL,
    initiatorKeyVersion: 0,
    responderKeyVersion: 0,
  };
  return { replayKey: replayKeyOf(n), replayKeyExpiresAt: at + 30_000, session };
}
async function record(store: SessionStore, g: ReturnType<typeof grant>) {
  return store.recordGrant(g.replayKey, g.replayKeyExpiresAt, g.session);
}
const ids = (sessions: SessionRecord[]) => sessions.map((s) => s.sessionId).sort();

describe("SessionStore", () => {
  it("records the replay key and the session in one fsynced journal record, not in level, and answers the replay check from memory", async () => {
    const opened = await openStore();
    const { database, store, location } = opened;
    const writes: LevelWrite[] = [];
    database.observeWrites((write) => writes.push(write));
    const g = grant("a", "b");
    expect(store.wasGranted(g.replayKey)).toBe(false);
    await record(store, g);
    expect(store.journalStats).toEqual({ records: 1, writes: 1, snapshots: 0, snapshotFailures: 0 });
    expect(writes).toEqual([]);
    const get = vi.spyOn(database, "get");
    expect(store.wasGranted(g.replayKey)).toBe(true);
    expect(get).not.toHaveBeenCalled();
    expect(store.haveSession("b", "a", NOW)).toBe(true);

    await closeStore(opened);
    const again = await openStore({}, location);
    expect(again.store.wasGranted(g.replayKey)).toBe(true);
    expect(again.store.liveSessionsOf("a", NOW)).toEqual([g.session]);
  });

  it("writes the grants of one event-loop turn with one fsynced write", async () => {
    const { store } = await openStore();
    await Promise.all(Array.from({ length: 20 }, (_, i) => record(store, grant(`p${i}`, `q${i}`))));
    expect(store.journalStats).toEqual({ records: 20, writes: 1, snapshots: 0, snapshotFailures: 0 });
  });

  it("keeps the newest 2 sessions of a pair, in either direction, and ends the older ones as superseded", async () => {
    const opened = await openStore();
    const { store, location } = opened;
    const grants = [
      grant("a", "b"),
      grant("b", "a"),
      grant("a", "b"),
      grant("a", "c"),
      grant("b", "a", NOW + 1),
    ];
    const superseded: SessionRecord[][] = [];
    for (const g of grants) superseded.push(await record(store, g));
    expect(superseded.map(ids)).toEqual([
      [],
      [],
      [grants[0]!.session.sessionId],
      [],
      [grants[1]!.session.sessionId],
    ]);
    expect(superseded[4]![0]).toMatchObject({ endedAt: NOW + 1, endReason: SUPERSEDED });
    const live = store.liveSessionsOf("a", NOW + 1);
    expect(ids(live)).toEqual(ids([grants[2]!.session, grants[3]!.session, grants[4]!.session]));
    expect(live.filter((s) => s.initiator !== "c" && s.responder !== "c")).toHaveLength(SESSIONS_PER_PAIR);
    // Ended records stay listed, and the disk says the same after a restart.
    expect(store.list()).toHaveLength(5);
    const before = store.list();
    await closeStore(opened);
    const again = await openStore({}, location);
    expect(ids(again.store.live(NOW + 1))).toEqual(ids(live));
    expect(again.store.list().filter((s) => s.endReason === SUPERSEDED)).toHaveLength(2);
    expect(again.store.list().sort(bySessionId)).toEqual(before.sort(bySessionId));
  });

  it("caps the sessions of one device, superseding its oldest first", async () => {
    const { store } = await openStore({ maxSessionsPerDevice: 3 });
    const grants = ["p1", "p2", "p3", "p4", "p5"].map((peer, i) => grant("hub", peer, NOW + i));
    for (const g of grants) await record(store, g);
    expect(ids(store.liveSessionsOf("hub", NOW + 10))).toEqual(ids(grants.slice(2).map((g) => g.session)));
    expect(store.haveSession("hub", "p1", NOW + 10)).toBe(false);
    expect(store.haveSession("hub", "p5", NOW + 10)).toBe(true);
    expect(store.list().find((s) => s.responder === "p1")).toMatchObject({ endReason: SUPERSEDED });
  });

  it("keeps at most the configured number of ended records, the newest, also after a restart", async () => {
    const opened = await openStore({ maxEndedKept: 3 });
    const { store, location } = opened;
    for (let i = 0; i < 10; i++) await record(store, grant("a", "b", NOW + i));
    // 2 live + 3 ended.
    expect(store.live(NOW + 10)).toHaveLength(2);
    expect(store.list().filter((s) => s.endedAt !== undefined)).toHaveLength(3);
    const kept = ids(store.list());
    await closeStore(opened);
    const again = await openStore({ maxEndedKept: 3 }, location);
    expect(ids(again.store.list())).toEqual(kept);
  });

  it("forgets a few expired replay keys with each grant, and drops expired ones when it opens", async () => {
    const opened = await openStore();
    const { store, location } = opened;
    const early = Array.from({ length: 6 }, () => grant("a", "b"));
    for (const g of early) await record(store, g);
    expect(store.replayKeyCount).toBe(6);
    // 31 s later every early key has expired: each grant forgets up to 4 of them.
    const later = [grant("c", "d", NOW + 31_000), grant("c", "d", NOW + 32_000)];
    await record(store, later[0]!);
    expect(store.replayKeyCount).toBe(3);
    await record(store, later[1]!);
    expect(store.replayKeyCount).toBe(2);
    expect(early.some((g) => store.wasGranted(g.replayKey))).toBe(false);

    await closeStore(opened);
    const again = await openStore({ now: NOW + 31_000 }, location);
    expect(again.store.replayKeyCount).toBe(2);
    expect(later.every((g) => again.store.wasGranted(g.replayKey))).toBe(true);
  });

  it("refuses a replay key that is not 64 lowercase hex digits before writing anything", async () => {
    const { store } = await openStore();
    const g = grant("a", "b");
    for (const bad of ["replay-1", g.replayKey.toUpperCase(), g.replayKey.slice(2)])
      await expect(store.recordGrant(bad, g.replayKeyExpiresAt, g.session)).rejects.toThrow(RangeError);
    expect(store.journalStats.records).toBe(0);
    expect(store.list()).toEqual([]);
  });

  it("keeps a replay key that expires exactly at the prune's now: its request is still fresh", async () => {
    const { store } = await openStore();
    const g = grant("a", "b");
    await record(store, g);
    expect(await store.prune(g.replayKeyExpiresAt, NOW - 1)).toEqual({ sessions: 0, replayKeys: 0 });
    expect(store.wasGranted(g.replayKey)).toBe(true);
    expect(await store.prune(g.replayKeyExpiresAt + 1, NOW - 1)).toEqual({ sessions: 0, replayKeys: 1 });
    expect(store.wasGranted(g.replayKey)).toBe(false);
  });

  it("ends a device's live sessions durably and says which, once", async () => {
    const opened = await openStore();
    const { store, location } = opened;
    const grants = [grant("m", "x"), grant("y", "m"), grant("x", "y")];
    for (const g of grants) await record(store, g);
    const ended = await store.endSessionsOf("m", NOW + 1, "revoked");
    expect(ids(ended)).toEqual(ids([grants[0]!.session, grants[1]!.session]));
    expect(ended.every((s) => s.endedAt === NOW + 1 && s.endReason === "revoked")).toBe(true);
    expect(await store.endSessionsOf("m", NOW + 2, "revoked")).toEqual([]);
    await closeStore(opened);
    const again = await openStore({}, location);
    expect(again.store.liveSessionsOf("m", NOW + 1)).toEqual([]);
    expect(ids(again.store.live(NOW + 1))).toEqual([grants[2]!.session.sessionId]);
    expect(again.store.list().filter((s) => s.endReason === "revoked")).toHaveLength(2);
  });

  it("prunes ended and expired sessions and stale replay keys from memory and disk, in chunks", async () => {
    const opened = await openStore({ maxSessionsPerDevice: 100_000 });
    const { store, location } = opened;
    // 5,000 grants between distinct pairs: more than two chunks of each kind.
    for (let i = 0; i < 5_000; i += 500)
      await Promise.all(
        Array.from({ length: 500 }, (_, j) => record(store, grant(`m${i + j}`, `n${i + j}`))),
      );
    await store.endSessionsOf("m0", NOW, "revoked");
    const late = grant("x", "y", NOW + TTL + 60_000);
    await record(store, late);
    const recordsBefore = store.journalStats.records;

    const pruned = await store.prune(NOW + TTL + 60_000, NOW + TTL + 1);
    expect(pruned).toEqual({ sessions: 5_000, replayKeys: 5_000 - 4 });
    expect(store.journalStats.records - recordsBefore).toBeGreaterThan(2); // chunks, not one record
    expect(store.list().map((s) => s.sessionId)).toEqual([late.session.sessionId]);
    expect(store.replayKeyCount).toBe(1);
    await closeStore(opened);
    const again = await openStore({ now: NOW + TTL + 60_000 }, location);
    expect(again.store.list()).toEqual([late.session]);
    expect(again.store.replayKeyCount).toBe(1);
    expect(again.store.wasGranted(late.replayKey)).toBe(true);
  });

  it("starts a new journal segment from a snapshot when the old one outgrows its budget, losing nothing", async () => {
    const opened = await openStore({ journalSegmentBytes: 8_192, maxEndedKept: 50 });
    const { store, location } = opened;
    const grants = Array.from({ length: 300 }, (_, i) =>
      grant(`d${i % 7}`, `d${(i + 1 + (i % 3)) % 7}`, NOW + i),
    );
    for (const g of grants) await record(store, g);
    await store.endSessionsOf("d3", NOW + 400, "revoked");
    expect(store.journalStats.snapshots).toBeGreaterThanOrEqual(2);
    const segments = readdirSync(join(location, "grants"));
    expect(segments).toHaveLength(1);
    const before = store.list().sort(bySessionId);
    await closeStore(opened);
    const again = await openStore({ journalSegmentBytes: 8_192, maxEndedKept: 50 }, location);
    expect(again.store.list().sort(bySessionId)).toEqual(before);
    expect(grants.every((g) => again.store.wasGranted(g.replayKey))).toBe(true);
    expect(again.store.replayKeyCount).toBe(300);
  });

  it("reads back every acknowledged grant when the journal ends in a torn write, and says how much it cut", async () => {
    const opened = await openStore();
    const { store, location } = opened;
    const grants = [grant("a", "b"), grant("c", "d")];
    for (const g of grants) await record(store, g);
    await closeStore(opened);
    const [segment] = readdirSync(join(location, "grants"));
    // A group whose write was cut short: a record header promising more bytes than follow.
    appendFileSync(join(location, "grants", segment!), Buffer.from([200, 0, 0, 0, 1, 2, 3, 4, 1, 9, 9]));
    const again = await openStore({}, location);
    expect(again.store.journalTailBytesCut).toBe(11);
    expect(grants.every((g) => again.store.wasGranted(g.replayKey))).toBe(true);
    // Appends after the cut are read back too.
    const third = grant("e", "f");
    await record(again.store, third);
    await closeStore(again);
    const last = await openStore({}, location);
    expect(last.store.journalTailBytesCut).toBe(0);
    expect([...grants, third].every((g) => last.store.wasGranted(g.replayKey))).toBe(true);
  });

  it("keeps its journal private: directory 0700, segments 0600", async () => {
    const { store, location } = await openStore({ journalSegmentBytes: 1_024 });
    for (let i = 0; i < 20; i++) await record(store, grant("a", "b"));
    expect(store.journalStats.snapshots).toBeGreaterThan(0);
    expect(statSync(join(location, "grants")).mode & 0o777).toBe(0o700);
    for (const file of readdirSync(join(location, "grants")))
      expect(statSync(join(location, "grants", file)).mode & 0o777).toBe(0o600);
  });

  it("moves an older head's sessions and replay keys from level into the journal, once", async () => {
    const location = mkdtempSync(join(tmpdir(), "iotguard-session-store-"));
    cleanup.push(() => rmSync(location, { recursive: true, force: true }));
    const ended: SessionRecord = { ...grant("a", "b").session, endedAt: NOW + 5, endReason: "revoked" };
    const live = grant("a", "c");
    const database = await HeadDatabase.open(join(location, "db"));
    await database.batch([
      { type: "put", sublevel: "sessions", key: ended.sessionId, value: ended },
      { type: "put", sublevel: "sessions", key: live.session.sessionId, value: live.session },
      {
        type: "put",
        sublevel: "grant-requests",
        key: live.replayKey,
        value: { expiresAt: live.replayKeyExpiresAt },
      },
    ]);
    await database.close();

    const opened = await openStore({}, location);
    expect(opened.store.list().sort(bySessionId)).toEqual([ended, live.session].sort(bySessionId));
    expect(opened.store.wasGranted(live.replayKey)).toBe(true);
    expect(opened.store.journalStats.snapshots).toBe(1);
    expect(await opened.database.values("sessions")).toEqual([]);
    expect(await opened.database.values("grant-requests")).toEqual([]);
    await closeStore(opened);
    const again = await openStore({}, location);
    expect(again.store.list().sort(bySessionId)).toEqual([ended, live.session].sort(bySessionId));
    expect(again.store.wasGranted(live.replayKey)).toBe(true);
  });
});

const bySessionId = (a: SessionRecord, b: SessionRecord) => a.sessionId.localeCompare(b.sessionId);
