/**
 * The collector's schema, as numbered migrations applied in order and recorded in
 * `schema_migrations` (docs/telemetry.md § Storage). The same SQL runs on PGlite and PostgreSQL.
 * A migration is never edited once released: a change is a new migration.
 * @module
 */
import type { SqlEngine } from "./sql-engine";

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: "readings",
    sql: `
      create table readings (
        id bigint generated always as identity,
        device_id bytea not null check (octet_length(device_id) = 32),
        stream_id bytea not null check (octet_length(stream_id) = 8),
        reading_index bigint not null check (reading_index between 0 and 4294967294),
        device_time_ms bigint not null,
        heart_rate_bpm smallint not null,
        spo2_percent smallint not null,
        systolic_mmhg smallint not null,
        diastolic_mmhg smallint not null,
        temperature_centi_c smallint not null,
        respiratory_rate_per_min smallint not null,
        session_id bytea not null check (octet_length(session_id) = 8),
        frame_seq bigint not null,
        received_at timestamptz not null default now(),
        -- A reading's own identity: a re-sent reading (new frame, maybe a new session) is the same row.
        primary key (device_id, stream_id, reading_index),
        unique (id)
      );
      create index readings_by_device_time on readings (device_id, device_time_ms, id);
      create index readings_by_time on readings (device_time_ms, id);
    `,
  },
];

/** Arbitrary fixed key of the advisory lock that serialises collectors migrating one database. */
const MIGRATION_LOCK = 0x10760e;

/**
 * Applies the migrations the database has not seen, each in its own transaction with its record.
 * Idempotent; two collectors starting at once wait for each other.
 * @returns the versions applied now
 */
export async function migrate(
  db: SqlEngine,
  migrations: readonly Migration[] = MIGRATIONS,
): Promise<number[]> {
  await db.query(
    `create table if not exists schema_migrations (
       version integer primary key,
       name text not null,
       applied_at timestamptz not null default now()
     )`,
  );
  const applied: number[] = [];
  for (const m of migrations) {
    const done = await db.transaction(async (tx) => {
      await tx.query("select pg_advisory_xact_lock($1)", [MIGRATION_LOCK]);
      const seen = await tx.query("select 1 from schema_migrations where version = $1", [m.version]);
      if (seen.rows.length > 0) return false;
      for (const statement of splitStatements(m.sql)) await tx.query(statement);
      await tx.query("insert into schema_migrations (version, name) values ($1, $2)", [m.version, m.name]);
      return true;
    });
    if (done) applied.push(m.version);
  }
  return applied;
}

/** Statements of a migration (extended-protocol queries take one at a time). */
function splitStatements(sql: string): string[] {
  return sql
    .split(/;\s*(?:\n|$)/)
    .map((s) => s.replace(/--.*$/gm, "").trim())
    .filter((s) => s.length > 0);
}
