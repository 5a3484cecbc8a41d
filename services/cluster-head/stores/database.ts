/**
 * The cluster head's level database: one store on disk, one sublevel per kind of record, so that
 * a state change that spans kinds (an event batch and the index cursor, a grant and its replay
 * key) is written in one atomic batch. The generic parts live in platform/level-database.ts.
 */
import {
  type JsonLevel,
  type JsonSublevel,
  type LevelBatchOperation,
  LevelDatabase,
  LevelOpenError,
  openJsonLevel,
} from "../../../platform/level-database";

/** Every sublevel the head uses; values are JSON. */
export const SUBLEVELS = [
  "index-devices",
  "index-clusters",
  "index-meta",
  "index-blocks",
  "pending-transactions",
  "members",
  "member-kids",
  "challenges",
  "grant-requests",
  "sessions",
  "audit",
  "operators",
] as const;
export type SublevelName = (typeof SUBLEVELS)[number];

export type { JsonLevel };
/** One of the head's sublevels. */
export type Sublevel = JsonSublevel;

/** The database could not be opened: corrupt, locked by another head, or unreadable. */
export class DatabaseOpenError extends Error {
  readonly code = "E_STORAGE";
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "DatabaseOpenError";
  }
}

/**
 * An open head database and its sublevels: typed `get` / `values`, atomic `batch` (with
 * `{ durable: true }` for what the protocol relies on) and `compact`.
 */
export class HeadDatabase extends LevelDatabase<SublevelName> {
  private constructor(db: JsonLevel) {
    super(db, SUBLEVELS);
  }

  /**
   * Opens (creating when needed) the database in `directory`. The directory is made 0700: it
   * holds member keys, and level creates its files with the process umask.
   * @throws DatabaseOpenError E_STORAGE, saying how to recover
   */
  static async open(directory: string): Promise<HeadDatabase> {
    try {
      return new HeadDatabase(await openJsonLevel(directory));
    } catch (error) {
      if (!(error instanceof LevelOpenError)) throw error;
      throw new DatabaseOpenError(
        `the head's database at ${directory} cannot be opened (${error.reason}); restore the data directory from a backup, ` +
          "or move it away to start over (the index is rebuilt from the chain, members must join again)",
        { cause: error },
      );
    }
  }
}

/** One write of {@link HeadDatabase.batch}. */
export type BatchOperation = LevelBatchOperation<SublevelName>;
