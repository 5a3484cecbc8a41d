/**
 * The member-key vault on a real file system: group commit (each changed slot written once and
 * one fdatasync per round, however many joins arrive at once), durability across a reopen,
 * destruction of deleted keys, permissions, torn slots, the move from the shard files of earlier
 * versions, and a failed write that rejects its callers and is written by the next commit.
 */
import { randomBytes } from "node:crypto";
import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { toHex } from "../../../../protocol/bytes";
import { MemberKeyVault } from "../../../../services/cluster-head/stores/member-key-vault";

let directory: string;

beforeEach(() => {
  directory = join(mkdtempSync(join(tmpdir(), "iotguard-vault-")), "keys");
});

afterEach(() => {
  rmSync(join(directory, ".."), { recursive: true, force: true });
});

/** `n` distinct key ids (8 hex digits) with fresh keys. */
function keys(n: number, prefix = ""): [string, Uint8Array][] {
  return Array.from({ length: n }, (_, i) => [
    prefix + i.toString(16).padStart(8 - prefix.length, "0"),
    new Uint8Array(randomBytes(32)),
  ]);
}

/** Every file of the vault's folder that holds `key`, raw or as hex. */
function filesHolding(key: Uint8Array): string[] {
  return readdirSync(directory).filter((name) => {
    const bytes = readFileSync(join(directory, name));
    return bytes.includes(Buffer.from(key)) || bytes.includes(Buffer.from(toHex(key)));
  });
}

describe("MemberKeyVault", () => {
  it("keeps every key of a burst of concurrent puts across a reopen, in fewer commits than puts", async () => {
    const vault = MemberKeyVault.open(directory);
    const burst = keys(300, "5");
    await Promise.all(burst.map(([kid, key]) => vault.put(kid, key)));
    expect(vault.stats.commits).toBeLessThan(burst.length);
    const reopened = MemberKeyVault.open(directory);
    for (const [kid, key] of burst) expect(reopened.get(kid)).toEqual(key);
    expect(reopened.kids().sort()).toEqual(burst.map(([kid]) => kid).sort());
  });

  it("writes each changed slot once and syncs the file once per commit, however many keys changed", async () => {
    const vault = MemberKeyVault.open(directory);
    await vault.put("00000000", new Uint8Array(32).fill(1)); // the first commit: writing now
    const burst = keys(20, "ab");
    const before = { ...vault.stats };
    await Promise.all(burst.map(([kid, key]) => vault.put(kid, key)));
    expect(vault.stats.commits - before.commits).toBe(1);
    expect(vault.stats.slotWrites - before.slotWrites).toBe(20);
    expect(readdirSync(directory)).toEqual(["keys.bin"]);
  });

  it("destroys a deleted key: no file holds it afterwards, and its slot is reused", async () => {
    const vault = MemberKeyVault.open(directory);
    const [[kid, key], [other, otherKey]] = keys(2, "cd") as [[string, Uint8Array], [string, Uint8Array]];
    await vault.put(kid, key);
    expect(filesHolding(key)).toEqual(["keys.bin"]);
    const size = statSync(join(directory, "keys.bin")).size;
    await vault.delete([kid, "ffffffff"]);
    expect(vault.get(kid)).toBeUndefined();
    expect(filesHolding(key)).toEqual([]);
    await vault.put(other, otherKey);
    expect(statSync(join(directory, "keys.bin")).size).toBe(size);
    expect(MemberKeyVault.open(directory).kids()).toEqual([other]);
  });

  it("keeps its folder 0700 and its key file 0600", async () => {
    const vault = MemberKeyVault.open(directory);
    await vault.put("12345678", new Uint8Array(32).fill(7));
    expect(statSync(directory).mode & 0o777).toBe(0o700);
    expect(statSync(join(directory, "keys.bin")).mode & 0o777).toBe(0o600);
  });

  it("reads a torn slot (a write cut short by a power cut) as free and zeroes it, keeping the other keys", async () => {
    const vault = MemberKeyVault.open(directory);
    const [[a, keyA], [b, keyB]] = keys(2) as [[string, Uint8Array], [string, Uint8Array]];
    await vault.put(a, keyA);
    await vault.put(b, keyB);
    const file = join(directory, "keys.bin");
    const bytes = readFileSync(file);
    bytes[64 + 20] = (bytes[64 + 20] as number) ^ 1; // the second slot's key, half written
    writeFileSync(file, bytes);
    const reopened = MemberKeyVault.open(directory);
    expect(reopened.get(a)).toEqual(keyA);
    expect(reopened.get(b)).toBeUndefined();
    expect(readFileSync(file).subarray(64, 128)).toEqual(Buffer.alloc(64));
  });

  it("moves the keys of an earlier version's shard files into slots and removes the shard files", () => {
    mkdirSync(directory, { recursive: true, mode: 0o700 });
    const [[a, keyA], [b, keyB]] = keys(2, "ab") as [[string, Uint8Array], [string, Uint8Array]];
    writeFileSync(join(directory, "ab.json"), JSON.stringify({ [a]: toHex(keyA), [b]: toHex(keyB) }));
    writeFileSync(join(directory, "cd.json.tmp"), "{");
    const vault = MemberKeyVault.open(directory);
    expect(vault.get(a)).toEqual(keyA);
    expect(vault.get(b)).toEqual(keyB);
    expect(readdirSync(directory)).toEqual(["keys.bin"]);
    expect(MemberKeyVault.open(directory).kids().sort()).toEqual([a, b].sort());
  });

  it("refuses a damaged shard file of an earlier version with E_STORAGE", () => {
    mkdirSync(directory, { recursive: true, mode: 0o700 });
    writeFileSync(join(directory, "ab.json"), "{ not json");
    expect(() => MemberKeyVault.open(directory)).toThrow(expect.objectContaining({ code: "E_STORAGE" }));
  });

  it("rejects the callers of a commit that cannot be written, and writes their slot with the next commit", async () => {
    const vault = MemberKeyVault.open(directory);
    const file = join(directory, "keys.bin");
    // A folder where the key file must be: opening it for writing fails.
    renameSync(file, `${file}.away`);
    mkdirSync(file);
    await expect(vault.put("ef000001", new Uint8Array(32).fill(3))).rejects.toThrow();
    rmSync(file, { recursive: true });
    renameSync(`${file}.away`, file);
    await vault.put("01000000", new Uint8Array(32).fill(4));
    const reopened = MemberKeyVault.open(directory);
    expect(reopened.get("ef000001")).toEqual(new Uint8Array(32).fill(3));
    expect(reopened.get("01000000")).toEqual(new Uint8Array(32).fill(4));
  });
});
