/**
 * One SQL interface over the collector's two PostgreSQL engines: embedded PGlite (a WASM build of
 * PostgreSQL in the data directory) and a PostgreSQL server through `pg`. The migrations and every
 * query are the same text for both (docs/telemetry.md § Storage).
 * @module
 */

/** Result rows of a query. */
export interface QueryResult<T> {
  rows: T[];
  /** Rows inserted, updated or deleted by the statement. */
  affectedRows: number;
}

/** Something that runs parameterised SQL: the engine or one transaction of it. */
export interface Queryable {
  query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<QueryResult<T>>;
}

/** An open database. */
export interface SqlEngine extends Queryable {
  readonly kind: "pglite" | "postgres";
  /** The schema every unqualified name resolves to (search_path). */
  readonly schema: string;
  /**
   * Runs `work` in one transaction: committed when it resolves, rolled back when it throws.
   * @throws what `work` or the database throws
   */
  transaction<T>(work: (tx: Queryable) => Promise<T>): Promise<T>;
  /** Closes the database; idempotent. */
  close(): Promise<void>;
}

/** A PostgreSQL identifier we accept for a schema name (no quoting games). */
export const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

/** Checks a schema name; a programming error otherwise (config validates it first). */
export function checkSchemaName(schema: string): string {
  if (!SCHEMA_NAME.test(schema)) throw new RangeError("schema: expected a lower-case SQL identifier");
  return schema;
}
