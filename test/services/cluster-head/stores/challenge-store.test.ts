/**
 * The challenge store on a real level database: a consumed challenge is written durably, answered
 * from memory afterwards (and after a restart), and swept from memory and disk once expired.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { ChallengeState, issueStatelessChallenge } from "../../../../protocol";
import { ChallengeStore } from "../../../../services/cluster-head/stores/challenge-store";
import { HeadDatabase } from "../../../../services/cluster-head/stores/database";

const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

const KEY = new Uint8Array(32).fill(7);
const TTL = 30_000;
const NOW = 1_800_000_000_000;

async function openStore(dir?: string) {
  const location = dir ?? mkdtempSync(join(tmpdir(), "iotguard-challenge-store-"));
  if (!dir) cleanup.push(() => rmSync(location, { recursive: true, force: true }));
  const database = await HeadDatabase.open(location);
  cleanup.push(() => database.close());
  return { location, database, store: await ChallengeStore.open(database, KEY) };
}

describe("ChallengeStore", () => {
  it("consumes a challenge once, durably, and answers later uses from memory, also after a restart", async () => {
    const { database, store, location } = await openStore();
    const { challenge } = issueStatelessChallenge({ key: KEY, clusterId: 1, now: NOW, ttlMs: TTL });
    const durable: boolean[] = [];
    database.observeWrites((write) => durable.push(write.durable));
    expect((await store.redeem(challenge, 1, NOW, TTL))?.state).not.toBe(ChallengeState.CONSUMED);
    expect(durable).toEqual([true]);
    const get = vi.spyOn(database, "get");
    expect((await store.redeem(challenge, 1, NOW + 1, TTL))?.state).toBe(ChallengeState.CONSUMED);
    expect(get).not.toHaveBeenCalled();

    await database.close();
    const again = await openStore(location);
    expect((await again.store.redeem(challenge, 1, NOW + 2, TTL))?.state).toBe(ChallengeState.CONSUMED);
  });

  it("claims a challenge before anything is written and keeps its use once the claim's put rides in another durable batch", async () => {
    const { database, store, location } = await openStore();
    const { challenge } = issueStatelessChallenge({ key: KEY, clusterId: 1, now: NOW, ttlMs: TTL });
    const claim = store.claim(challenge, 1, NOW, TTL);
    expect(claim.record?.state).toBe(ChallengeState.ISSUED);
    expect(claim.operation).toBeDefined();
    // A second use in the same turn, before any write: already refused, and nothing to write for it.
    const second = store.claim(challenge, 1, NOW, TTL);
    expect([second.record?.state, second.operation]).toEqual([ChallengeState.CONSUMED, undefined]);
    expect(await database.values("challenges")).toEqual([]);

    const put = { type: "put" as const, sublevel: "members" as const, key: "00000001", value: { x: 1 } };
    await database.batch([put, claim.operation!], { durable: true });
    await database.close();
    const again = await openStore(location);
    expect((await again.store.redeem(challenge, 1, NOW + 1, TTL))?.state).toBe(ChallengeState.CONSUMED);
  });

  it("claims nothing for a challenge it did not issue or that expired", async () => {
    const { store } = await openStore();
    const { challenge } = issueStatelessChallenge({ key: KEY, clusterId: 1, now: NOW, ttlMs: TTL });
    expect(store.claim(challenge, 2, NOW, TTL)).toEqual({ record: undefined });
    const late = store.claim(challenge, 1, NOW + TTL, TTL);
    expect([late.record?.state, late.operation]).toEqual([ChallengeState.ISSUED, undefined]);
    // Not claimed by the late attempt: in time, the challenge is still usable once.
    expect(store.claim(challenge, 1, NOW, TTL).operation).toBeDefined();
  });

  it("sweeps expired consumed challenges from memory and disk, keeping the others", async () => {
    const { database, store } = await openStore();
    const early = issueStatelessChallenge({ key: KEY, clusterId: 1, now: NOW, ttlMs: TTL }).challenge;
    const later = issueStatelessChallenge({
      key: KEY,
      clusterId: 1,
      now: NOW + 20_000,
      ttlMs: TTL,
    }).challenge;
    await store.redeem(early, 1, NOW, TTL);
    await store.redeem(later, 1, NOW + 20_000, TTL);
    expect(await store.sweep(NOW + TTL)).toBe(1);
    expect(await database.values("challenges")).toHaveLength(1);
    expect((await store.redeem(later, 1, NOW + 21_000, TTL))?.state).toBe(ChallengeState.CONSUMED);
    expect(await store.sweep(NOW + 20_000 + TTL)).toBe(1);
    expect(await database.values("challenges")).toEqual([]);
  });
});
