/**
 * The server engine: a `pg` pool. The search path is a connection option, so every pooled
 * connection uses the collector's schema. Connection and statement timeouts keep a vanished server
 * from hanging a flush: the flush fails, nothing is acknowledged, and it is retried.
 * @module
 */
import pg from "pg";
import { checkSchemaName, type Queryable, type QueryResult, type SqlEngine } from "./sql-engine";

/** Milliseconds to wait for a connection or a statement before the attempt counts as failed. */
const CONNECT_TIMEOUT_MS = 5_000;
const STATEMENT_TIMEOUT_MS = 30_000;

function wrap(client: Pick<pg.Pool | pg.PoolClient, "query">): Queryable {
  return {
    async query<T>(sql: string, params: unknown[] = []): Promise<QueryResult<T>> {
      const r = await client.query(sql, params);
      return { rows: r.rows as T[], affectedRows: r.rowCount ?? 0 };
    },
  };
}

/**
 * Opens a pool to `url` and creates `schema` when missing.
 * @param onError - errors of idle connections (the server went away); the next query fails and retries
 * @throws the connection error when the server cannot be reached
 */
export async function openPostgresEngine(
  url: string,
  schema: string,
  onError: (error: Error) => void = () => undefined,
): Promise<SqlEngine> {
  checkSchemaName(schema);
  const pool = new pg.Pool({
    connectionString: url,
    max: 4,
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    query_timeout: STATEMENT_TIMEOUT_MS,
    options: `-c search_path=${schema}`,
  });
  pool.on("error", onError);
  try {
    await pool.query(`create schema if not exists ${schema}`);
  } catch (error) {
    await pool.end().catch(() => undefined);
    throw error;
  }
  let closed = false;
  return {
    kind: "postgres",
    schema,
    ...wrap(pool),
    async transaction(work) {
      const client = await pool.connect();
      let broken = false;
      try {
        await client.query("begin");
        const result = await work(wrap(client));
        await client.query("commit");
        return result;
      } catch (error) {
        await client.query("rollback").catch(() => {
          broken = true;
        });
        throw error;
      } finally {
        // A connection that could not even roll back is discarded, not reused.
        client.release(broken);
      }
    },
    async close() {
      if (closed) return;
      closed = true;
      await pool.end();
    },
  };
}
