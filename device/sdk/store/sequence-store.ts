/**
 * {@link SequenceReservationStore} on level (RFC 8613 Appendix B.1): the bound of each reserved
 * block is written with `sync: true` before any number below it is used, so a restart (or a power
 * cut) resumes past every number that may have been sent.
 *
 * Value format, per key `<sessionId>/<direction>` of the `sequence` sublevel:
 * - this format: `{ "bound": "<decimal>" }` (a JSON object);
 * - the first format: `"<decimal>"`, a bare JSON string holding a block *start*. It is reported as
 *   a `block-start` record, which the protocol treats as a spent key (protocol/channel/sequence.ts
 *   `resumePoint`), and replaced by the first `save`.
 */
import type { SequenceReservationStore, StoredSequence } from "../../../protocol";
import { DeviceError } from "../errors";
import type { DeviceDatabase } from "./database";

interface BoundRecord {
  bound: string;
}

export class LevelSequenceStore implements SequenceReservationStore {
  constructor(private readonly db: DeviceDatabase) {}

  async load(key: string): Promise<StoredSequence | undefined> {
    const v = await this.db.get<BoundRecord | string>("sequence", key);
    if (v === undefined) return undefined;
    if (typeof v === "string") return { kind: "block-start", value: BigInt(v) };
    if (typeof v?.bound !== "string")
      throw new DeviceError("E_STORAGE", `the sequence reservation record ${key} is not readable`);
    return { kind: "bound", value: BigInt(v.bound) };
  }

  async save(key: string, bound: bigint): Promise<void> {
    const record: BoundRecord = { bound: bound.toString() };
    // Durable (fsync): the reservation survives a power cut, not only a process crash. Through the
    // database's own write path, so a failed write (a full disk) is noticed and nothing more is
    // appended to a log that may end in a torn record (platform/level-database.ts).
    await this.db.put("sequence", key, record, { durable: true });
  }

  async remove(key: string): Promise<void> {
    await this.db.del("sequence", key);
  }
}
