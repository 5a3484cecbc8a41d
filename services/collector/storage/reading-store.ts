/**
 * Readings in the database: batched inserts stored exactly once, the acknowledgement frontier of a
 * stream, and keyset-paginated reads (docs/telemetry.md § Storage).
 * @module
 */
import { READING_FIELDS, type Reading } from "../../../telemetry";
import type { Queryable, SqlEngine } from "./sql-engine";

/** One reading with its identity and where it came from. */
export interface StoredReading extends Reading {
  /** 32-byte device ID, from the session the frame arrived on (never from the payload). */
  deviceId: Uint8Array;
  streamId: Uint8Array;
  index: number;
  /** The session and frame sequence number that delivered it (the first delivery that was stored). */
  sessionId: Uint8Array;
  frameSeq: bigint;
}

/** A row read back. */
export interface ReadingRow extends Reading {
  id: number;
  deviceId: string;
  streamId: string;
  index: number;
  sessionId: string;
  frameSeq: string;
  receivedAt: string;
}

/** Filter and page of {@link ReadingStore.page}. */
export interface ReadingQuery {
  /** 64 hex. */
  deviceId?: string;
  /** Device time bounds, ms, inclusive from, exclusive to. */
  fromMs?: number;
  toMs?: number;
  limit: number;
  /** Continue after this (device time, id) position. */
  after?: { timeMs: number; id: number };
}

const VALUE_COLUMNS = READING_FIELDS.map((f) => f.column);
const INSERT_COLUMNS = [
  "device_id",
  "stream_id",
  "reading_index",
  ...VALUE_COLUMNS,
  "session_id",
  "frame_seq",
] as const;
/** Indexes read per step of {@link ReadingStore.frontier}. */
const FRONTIER_PAGE = 5000;
/** Rows per INSERT statement: 13 parameters each stays far below PostgreSQL's 65,535. */
export const ROWS_PER_STATEMENT = 1000;

function insertSql(rows: number): string {
  const width = INSERT_COLUMNS.length;
  const tuples: string[] = [];
  for (let r = 0; r < rows; r++)
    tuples.push(`(${INSERT_COLUMNS.map((_, c) => `$${r * width + c + 1}`).join(", ")})`);
  return `insert into readings (${INSERT_COLUMNS.join(", ")}) values ${tuples.join(", ")}
          on conflict (device_id, stream_id, reading_index) do nothing`;
}

function params(r: StoredReading): unknown[] {
  return [
    r.deviceId,
    r.streamId,
    r.index,
    ...READING_FIELDS.map((f) => r[f.name]),
    r.sessionId,
    r.frameSeq.toString(),
  ];
}

const toHex = (b: Uint8Array) => Buffer.from(b).toString("hex");

const SELECT = `select id, device_id, stream_id, reading_index, ${VALUE_COLUMNS.join(", ")},
                       session_id, frame_seq::text as frame_seq, received_at from readings`;

function rowOf(r: Record<string, unknown>): ReadingRow {
  const reading = Object.fromEntries(
    READING_FIELDS.map((f) => [f.name, Number(r[f.column])]),
  ) as unknown as Reading;
  return {
    id: Number(r.id),
    deviceId: toHex(r.device_id as Uint8Array),
    streamId: toHex(r.stream_id as Uint8Array),
    index: Number(r.reading_index),
    ...reading,
    sessionId: toHex(r.session_id as Uint8Array),
    frameSeq: String(r.frame_seq),
    receivedAt: new Date(r.received_at as string | Date).toISOString(),
  };
}

export class ReadingStore {
  constructor(readonly db: SqlEngine) {}

  /**
   * Stores the readings in one transaction; a reading already stored (same device, stream and
   * index) is left as it is. All or nothing.
   * @returns how many rows were new
   */
  async insert(readings: readonly StoredReading[]): Promise<number> {
    if (readings.length === 0) return 0;
    return this.db.transaction(async (tx) => {
      let inserted = 0;
      for (let i = 0; i < readings.length; i += ROWS_PER_STATEMENT) {
        const chunk = readings.slice(i, i + ROWS_PER_STATEMENT);
        const r = await tx.query(insertSql(chunk.length), chunk.flatMap(params));
        inserted += r.affectedRows;
      }
      return inserted;
    });
  }

  /**
   * The first index of the stream not stored, given that every index below `known` is: readings
   * 0 … result − 1 are all in the database. Walks the primary key from `known` in pages, so the
   * cost is the rows stored since the last call, not the stream's length.
   */
  async frontier(
    deviceId: Uint8Array,
    streamId: Uint8Array,
    known = 0,
    q: Queryable = this.db,
  ): Promise<number> {
    let next = known;
    for (;;) {
      const r = await q.query<{ reading_index: string | number }>(
        `select reading_index from readings
          where device_id = $1 and stream_id = $2 and reading_index >= $3
          order by reading_index limit ${FRONTIER_PAGE}`,
        [deviceId, streamId, next],
      );
      for (const row of r.rows) {
        if (Number(row.reading_index) !== next) return next;
        next++;
      }
      if (r.rows.length < FRONTIER_PAGE) return next;
    }
  }

  /** One page of readings ordered by device time, then storage order. */
  async page(query: ReadingQuery): Promise<ReadingRow[]> {
    const where: string[] = [];
    const args: unknown[] = [];
    const arg = (v: unknown) => {
      args.push(v);
      return `$${args.length}`;
    };
    if (query.deviceId !== undefined) where.push(`device_id = ${arg(Buffer.from(query.deviceId, "hex"))}`);
    if (query.fromMs !== undefined) where.push(`device_time_ms >= ${arg(query.fromMs)}`);
    if (query.toMs !== undefined) where.push(`device_time_ms < ${arg(query.toMs)}`);
    if (query.after !== undefined)
      where.push(`(device_time_ms, id) > (${arg(query.after.timeMs)}, ${arg(query.after.id)})`);
    const sql = `${SELECT} ${where.length ? `where ${where.join(" and ")}` : ""}
                 order by device_time_ms, id limit ${arg(query.limit)}`;
    return (await this.db.query(sql, args)).rows.map(rowOf);
  }

  /** Number of stored readings (of one device when given). */
  async count(deviceId?: string): Promise<number> {
    const r =
      deviceId === undefined
        ? await this.db.query<{ n: string | number }>("select count(*) as n from readings")
        : await this.db.query<{ n: string | number }>(
            "select count(*) as n from readings where device_id = $1",
            [Buffer.from(deviceId, "hex")],
          );
    return Number(r.rows[0]?.n ?? 0);
  }
}
