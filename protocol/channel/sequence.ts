/**
 * Restart-safe sender sequence numbers (RFC 8613 Appendix B.1): persist the start of each block
 * of K numbers before using any of them; after a restart resume at last persisted + K.
 * Numbers may be skipped after a crash (the receiver's window tolerates gaps) but never reused,
 * even if the process dies between the save and the use.
 * @module
 */
import { Defaults, MAX_MESSAGES_PER_KEY } from "../constants";
import { ProtocolError } from "../errors";

/** Durable storage for reservations; the device implements it with level. */
export interface SequenceReservationStore {
  /** Last persisted block start for `key`, or undefined if none. */
  load(key: string): Promise<bigint | undefined>;
  /** Persist `value` durably before resolving. */
  save(key: string, value: bigint): Promise<void>;
}

/** Hands out sequence numbers for one sender key, reserving blocks in the store. */
export class SequenceReservation {
  private chain: Promise<unknown> = Promise.resolve();

  private constructor(
    private readonly store: SequenceReservationStore,
    private readonly key: string,
    private readonly blockSize: bigint,
    private current: bigint,
    private blockEnd: bigint,
  ) {}

  /**
   * Open (or resume) the counter for `key`.
   * @param store - durable store
   * @param key - one per sender key, e.g. hex(sessionId) + direction
   * @param blockSize - K, default 1024
   */
  static async open(
    store: SequenceReservationStore,
    key: string,
    blockSize: bigint = Defaults.SEQUENCE_BLOCK,
  ): Promise<SequenceReservation> {
    if (blockSize < 1n) throw new RangeError("blockSize: must be >= 1");
    const last = await store.load(key);
    // Numbers in [last, last + K) may have been used before the restart: skip the whole block.
    const start = last === undefined ? 0n : last + blockSize;
    if (start >= MAX_MESSAGES_PER_KEY)
      throw new ProtocolError("E_LIMIT", "sequence space exhausted; re-grant");
    await store.save(key, start);
    return new SequenceReservation(store, key, blockSize, start, start + blockSize);
  }

  /**
   * Next unused sequence number; persists a new block first when the current one is spent.
   * Concurrent calls are serialised.
   * @throws ProtocolError E_LIMIT when the per-key limit is reached
   */
  next(): Promise<bigint> {
    const run = this.chain.then(async () => {
      if (this.current >= MAX_MESSAGES_PER_KEY)
        throw new ProtocolError("E_LIMIT", "sequence space exhausted; re-grant");
      if (this.current >= this.blockEnd) {
        await this.store.save(this.key, this.current);
        this.blockEnd = this.current + this.blockSize;
      }
      const seq = this.current;
      this.current += 1n;
      return seq;
    });
    this.chain = run.catch(() => undefined);
    return run;
  }

  /** The number the next call to {@link next} would return. */
  get peek(): bigint {
    return this.current;
  }
}
