/**
 * {@link SequenceReservationStore} on level (RFC 8613 Appendix B.1): a block start is written
 * (and level's write resolves after the write-ahead log has it) before any number of the block
 * is used, so a restart resumes past every number that may have been sent.
 */
import type { SequenceReservationStore } from "../../../protocol/channel/sequence";
import type { DeviceDatabase } from "./database";

export class LevelSequenceStore implements SequenceReservationStore {
  constructor(private readonly db: DeviceDatabase) {}

  async load(key: string): Promise<bigint | undefined> {
    const v = await this.db.get<string>("sequence", key);
    return v === undefined ? undefined : BigInt(v);
  }

  async save(key: string, value: bigint): Promise<void> {
    // level's default put is not fsync'ed; classic-level's `sync: true` makes the reservation
    // survive a power cut, not only a process crash (the sublevel's types do not list the option).
    await this.db.sub.sequence.put(key, value.toString(), { sync: true } as object);
  }

  async remove(key: string): Promise<void> {
    await this.db.del("sequence", key);
  }
}
