/**
 * One level database on disk with a fixed set of JSON sublevels: the storage layer of the cluster
 * head and of the device. A state change that spans sublevels is one atomic batch; a write the
 * protocol relies on across a power cut is `durable` (LevelDB's fsync of its log).
 *
 * level 10 on Node is classic-level 3; its `sync` write option and `compactRange` are used here.
 * @module
 */
import { chmodSync, mkdirSync } from "node:fs";
import { setImmediate } from "node:timers";
import type { ClassicLevel } from "classic-level";
import { Level } from "level";

/** The root database: string keys, JSON values. */
export type JsonLevel = Level<string, unknown>;

function jsonSublevel(db: JsonLevel, name: string) {
  return db.sublevel<string, unknown>(name, { valueEncoding: "json" });
}

/** One JSON sublevel of a {@link JsonLevel}. */
export type JsonSublevel = ReturnType<typeof jsonSublevel>;

/** One write of a {@link LevelDatabase.batch}, addressed by sublevel name. */
export type LevelBatchOperation<N extends string> =
  { type: "put"; sublevel: N; key: string; value: unknown } | { type: "del"; sublevel: N; key: string };

/** Options of every write. */
export interface LevelWriteOptions {
  /**
   * fsync before resolving, so the write also survives a power cut (not only a crash of the
   * process). Slower: for what the protocol relies on (consumed challenges, replay keys,
   * sequence reservations, memberships and their ends).
   */
  durable?: boolean;
}

/** Counters of {@link LevelDatabase.batch}: calls, and the level writes that carried them. */
export interface WriteStats {
  /** `batch` calls with at least one operation (`put` and `del` included). */
  calls: number;
  /** Level batches written: one per group of calls made in one event-loop turn. */
  writes: number;
  /** Of `writes`, those fsynced (some call of the group was durable). */
  durableWrites: number;
}

/** One level write, as told to {@link LevelDatabase.observeWrites} listeners once it is on disk. */
export interface LevelWrite {
  /** Operations in the write (every caller's of the group). */
  operations: number;
  /** Whether it was fsynced. */
  durable: boolean;
}

/** An operation level would refuse, with the code abstract-level gives the same mistake. */
export class LevelOperationError extends Error {
  constructor(
    readonly code: "LEVEL_INVALID_KEY" | "LEVEL_INVALID_VALUE",
    message: string,
  ) {
    super(message);
    this.name = "LevelOperationError";
  }
}

/** The batches asked for in one event-loop turn, written together. */
interface WriteGroup<N extends string> {
  operations: LevelBatchOperation<N>[];
  durable: boolean;
  waiters: { resolve: () => void; reject: (error: unknown) => void }[];
}

/** The database could not be opened: corrupt, locked by another process, or unreadable. */
export class LevelOpenError extends Error {
  readonly code = "E_STORAGE";

  /**
   * @param location - the database directory
   * @param reason - level's own explanation (from the error's cause when it has one)
   */
  constructor(
    readonly location: string,
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(`the level database at ${location} cannot be opened (${reason})`, options);
    this.name = "LevelOpenError";
  }
}

/** level on Node is classic-level; its universal typings leave out classic-level's own methods. */
function isClassicLevel(db: JsonLevel): db is JsonLevel & ClassicLevel<string, unknown> {
  return "compactRange" in db && typeof db.compactRange === "function";
}

/**
 * A chained batch seen through the private API that abstract-level defines for implementations
 * (`_put`, `_del`, `_write` take keys and values already encoded); `close` is public.
 */
interface EncodedBatch {
  _put(key: string, value: string): void;
  _del(key: string): void;
  _write(options: { sync: boolean }): Promise<void>;
  close(): Promise<void>;
}

/**
 * classic-level's native chained batch, when `db` is classic-level with no prewrite hook and no
 * write listener (both of which the encoded path would skip); otherwise undefined.
 *
 * Why: abstract-level's public `batch` clones every operation with two object spreads, which V8
 * (Node 20) runs on its slow runtime path: ~31 µs of CPU per operation against ~9 µs for the same
 * write through the native batch (`npx tsx bench/lib/level-write-ab.ts`, 2026-11-28), and a grant
 * writes several operations.
 */
function encodedBatchOf(db: JsonLevel): EncodedBatch | undefined {
  if (!isClassicLevel(db) || db.status !== "open") return undefined;
  // abstract-level sets `noop` on a hook without functions; its typings leave it out.
  const prewriteUnused = (db.hooks.prewrite as unknown as { noop?: boolean }).noop === true;
  if (!prewriteUnused || db.listenerCount("write") > 0) return undefined;
  const make = (db as unknown as { _chainedBatch?: () => unknown })._chainedBatch;
  if (typeof make !== "function") return undefined;
  const batch = make.call(db) as Partial<EncodedBatch>;
  const usable =
    typeof batch._put === "function" &&
    typeof batch._del === "function" &&
    typeof batch._write === "function" &&
    typeof batch.close === "function";
  return usable ? (batch as EncodedBatch) : undefined;
}

/**
 * Open (creating when needed) a JSON level database at `location`. `privateDir` (default:
 * `location` itself) is created and made 0700 first: level creates its files with the process
 * umask, and these databases hold member keys and wrapped secrets.
 * @throws LevelOpenError when level cannot open it (another process holds its lock, corrupt files)
 */
export async function openJsonLevel(
  location: string,
  options: { privateDir?: string } = {},
): Promise<JsonLevel> {
  const privateDir = options.privateDir ?? location;
  mkdirSync(privateDir, { recursive: true, mode: 0o700 });
  chmodSync(privateDir, 0o700); // mkdir leaves an existing directory's mode alone
  const db = new Level<string, unknown>(location, { valueEncoding: "json" });
  try {
    await db.open();
  } catch (error) {
    // level's open error says only "Database failed to open"; the backend's reason is its cause.
    const cause = error instanceof Error && error.cause instanceof Error ? error.cause : error;
    throw new LevelOpenError(location, cause instanceof Error ? cause.message : String(cause), {
      cause: error,
    });
  }
  return db;
}

/**
 * An open level database and its JSON sublevels, generic over the sublevel names `N`.
 * Subclasses add a domain `open` (where the database lives, which error to raise).
 * @example
 * const db = new LevelDatabase(await openJsonLevel(dir), ["users", "audit"] as const);
 * await db.batch([{ type: "put", sublevel: "users", key: "a", value: { n: 1 } }], { durable: true });
 */
export class LevelDatabase<N extends string> {
  /** The sublevels by name (for iterators and ranges the typed helpers below do not cover). */
  readonly sub: Readonly<Record<N, JsonSublevel>>;
  /**
   * Set when a write failed with an I/O error (a full disk): LevelDB may have left a torn record
   * at the end of its log, and records appended after it would be dropped when the log is
   * replayed at the next open, so acknowledged writes would vanish at a restart (seen on a full
   * tmpfs). Nothing is written until the database has been reopened onto a fresh log.
   */
  #writeFailed = false;
  #reopening: Promise<void> | undefined;
  /** The group gathering this turn's batches; written when the write in flight (if any) is done. */
  #next: WriteGroup<N> | undefined;
  /** Whether a group is being written now (one at a time, so groups land in order). */
  #writing = false;
  /** Callers of {@link close} waiting for the last group. */
  readonly #idle: (() => void)[] = [];
  readonly #stats: WriteStats = { calls: 0, writes: 0, durableWrites: 0 };
  readonly #writeListeners = new Set<(write: LevelWrite) => void>();

  /**
   * @param db - an open database (see {@link openJsonLevel}); closed by {@link close}
   * @param sublevels - every sublevel name; values are JSON
   */
  constructor(
    readonly db: JsonLevel,
    sublevels: readonly N[],
  ) {
    // fromEntries loses the key type; the keys are exactly `sublevels`.
    this.sub = Object.fromEntries(sublevels.map((name) => [name, jsonSublevel(db, name)])) as Record<
      N,
      JsonSublevel
    >;
  }

  /** The value under `key`, or undefined. `T` is the caller's record type (JSON is not checked). */
  async get<T>(sublevel: N, key: string): Promise<T | undefined> {
    if (this.#writeFailed) await this.#reopen();
    return (await this.sub[sublevel].get(key)) as T | undefined;
  }

  /** Write one value. */
  async put(sublevel: N, key: string, value: unknown, options: LevelWriteOptions = {}): Promise<void> {
    await this.batch([{ type: "put", sublevel, key, value }], options);
  }

  /** Delete one key (absent keys are fine). */
  async del(sublevel: N, key: string, options: LevelWriteOptions = {}): Promise<void> {
    await this.batch([{ type: "del", sublevel, key }], options);
  }

  /**
   * Write `operations` atomically: all or none survive a crash (and a power cut when durable).
   *
   * Group commit: the batches asked for in one event-loop turn are written as one level batch
   * (fsynced when any of them is durable) once the write before it has finished, and every caller's
   * promise settles only after that write: it resolves when the group is on disk and rejects, for
   * every caller of the group, when the write fails (then none of it was acknowledged). Each
   * caller's operations stay atomic, being inside one atomic batch, and a later group is written
   * only after an earlier one, so a later turn's put of a key wins. A durable caller is never
   * resolved by a write that was not fsynced.
   */
  batch(operations: readonly LevelBatchOperation<N>[], options: LevelWriteOptions = {}): Promise<void> {
    if (operations.length === 0) return Promise.resolve();
    this.#stats.calls++;
    let group = this.#next;
    if (!group) {
      group = { operations: [], durable: false, waiters: [] };
      this.#next = group;
      if (!this.#writing) setImmediate(() => void this.#flush());
    }
    for (const op of operations) group.operations.push(op);
    if (options.durable === true) group.durable = true;
    const waiters = group.waiters;
    return new Promise<void>((resolve, reject) => void waiters.push({ resolve, reject }));
  }

  /** Writes the waiting group, then the one that gathered meanwhile (in the next turn), one at a time. */
  async #flush(): Promise<void> {
    const group = this.#next;
    if (!group || this.#writing) return;
    this.#next = undefined;
    this.#writing = true;
    try {
      await this.#write(group);
      for (const waiter of group.waiters) waiter.resolve();
    } catch (error) {
      for (const waiter of group.waiters) waiter.reject(error);
    } finally {
      this.#writing = false;
      if (this.#next) setImmediate(() => void this.#flush());
      else for (const idle of this.#idle.splice(0)) idle();
    }
  }

  async #write(group: WriteGroup<N>): Promise<void> {
    if (this.#writeFailed) await this.#reopen();
    this.#stats.writes++;
    if (group.durable) this.#stats.durableWrites++;
    try {
      // classic-level's WriteOptions.sync: LevelDB fsyncs its log before the batch resolves.
      const encoded = encodedBatchOf(this.db);
      if (encoded) await this.#writeEncoded(encoded, group.operations, group.durable);
      else
        await this.db.batch(
          group.operations.map((op) =>
            op.type === "put"
              ? { type: "put" as const, sublevel: this.sub[op.sublevel], key: op.key, value: op.value }
              : { type: "del" as const, sublevel: this.sub[op.sublevel], key: op.key },
          ),
          { sync: group.durable },
        );
    } catch (error) {
      if ((error as { code?: unknown }).code === "LEVEL_IO_ERROR") this.#writeFailed = true;
      throw error;
    }
    const write: LevelWrite = { operations: group.operations.length, durable: group.durable };
    for (const listener of this.#writeListeners) listener(write);
  }

  /**
   * Writes `operations` through classic-level's native batch, encoded as the sublevels would:
   * the key behind the sublevel's prefix, the value as JSON (what level's `json` encoding stores).
   * One atomic LevelDB write, like the public path; the batch is closed either way.
   */
  async #writeEncoded(
    batch: EncodedBatch,
    operations: readonly LevelBatchOperation<N>[],
    durable: boolean,
  ): Promise<void> {
    try {
      for (const op of operations) {
        const sublevel = this.sub[op.sublevel];
        if (typeof op.key !== "string" || op.key.length === 0)
          throw new LevelOperationError(
            "LEVEL_INVALID_KEY",
            `a ${op.sublevel} key must be a non-empty string`,
          );
        const key = sublevel.prefixKey(op.key, "utf8");
        if (op.type === "del") {
          batch._del(key);
          continue;
        }
        const value = op.value === undefined ? undefined : JSON.stringify(op.value);
        if (value === undefined)
          throw new LevelOperationError(
            "LEVEL_INVALID_VALUE",
            `a ${op.sublevel} value must be JSON, not undefined`,
          );
        batch._put(key, value);
      }
      await batch._write({ sync: durable });
    } finally {
      await batch.close();
    }
  }

  /**
   * Calls `listener` after every level write that succeeded (a group of {@link batch} calls), with
   * its size and whether it was fsynced. Returns a function that removes the listener.
   */
  observeWrites(listener: (write: LevelWrite) => void): () => void {
    this.#writeListeners.add(listener);
    return () => void this.#writeListeners.delete(listener);
  }

  /**
   * How many {@link batch} calls (with at least one operation) there were, and how many level
   * writes (and fsynced ones) they took: calls / writes is what group commit saved.
   */
  get writeStats(): Readonly<WriteStats> {
    return { ...this.#stats };
  }

  /** Resolves once no group is waiting or being written. */
  #settled(): Promise<void> {
    if (!this.#writing && !this.#next) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  /** Whether a write failed and the database waits to be reopened (by the next write). */
  get writeFailed(): boolean {
    return this.#writeFailed;
  }

  /**
   * Closes and reopens the database after a failed write: LevelDB replays its log up to the torn
   * record and starts a fresh one. While the disk is still full the open fails and the database
   * stays closed (reads through `sub` fail too, with LEVEL_DATABASE_NOT_OPEN); the next `get`,
   * `values`, `entries` or `batch` tries again.
   * Concurrent callers share one attempt.
   * @throws the open error while the disk is still full
   */
  async #reopen(): Promise<void> {
    this.#reopening ??= (async () => {
      try {
        if (this.db.status === "open") await this.db.close();
        await this.db.open();
        // A sublevel closed with its parent does not reopen with it.
        for (const sub of Object.values<JsonSublevel>(this.sub)) if (sub.status !== "open") await sub.open();
        this.#writeFailed = false;
      } finally {
        this.#reopening = undefined;
      }
    })();
    await this.#reopening;
  }

  /** Every entry of a sublevel in key order (small sublevels only). */
  async entries<T>(sublevel: N): Promise<[string, T][]> {
    if (this.#writeFailed) await this.#reopen();
    return (await this.sub[sublevel].iterator().all()) as [string, T][];
  }

  /** Up to `limit` values of a sublevel in key order (for listings; not on hot paths). */
  async values<T>(sublevel: N, limit = 10_000): Promise<T[]> {
    if (this.#writeFailed) await this.#reopen();
    return (await this.sub[sublevel].values({ limit }).all()) as T[];
  }

  /**
   * Ask LevelDB to rewrite the files that hold `sublevel`, so that deleted values stop lingering
   * in the write-ahead log and older tables (best effort: LevelDB decides what it rewrites).
   */
  async compact(sublevel: N): Promise<void> {
    if (!isClassicLevel(this.db)) return; // another backend: nothing to ask
    const prefix = this.sub[sublevel].prefix; // "!name!": every key of the sublevel starts with it
    await this.db.compactRange(prefix, `${prefix}\uffff`);
  }

  /** Close the database (and its sublevels), once the batches already asked for are written. */
  async close(): Promise<void> {
    await this.#settled();
    await this.db.close();
  }
}
