/**
 * The session store on a real level database: replay keys answered from memory and written with
 * the session in one fsynced batch, supersession (newest 2 per pair, a cap per device), the bound on
 * ended records kept, and pruning from memory and disk alike.
 */
import { createHash } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
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
  const database = await HeadDatabase.open(location);
  cleanup.push(() => database.close());
  return { location, database, store: await SessionStore.open(database, options) };
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
  it("records the replay key and the session in one fsynced batch, and answers the replay check from memory", async () => {
    const { database, store, location } = await openStore();
    const writes: LevelWrite[] = [];
    database.observeWrites((write) => writes.push(write));
    const g = grant("a", "b");
    expect(store.wasGranted(g.replayKey)).toBe(false);
    await record(store, g);
    expect(writes).toEqual([{ operations: 2, durable: true }]);
    const get = vi.spyOn(database, "get");
    expect(store.wasGranted(g.replayKey)).toBe(true);
    expect(get).not.toHaveBeenCalled();
    expect(store.haveSession("b", "a", NOW)).toBe(true);

    await database.close();
    const again = await openStore({}, location);
    expect(again.store.wasGranted(g.replayKey)).toBe(true);
    expect(again.store.liveSessionsOf("a", NOW)).toEqual([g.session]);
  });

  it("keeps the newest 2 sessions of a pair, in either direction, and ends the older ones as superseded", async () => {
    const { store, database, location } = await openStore();
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
    await database.close();
    const again = await openStore({}, location);
    expect(ids(again.store.live(NOW + 1))).toEqual(ids(live));
    expect(again.store.list().filter((s) => s.endReason === SUPERSEDED)).toHaveLength(2);
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

  it("keeps at most the configured number of ended records, deleting the oldest in the grant's batch", async () => {
    const { store, database } = await openStore({ maxEndedKept: 3 });
    for (let i = 0; i < 10; i++) await record(store, grant("a", "b", NOW + i));
    // 2 live + 3 ended, in memory and on disk.
    expect(store.live(NOW + 10)).toHaveLength(2);
    expect(store.list().filter((s) => s.endedAt !== undefined)).toHaveLength(3);
    expect(await database.values("sessions")).toHaveLength(5);
  });

  it("deletes a few expired replay keys with each grant, from memory and disk", async () => {
    const { store, database } = await openStore();
    const early = Array.from({ length: 6 }, () => grant("a", "b"));
    for (const g of early) await record(store, g);
    expect(store.replayKeyCount).toBe(6);
    // 31 s later every early key has expired: each grant deletes up to 4 of them.
    await record(store, grant("c", "d", NOW + 31_000));
    expect(store.replayKeyCount).toBe(3);
    await record(store, grant("c", "d", NOW + 32_000));
    expect(store.replayKeyCount).toBe(2);
    expect(early.some((g) => store.wasGranted(g.replayKey))).toBe(false);
    expect(await database.values("grant-requests")).toHaveLength(2);
  });

  it("refuses a replay key that is not 64 lowercase hex digits before writing anything", async () => {
    const { store, database } = await openStore();
    let writes = 0;
    database.observeWrites(() => writes++);
    const g = grant("a", "b");
    for (const bad of ["replay-1", g.replayKey.toUpperCase(), g.replayKey.slice(2)])
      await expect(store.recordGrant(bad, g.replayKeyExpiresAt, g.session)).rejects.toThrow(RangeError);
    expect(writes).toBe(0);
    expect(store.list()).toEqual([]);
  });

  it("keeps a replay key that expires exactly at the prune's now: its request is still fresh", async () => {
    const { store, database } = await openStore();
    const g = grant("a", "b");
    await record(store, g);
    expect(await store.prune(g.replayKeyExpiresAt, NOW - 1)).toEqual({ sessions: 0, replayKeys: 0 });
    expect(store.wasGranted(g.replayKey)).toBe(true);
    expect(await store.prune(g.replayKeyExpiresAt + 1, NOW - 1)).toEqual({ sessions: 0, replayKeys: 1 });
    expect(store.wasGranted(g.replayKey)).toBe(false);
    expect(await database.entries("grant-requests")).toEqual([]);
  });

  it("prunes ended and expired sessions and stale replay keys from memory and disk, in chunks", async () => {
    const { store, database } = await openStore({ maxSessionsPerDevice: 100_000 });
    // 5,000 grants between distinct pairs: more than two chunks of each kind.
    for (let i = 0; i < 5_000; i += 500)
      await Promise.all(
        Array.from({ length: 500 }, (_, j) => record(store, grant(`m${i + j}`, `n${i + j}`))),
      );
    const ending = store.prepareEndSessionsOf("m0", NOW, "revoked");
    await database.batch(ending.operations, { durable: true });
    ending.commit();
    const late = grant("x", "y", NOW + TTL + 60_000);
    await record(store, late);
    let writes = 0;
    database.observeWrites(() => writes++);

    const pruned = await store.prune(NOW + TTL + 60_000, NOW + TTL + 1);
    expect(pruned).toEqual({ sessions: 5_000, replayKeys: 5_000 - 4 });
    expect(writes).toBeGreaterThan(4); // chunks, not one batch
    expect(store.list().map((s) => s.sessionId)).toEqual([late.session.sessionId]);
    expect(store.replayKeyCount).toBe(1);
    expect(await database.values("sessions")).toEqual([late.session]);
    expect(await database.entries("grant-requests")).toEqual([
      [late.replayKey, { expiresAt: late.replayKeyExpiresAt }],
    ]);
  });
});
