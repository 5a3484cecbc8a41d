/** The machine's PostgreSQL for collector tests: each test gets its own schema and drops it. */
import { randomBytes } from "node:crypto";
import pg from "pg";

/** The development and CI server (trust auth, database `test`). */
export const TEST_DATABASE_URL =
  process.env.IOTGUARD_TEST_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test";

/** A fresh schema name, unique per call. */
export function testSchemaName(): string {
  return `t_${randomBytes(6).toString("hex")}`;
}

/** Fails (never skips) with how to start the server when it is unreachable. */
export async function requirePostgres(url = TEST_DATABASE_URL): Promise<void> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5_000 });
  try {
    await client.connect();
    await client.query("select 1");
  } catch (error) {
    throw new Error(
      `PostgreSQL is not reachable at ${url} (${(error as Error).message}): start the machine's server (127.0.0.1:5432, trust auth, database test) or set IOTGUARD_TEST_DATABASE_URL`,
    );
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Drops a test schema and everything in it. */
export async function dropSchema(schema: string, url = TEST_DATABASE_URL): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(`drop schema if exists ${schema} cascade`);
  } finally {
    await client.end();
  }
}

/** True when the schema exists. */
export async function schemaExists(schema: string, url = TEST_DATABASE_URL): Promise<boolean> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const r = await client.query("select 1 from information_schema.schemata where schema_name = $1", [
      schema,
    ]);
    return r.rows.length > 0;
  } finally {
    await client.end();
  }
}
