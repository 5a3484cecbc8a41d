/**
 * The embedded engine: PGlite with its files in the collector's data directory. One connection, so
 * the search path is set once; PGlite serialises transactions itself.
 * @module
 */
import { mkdirSync } from "node:fs";
import { PGlite } from "@electric-sql/pglite";
import { checkSchemaName, type Queryable, type QueryResult, type SqlEngine } from "./sql-engine";

function wrap(db: Pick<PGlite, "query">): Queryable {
  return {
    async query<T>(sql: string, params: unknown[] = []): Promise<QueryResult<T>> {
      const r = await db.query<T>(sql, params);
      return { rows: r.rows, affectedRows: r.affectedRows ?? 0 };
    },
  };
}

/**
 * Opens (creating when missing) the PGlite database in `dir`; `undefined` keeps it in memory.
 * @param schema - created when missing, then the search path
 */
export async function openPgliteEngine(dir: string | undefined, schema: string): Promise<SqlEngine> {
  checkSchemaName(schema);
  if (dir !== undefined) mkdirSync(dir, { recursive: true, mode: 0o700 });
  const db = await PGlite.create(dir);
  await db.exec(`create schema if not exists ${schema}; set search_path to ${schema}`);
  let closed = false;
  return {
    kind: "pglite",
    schema,
    ...wrap(db),
    transaction: (work) => db.transaction((tx) => work(wrap(tx))),
    async close() {
      if (closed) return;
      closed = true;
      await db.close();
    },
  };
}
