/**
 * The head's audit log: what it refused and why (grant warnings), keyed by time so that rows past
 * their retention are dropped with one range delete.
 */
import { toHex } from "../../../protocol/bytes";
import type { RandomSource } from "../../../protocol/crypto/random";
import type { HeadDatabase } from "./database";

export interface AuditEntry {
  at: number;
  event: string;
  [field: string]: unknown;
}

/** Time first, zero-padded, so key order is time order. */
function timeKey(at: number): string {
  return at.toString().padStart(15, "0");
}

export class AuditStore {
  constructor(
    private readonly database: HeadDatabase,
    private readonly random: RandomSource,
  ) {}

  async record(entry: AuditEntry): Promise<void> {
    const key = `${timeKey(entry.at)}-${toHex(this.random(4))}`;
    await this.database.batch([{ type: "put", sublevel: "audit", key, value: entry }]);
  }

  /** Rows in time order (oldest first), at most `limit`. */
  list(limit = 1000): Promise<AuditEntry[]> {
    return this.database.values<AuditEntry>("audit", limit);
  }

  /** Deletes rows recorded before `before`; returns how many. */
  async prune(before: number): Promise<number> {
    const range = { lt: timeKey(before) };
    let count = 0;
    for await (const _ of this.database.sub.audit.keys(range)) count++;
    if (count > 0) await this.database.sub.audit.clear(range);
    return count;
  }
}
