/**
 * The head's per-membership MAC keys: derived once and equal to the per-grant derivation, handed
 * out only while the membership is current, and wiped whenever the membership ends (removal,
 * expiry purge, re-join, stop). Real member store on a real level database and key vault.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { toHex } from "../../../protocol/bytes";
import { Label } from "../../../protocol/constants";
import { macKey, type MemberMacKeys } from "../../../protocol/grant/keys";
import type { Membership } from "../../../protocol/membership";
import { MemberMacKeyCache } from "../../../services/cluster-head/member-mac-keys";
import { HeadDatabase } from "../../../services/cluster-head/stores/database";
import { MemberKeyVault } from "../../../services/cluster-head/stores/member-key-vault";
import { MemberStore } from "../../../services/cluster-head/stores/member-store";

const NOW = 1_800_000_000_000;
const KEY = { keyAddress: "0x00000000000000000000000000000000000000aa", keyVersion: 1 };

function membership(device: number, kid: number, expiresAt = NOW + 60_000): Membership {
  return {
    deviceId: new Uint8Array(32).fill(device),
    kid: Uint8Array.of(kid, 0, 0, kid),
    memberKey: new Uint8Array(32).fill(0x40 + kid),
    expiresAt,
  };
}

const wiped = (keys: MemberMacKeys) =>
  [keys.sessionRequest, keys.grantRequest, keys.grantWarning].every((k) => k.every((b) => b === 0));

describe("MemberMacKeyCache", () => {
  let dir: string;
  let database: HeadDatabase;
  let members: MemberStore;
  let cache: MemberMacKeyCache;

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), "iotguard-mac-keys-"));
    database = await HeadDatabase.open(join(dir, "db"));
    members = (await MemberStore.open(database, MemberKeyVault.open(join(dir, "member-keys")))).store;
    cache = new MemberMacKeyCache(members);
  });
  afterEach(async () => {
    await database.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("derives each membership's keys once, equal to the per-grant derivation from K_m", async () => {
    const m = membership(1, 1);
    const member = await members.put(m, KEY, NOW);
    const keys = cache.keysOf(member)!;
    expect(cache.keysOf(member)).toBe(keys);
    expect(toHex(keys.sessionRequest)).toBe(toHex(macKey(m.memberKey, Label.MAC_SESSION_REQUEST)));
    expect(toHex(keys.grantRequest)).toBe(toHex(macKey(m.memberKey, Label.MAC_GRANT_REQUEST)));
    expect(toHex(keys.grantWarning)).toBe(toHex(macKey(m.memberKey, Label.MAC_GRANT_WARNING)));
    expect(new Set([keys.sessionRequest, keys.grantRequest, keys.grantWarning].map(toHex)).size).toBe(3);
    expect(cache.size).toBe(1);
  });

  it("wipes the keys of a removed membership when told it ended, and never hands them out again", async () => {
    const member = await members.put(membership(1, 1), KEY, NOW);
    const keys = cache.keysOf(member)!;
    await members.remove(member);
    cache.forgetEnded(member.deviceId);
    expect(wiped(keys)).toBe(true);
    expect(cache.size).toBe(0);
    expect(cache.keysOf(member)).toBeUndefined();
  });

  it("hands out nothing for an ended membership even before it is told, and wipes what it kept", async () => {
    const member = await members.put(membership(1, 1), KEY, NOW);
    const keys = cache.keysOf(member)!;
    await members.remove(member);
    expect(cache.keysOf(member)).toBeUndefined();
    expect(wiped(keys)).toBe(true);
  });

  it("wipes expired memberships' keys at the sweep after the purge, and keeps the current ones", async () => {
    const expiring = await members.put(membership(1, 1, NOW + 10), KEY, NOW);
    const staying = await members.put(membership(2, 2), KEY, NOW);
    const [expiringKeys, stayingKeys] = [cache.keysOf(expiring)!, cache.keysOf(staying)!];
    const purge = members.prepareRemoveExpired(NOW + 20);
    await database.batch(purge.operations, { durable: true });
    await purge.commit();
    expect(cache.sweep()).toBe(1);
    expect(wiped(expiringKeys)).toBe(true);
    expect(wiped(stayingKeys)).toBe(false);
    expect(cache.keysOf(staying)).toBe(stayingKeys);
  });

  it("replaces a re-joined device's keys: the old ones are wiped at the new membership's first use", async () => {
    const first = await members.put(membership(1, 1), KEY, NOW);
    const firstKeys = cache.keysOf(first)!;
    const second = await members.put(membership(1, 2), KEY, NOW + 1);
    const secondKeys = cache.keysOf(second)!;
    expect(wiped(firstKeys)).toBe(true);
    expect(wiped(secondKeys)).toBe(false);
    expect(cache.size).toBe(1);
    expect(cache.keysOf(first)).toBeUndefined();
  });

  it("wipes a re-joined device's old keys at the next sweep when the new membership is not used", async () => {
    const first = await members.put(membership(1, 1), KEY, NOW);
    const firstKeys = cache.keysOf(first)!;
    await members.put(membership(1, 2), KEY, NOW + 1);
    expect(cache.sweep()).toBe(1);
    expect(wiped(firstKeys)).toBe(true);
  });

  it("wipes every kept key when the head stops", async () => {
    const keys = [
      cache.keysOf(await members.put(membership(1, 1), KEY, NOW))!,
      cache.keysOf(await members.put(membership(2, 2), KEY, NOW))!,
    ];
    cache.clear();
    expect(keys.every(wiped)).toBe(true);
    expect(cache.size).toBe(0);
  });
});
