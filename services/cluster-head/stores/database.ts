/**
 * The cluster head's level database: one store on disk, one sublevel per kind of record, so that
 * a state change that spans kinds (an event batch and the index cursor, a grant and its replay
 * key) is written in one atomic batch.
 */
import { chmodSync, mkdirSync } from "node:fs";
import { Level } from "level";

/** Every sublevel the head uses; values are JSON. */
export const SUBLEVELS = [
  "index-devices",
  "index-clusters",
  "index-meta",
  "members",
  "member-kids",
  "challenges",
  "grant-requests",
  "sessions",
  "audit",
] as const;
export type SublevelName = (typeof SUBLEVELS)[number];

export type JsonLevel = Level<string, unknown>;
export type Sublevel = ReturnType<JsonLevel["sublevel"]>;

/** The database could not be opened: corrupt, locked by another head, or unreadable. */
export class DatabaseOpenError extends Error {
  readonly code = "E_STORAGE";
  constructor(message: string) {
    super(message);
    this.name = "DatabaseOpenError";
  }
}

/** An open head database and its sublevels. */
export class HeadDatabase {
  readonly sub: Record<SublevelName, Sublevel>;

  private constructor(readonly db: JsonLevel) {
    this.sub = Object.fromEntries(
      SUBLEVELS.map((name) => [name, db.sublevel<string, unknown>(name, { valueEncoding: "json" })]),
    ) as Record<SublevelName, Sublevel>;
  }

  /**
   * Opens (creating when needed) the database in `directory`. The directory is made 0700: it
   * holds member keys, and level creates its files with the process umask.
   */
  static async open(directory: string): Promise<HeadDatabase> {
    mkdirSync(directory, { recursive: true, mode: 0o700 });
    chmodSync(directory, 0o700);
    const db = new Level<string, unknown>(directory, { valueEncoding: "json" });
    try {
      await db.open();
    } catch (error) {
      const cause = (error as { cause?: Error }).cause?.message ?? (error as Error).message;
      throw new DatabaseOpenError(
        `the head's database at ${directory} cannot be opened (${cause}); restore the data directory from a backup, ` +
          "or move it away to start over (the index is rebuilt from the chain, members must join again)",
      );
    }
    return new HeadDatabase(db);
  }

  /**
   * Writes `operations` atomically: all or none survive a crash. With `durable`, the write is
   * fsynced before it resolves, so it also survives a power cut: for what the protocol relies on
   * (consumed challenges, grant replay keys, memberships and their ends).
   */
  async batch(operations: BatchOperation[], options: { durable?: boolean } = {}): Promise<void> {
    if (operations.length === 0) return;
    await this.db.batch(
      operations.map((op) =>
        op.type === "put"
          ? { type: "put" as const, sublevel: this.sub[op.sublevel], key: op.key, value: op.value }
          : { type: "del" as const, sublevel: this.sub[op.sublevel], key: op.key },
      ) as never,
      // classic-level's `sync` (fsync of the write-ahead log); level's batch typings omit it.
      { sync: options.durable === true } as object,
    );
  }

  /**
   * Asks level to rewrite the files that hold `sublevel`, so that deleted values stop lingering in
   * the write-ahead log and older tables (best effort: LevelDB decides what it rewrites).
   */
  async compact(sublevel: SublevelName): Promise<void> {
    const prefix = `!${sublevel}!`;
    // classic-level (level's Node backend) has compactRange; level's own typings do not list it.
    const db = this.db as unknown as { compactRange?: (start: string, end: string) => Promise<void> };
    await db.compactRange?.(prefix, `${prefix}\uffff`);
  }

  async get<T>(sublevel: SublevelName, key: string): Promise<T | undefined> {
    return (await this.sub[sublevel].get(key)) as T | undefined;
  }

  /** Every value of a sublevel, in key order (for listings; not on hot paths). */
  async values<T>(sublevel: SublevelName, limit = 10_000): Promise<T[]> {
    return (await this.sub[sublevel].values({ limit }).all()) as T[];
  }

  async close(): Promise<void> {
    await this.db.close();
  }
}

export type BatchOperation =
  | { type: "put"; sublevel: SublevelName; key: string; value: unknown }
  | { type: "del"; sublevel: SublevelName; key: string };
