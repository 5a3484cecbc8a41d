/**
 * Restart-safe sender sequence numbers (RFC 8613 Appendix B.1): before any number of a block of K
 * is used, persist the block's exclusive end (the *bound*: every number that may have been handed
 * out is below it); after a restart resume at the persisted bound. Numbers may be skipped after a
 * crash (the receiver's window tolerates gaps) but never reused, even if the process dies between
 * the save and the use, and whatever block size the restarted process uses.
 *
 * The first format persisted the block *start* and resumed at start + the current K, which reused
 * numbers when K shrank between runs (issue 19); stores report such values as `block-start`
 * records (see {@link StoredSequence}) and {@link resumePoint} resolves them fail-safe.
 * @module
 */
import { Defaults, MAX_MESSAGES_PER_KEY } from "../constants";
import { ProtocolError } from "../errors";

/** What a {@link SequenceReservationStore} holds for one key. */
export type StoredSequence =
  /** Exclusive upper bound of every number that may have been used (this format). */
  | { kind: "bound"; value: bigint }
  /**
   * A block start written by the old format: numbers in [value, value + K_old) may have been
   * used, with K_old the block size of the process that wrote it (not recorded).
   */
  | { kind: "block-start"; value: bigint };

/**
 * Durable storage for reservations; the device implements it with level
 * (device/sdk/store/sequence-store.ts). `save` replaces any old-format value of the key.
 */
export interface SequenceReservationStore {
  /** What is persisted for `key`, or undefined if nothing is. */
  load(key: string): Promise<StoredSequence | undefined>;
  /** Persist `bound` (exclusive end of the numbers that may be used) durably before resolving. */
  save(key: string, bound: bigint): Promise<void>;
}

/**
 * Where a restarted sender may resume without reusing a number.
 * A `block-start` record of the old format is resolved to {@link MAX_MESSAGES_PER_KEY}, i.e. the
 * key is treated as spent for sending: the old process may have used any K_old (the SDK option
 * `sequenceBlock` was unbounded), so no smaller bound is safe for every old configuration. The
 * caller re-grants (a new key) on the next send; frames can still be received on the old key.
 */
export function resumePoint(stored: StoredSequence | undefined): bigint {
  if (stored === undefined) return 0n;
  if (stored.kind === "bound") return stored.value;
  return MAX_MESSAGES_PER_KEY;
}

/** Hands out sequence numbers for one sender key, reserving blocks in the store. */
export class SequenceReservation {
  private chain: Promise<unknown> = Promise.resolve();

  private constructor(
    private readonly store: SequenceReservationStore,
    private readonly key: string,
    private readonly blockSize: bigint,
    private current: bigint,
    /** The persisted bound: numbers below it may be handed out without another save. */
    private bound: bigint,
  ) {}

  /**
   * Open (or resume) the counter for `key` at the persisted bound and persist a new bound K
   * further on before returning. A spent key (bound at the per-key limit, or an old-format
   * record, see {@link resumePoint}) opens without a save; its {@link next} throws E_LIMIT.
   * @param store - durable store
   * @param key - one per sender key, e.g. hex(sessionId) + direction
   * @param blockSize - K, default 1024; may differ between runs
   */
  static async open(
    store: SequenceReservationStore,
    key: string,
    blockSize: bigint = Defaults.SEQUENCE_BLOCK,
  ): Promise<SequenceReservation> {
    if (blockSize < 1n) throw new RangeError("blockSize: must be >= 1");
    const start = resumePoint(await store.load(key));
    if (start >= MAX_MESSAGES_PER_KEY)
      return new SequenceReservation(store, key, blockSize, MAX_MESSAGES_PER_KEY, MAX_MESSAGES_PER_KEY);
    const bound = min(start + blockSize, MAX_MESSAGES_PER_KEY);
    // RFC 8613 §B.1: the bound is durable before any number below it is used.
    await store.save(key, bound);
    return new SequenceReservation(store, key, blockSize, start, bound);
  }

  /**
   * Next unused sequence number; persists a new bound first when the reserved block is spent.
   * Concurrent calls are serialised.
   * @throws ProtocolError E_LIMIT when the per-key limit is reached
   */
  next(): Promise<bigint> {
    const run = this.chain.then(async () => {
      if (this.current >= MAX_MESSAGES_PER_KEY)
        throw new ProtocolError("E_LIMIT", "sequence space exhausted; re-grant");
      if (this.current >= this.bound) {
        const bound = min(this.current + this.blockSize, MAX_MESSAGES_PER_KEY);
        await this.store.save(this.key, bound);
        this.bound = bound;
      }
      const seq = this.current;
      this.current += 1n;
      return seq;
    });
    this.chain = run.catch(() => undefined);
    return run;
  }

  /** The number the next call to {@link next} would return ({@link MAX_MESSAGES_PER_KEY} when spent). */
  get peek(): bigint {
    return this.current;
  }
}

function min(a: bigint, b: bigint): bigint {
  return a < b ? a : b;
}
