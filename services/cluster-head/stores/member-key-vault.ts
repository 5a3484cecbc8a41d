/**
 * Member keys K_m, kept apart from the level database so that ending a membership destroys its key.
 *
 * level deletes by appending a tombstone: the old value stays in the write-ahead log and in table
 * files until a compaction happens to rewrite them, and a superseded K_m read from there opens
 * every grant sealed under it (docs/threat-model.md § Forward secrecy). Here each key lives in one of
 * 256 small shard files (by the first byte of its key id) that is rewritten without the key and
 * atomically replaced: write a temporary file, fsync it, rename it over the shard, fsync the folder.
 * The folder is 0700 and the files 0600, like the head's other secrets.
 */
import { mkdirSync, readdirSync, readFileSync } from "node:fs";
import { open, rename, rm } from "node:fs/promises";
import { join } from "node:path";
import { fromHex, toHex } from "../../../protocol";

const SHARD_FILE = /^([0-9a-f]{2})\.json$/;
const KEY_HEX = /^[0-9a-f]{64}$/;

/** A shard file that is not what this store writes: the data directory was damaged or edited. */
export class MemberKeyVaultError extends Error {
  readonly code = "E_STORAGE";
  constructor(message: string) {
    super(message);
    this.name = "MemberKeyVaultError";
  }
}

/** A write that callers wait for; settled once by the commit that takes it. */
interface Commit {
  promise: Promise<void>;
  resolve(): void;
  reject(error: unknown): void;
}

function newCommit(): Commit {
  let resolve!: () => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  // Callers may all have gone (a failed join): an unobserved rejection must not end the process.
  promise.catch(() => undefined);
  return { promise, resolve, reject };
}

export class MemberKeyVault {
  /** kid (hex) → K_m (hex), by shard. */
  private readonly shards = new Map<string, Map<string, string>>();
  /** Shards changed in memory since the commit that is writing now began. */
  private readonly dirty = new Set<string>();
  /** The commit that will take the dirty shards, once the one writing now is done. */
  private queued: Commit | undefined;
  /** The commit writing now (resolved when none). */
  private writing: Promise<void> = Promise.resolve();
  /** Commits written and shard files written by them, for tests and metrics. */
  readonly stats = { commits: 0, shardWrites: 0 };

  private constructor(private readonly directory: string) {}

  /** Opens (creating when needed) the vault in `directory` and reads every shard. */
  static open(directory: string): MemberKeyVault {
    mkdirSync(directory, { recursive: true, mode: 0o700 });
    const vault = new MemberKeyVault(directory);
    for (const name of readdirSync(directory)) {
      const shard = SHARD_FILE.exec(name)?.[1];
      if (shard === undefined) continue; // a temporary file of an interrupted write: never renamed, ignored
      vault.shards.set(shard, parseShard(join(directory, name)));
    }
    return vault;
  }

  /** K_m of `kid`, or undefined. A fresh copy: the caller may wipe it. */
  get(kid: string): Uint8Array | undefined {
    const hex = this.shards.get(shardOf(kid))?.get(kid);
    return hex === undefined ? undefined : fromHex(hex);
  }

  /** Every key id in the vault. */
  kids(): string[] {
    return [...this.shards.values()].flatMap((entries) => [...entries.keys()]);
  }

  /** Stores K_m of `kid`; durable (fsynced) when it resolves. */
  async put(kid: string, memberKey: Uint8Array): Promise<void> {
    const shard = shardOf(kid);
    const entries = this.shards.get(shard) ?? new Map<string, string>();
    entries.set(kid, toHex(memberKey));
    this.shards.set(shard, entries);
    await this.persist(shard);
  }

  /** Destroys the keys of `kids` (unknown ones are ignored); durable when it resolves. */
  async delete(kids: Iterable<string>): Promise<void> {
    let touched = false;
    for (const kid of kids) {
      const shard = shardOf(kid);
      if (this.shards.get(shard)?.delete(kid)) {
        this.dirty.add(shard);
        touched = true;
      }
    }
    if (touched) await this.commitDirty();
  }

  private persist(shard: string): Promise<void> {
    this.dirty.add(shard);
    return this.commitDirty();
  }

  /**
   * Group commit: every change made while a commit is writing waits for the next one, which
   * rewrites each changed shard once (whatever number of keys changed in it) and fsyncs the folder
   * once. Under a burst of joins that is one folder fsync per round instead of one per key.
   */
  private commitDirty(): Promise<void> {
    if (this.queued) return this.queued.promise;
    const commit = newCommit();
    this.queued = commit;
    this.writing = this.writing.then(async () => {
      // From here on, changes go to the next commit: this one writes what memory holds now.
      this.queued = undefined;
      const shards = [...this.dirty];
      this.dirty.clear();
      try {
        await this.writeShards(shards);
        commit.resolve();
      } catch (error) {
        // Not written: these shards stay dirty, so the next commit tries them again.
        for (const shard of shards) this.dirty.add(shard);
        commit.reject(error);
      }
    });
    return commit.promise;
  }

  /** Each shard atomically (temporary file, fsync, rename), then one fsync of the folder. */
  private async writeShards(shards: string[]): Promise<void> {
    await Promise.all(shards.map((shard) => this.writeShard(shard)));
    await syncDirectory(this.directory);
    this.stats.commits++;
    this.stats.shardWrites += shards.length;
  }

  private async writeShard(shard: string): Promise<void> {
    const file = join(this.directory, `${shard}.json`);
    const entries = this.shards.get(shard);
    if (!entries || entries.size === 0) {
      await rm(file, { force: true });
      return;
    }
    const temporary = `${file}.tmp`;
    const handle = await open(temporary, "w", 0o600);
    try {
      await handle.writeFile(JSON.stringify(Object.fromEntries(entries)));
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temporary, file);
  }
}

function shardOf(kid: string): string {
  return kid.slice(0, 2);
}

function parseShard(file: string): Map<string, string> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, "utf8"));
  } catch {
    throw new MemberKeyVaultError(
      `member key file ${file} is not readable JSON; restore the data directory from a backup`,
    );
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed))
    throw new MemberKeyVaultError(`member key file ${file} is not an object of key ids`);
  const entries = new Map<string, string>();
  for (const [kid, key] of Object.entries(parsed)) {
    if (!/^[0-9a-f]{8}$/.test(kid) || typeof key !== "string" || !KEY_HEX.test(key))
      throw new MemberKeyVaultError(
        `member key file ${file} holds an entry that is not a key id and a 32-byte key`,
      );
    entries.set(kid, key);
  }
  return entries;
}

/** A rename is durable only once the folder that holds it is fsynced. */
async function syncDirectory(directory: string): Promise<void> {
  const handle = await open(directory, "r");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
