/**
 * The member-key vault on a real file system: group commit (one rewrite per changed shard and one
 * folder fsync per round, however many joins arrive at once), durability across a reopen,
 * destruction of deleted keys, permissions, and a failed write that rejects its callers and is
 * written by the next commit.
 */
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
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

describe("MemberKeyVault", () => {
  it("keeps every key of a burst of concurrent puts across a reopen, in fewer commits than puts", async () => {
    const vault = MemberKeyVault.open(directory);
    const burst = Array.from({ length: 300 }, (_, i) => [
      toHex(randomBytes(4)).replace(/^../, (i % 256).toString(16).padStart(2, "0")),
      new Uint8Array(randomBytes(32)),
    ]) as [string, Uint8Array][];
    await Promise.all(burst.map(([kid, key]) => vault.put(kid, key)));
    expect(vault.stats.commits).toBeLessThan(burst.length);
    const reopened = MemberKeyVault.open(directory);
    for (const [kid, key] of burst) expect(reopened.get(kid)).toEqual(key);
  });

  it("rewrites a shard once per commit however many of its keys changed", async () => {
    const vault = MemberKeyVault.open(directory);
    await vault.put("00000000", new Uint8Array(32).fill(1)); // the first commit: writing now
    const sameShard = keys(20, "ab");
    const before = { ...vault.stats };
    await Promise.all(sameShard.map(([kid, key]) => vault.put(kid, key)));
    expect(vault.stats.commits - before.commits).toBe(1);
    expect(vault.stats.shardWrites - before.shardWrites).toBe(1);
    const file = JSON.parse(readFileSync(join(directory, "ab.json"), "utf8")) as Record<string, string>;
    expect(Object.keys(file).sort()).toEqual(sameShard.map(([kid]) => kid).sort());
  });

  it("destroys a deleted key: no file holds it afterwards, and an emptied shard file is removed", async () => {
    const vault = MemberKeyVault.open(directory);
    const [[kid, key]] = keys(1, "cd") as [[string, Uint8Array]];
    await vault.put(kid, key);
    expect(readFileSync(join(directory, "cd.json"), "utf8")).toContain(toHex(key));
    await vault.delete([kid, "ffffffff"]);
    expect(vault.get(kid)).toBeUndefined();
    expect(readdirSync(directory)).not.toContain("cd.json");
    for (const name of readdirSync(directory))
      expect(readFileSync(join(directory, name), "utf8")).not.toContain(toHex(key));
  });

  it("keeps its folder 0700 and its shard files 0600", async () => {
    const vault = MemberKeyVault.open(directory);
    await vault.put("12345678", new Uint8Array(32).fill(7));
    expect(statSync(directory).mode & 0o777).toBe(0o700);
    expect(statSync(join(directory, "12.json")).mode & 0o777).toBe(0o600);
  });

  it("rejects the callers of a commit that cannot be written, and writes their shard with the next commit", async () => {
    const vault = MemberKeyVault.open(directory);
    // A folder where the temporary file must go: opening it for writing fails.
    mkdirSync(join(directory, "ef.json.tmp"));
    await expect(vault.put("ef000001", new Uint8Array(32).fill(3))).rejects.toThrow();
    rmSync(join(directory, "ef.json.tmp"), { recursive: true });
    await vault.put("01000000", new Uint8Array(32).fill(4));
    const reopened = MemberKeyVault.open(directory);
    expect(reopened.get("ef000001")).toEqual(new Uint8Array(32).fill(3));
    expect(reopened.get("01000000")).toEqual(new Uint8Array(32).fill(4));
  });
});
