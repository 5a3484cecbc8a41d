/**
 * CSV export of stored readings, streamed page by page from the database (keyset pages, so memory
 * stays flat however many rows there are). Columns: the data-set columns of the field table, then
 * device, stream, index, session, frame sequence number and arrival time.
 * @module
 */
import { createWriteStream } from "node:fs";
import { once } from "node:events";
import type { Writable } from "node:stream";
import { READING_FIELDS } from "../../telemetry";
import { CollectorError } from "./errors";
import { readingsQuerySchema } from "./http/readings-query";
import { ReadingStore } from "./storage/reading-store";
import type { SqlEngine } from "./storage/sql-engine";

const PAGE = 1000;

export const CSV_COLUMNS = [
  "device_id",
  "stream_id",
  "reading_index",
  ...READING_FIELDS.map((f) => f.column),
  "session_id",
  "frame_seq",
  "received_at",
];

export interface ExportOptions {
  /** File path, or "-" for stdout. */
  out: string;
  device?: string;
  from?: string;
  to?: string;
}

/**
 * Writes the matching readings as CSV.
 * @returns the number of readings written
 * @throws CollectorError E_VALIDATION on a bad device ID or time
 */
export async function exportCsv(db: SqlEngine, options: ExportOptions): Promise<number> {
  const parsed = readingsQuerySchema.safeParse({
    ...(options.device === undefined ? {} : { device: options.device }),
    ...(options.from === undefined ? {} : { from: options.from }),
    ...(options.to === undefined ? {} : { to: options.to }),
  });
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new CollectorError(
      "E_VALIDATION",
      `${issue?.path.join(".") ?? "option"}: ${issue?.message ?? "invalid"}`,
    );
  }
  const q = parsed.data;
  const store = new ReadingStore(db);
  const out: Writable =
    options.out === "-" ? process.stdout : createWriteStream(options.out, { mode: 0o600 });
  const write = async (line: string) => {
    if (!out.write(line)) await once(out, "drain");
  };
  let n = 0;
  await write(`${CSV_COLUMNS.join(",")}\n`);
  let after: { timeMs: number; id: number } | undefined;
  for (;;) {
    const rows = await store.page({
      limit: PAGE,
      ...(q.device === undefined ? {} : { deviceId: q.device }),
      ...(q.from === undefined ? {} : { fromMs: q.from }),
      ...(q.to === undefined ? {} : { toMs: q.to }),
      ...(after ? { after } : {}),
    });
    for (const r of rows)
      await write(
        `${[r.deviceId, r.streamId, r.index, ...READING_FIELDS.map((f) => r[f.name]), r.sessionId, r.frameSeq, r.receivedAt].join(",")}\n`,
      );
    n += rows.length;
    const last = rows[rows.length - 1];
    if (rows.length < PAGE || !last) break;
    after = { timeMs: last.deviceTimeMs, id: last.id };
  }
  if (out !== process.stdout) {
    out.end();
    await once(out, "finish");
  }
  return n;
}
