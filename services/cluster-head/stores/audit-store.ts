/**
 * The head's audit log: what it refused and why (grant warnings), and which operator enrolled,
 * revoked or rotated what and managed which operator; keyed by time so that rows past their
 * retention are dropped with one range delete.
 */
import { type RandomSource, toHex } from "../../../protocol";
import type { HeadDatabase } from "./database";

export interface AuditEntry {
  at: number;
  event: string;
  [field: string]: unknown;
}

/** Rows deleted per batch by {@link AuditStore.prune}: other writes run between two. */
const PRUNE_CHUNK = 2_000;

/** Time first, zero-padded, so key order is time order. */
function timeKey(at: number): string {
  return at.toString().padStart(15, "0");
}

export class AuditStore {
  constructor(
    private readonly database: HeadDatabase,
    private readonly random: RandomSource,
  ) {}

  /** Appends a row; `durable` fsyncs it before returning (operator actions). */
  async record(entry: AuditEntry, options: { durable?: boolean } = {}): Promise<void> {
    const key = `${timeKey(entry.at)}-${toHex(this.random(4))}`;
    await this.database.batch([{ type: "put", sublevel: "audit", key, value: entry }], options);
  }

  /** The newest `limit` rows, newest first. */
  async latest(limit = 100): Promise<AuditEntry[]> {
    const rows: AuditEntry[] = [];
    for await (const value of this.database.sub.audit.values({ reverse: true, limit }))
      rows.push(value as AuditEntry);
    return rows;
  }

  /** Rows in time order (oldest first), at most `limit`. */
  list(limit = 1000): Promise<AuditEntry[]> {
    return this.database.values<AuditEntry>("audit", limit);
  }

  /** Deletes rows recorded before `before`, {@link PRUNE_CHUNK} per batch; returns how many. */
  async prune(before: number): Promise<number> {
    let pruned = 0;
    for (;;) {
      const keys = await this.database.sub.audit.keys({ lt: timeKey(before), limit: PRUNE_CHUNK }).all();
      if (keys.length === 0) return pruned;
      // Deleted through the database's write path, so a failed write (a full disk) is noticed.
      await this.database.batch(
        keys.map((key) => ({ type: "del" as const, sublevel: "audit" as const, key })),
      );
      pruned += keys.length;
    }
  }
}
