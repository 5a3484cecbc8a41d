/**
 * The registry transactions this head sent whose effect its index does not hold yet: sent, mined
 * in a block, waiting for the confirmation depth. Kept in level (fsynced) so that a restarted head
 * still knows them, and in memory for the join path, which asks about one device at a time.
 */
import type { HeadDatabase } from "./database";

/** What the transaction does to the registry. */
export type PendingAction = "enroll" | "revoke" | "rotate";

export interface PendingTransaction {
  txHash: string;
  action: PendingAction;
  /** Devices it concerns (several for a batch enrollment). */
  deviceIds: string[];
  /** The operator who asked for it. */
  operator: string;
  /** Unix milliseconds. */
  sentAt: number;
  /** The block it was mined in; absent until then (or after a reorganisation dropped that block). */
  block?: number;
}

export class PendingTransactionsStore {
  private readonly byHash = new Map<string, PendingTransaction>();

  private constructor(private readonly database: HeadDatabase) {}

  /** Opens the store with the transactions a previous run left pending. */
  static async open(database: HeadDatabase): Promise<PendingTransactionsStore> {
    const store = new PendingTransactionsStore(database);
    for (const tx of await database.values<PendingTransaction>("pending-transactions"))
      store.byHash.set(tx.txHash, tx);
    return store;
  }

  /** Records a transaction once the node accepted it (durable: a crash right after still knows it). */
  async add(tx: PendingTransaction): Promise<void> {
    await this.database.put("pending-transactions", tx.txHash, tx, { durable: true });
    this.byHash.set(tx.txHash, tx);
  }

  /** Notes the block a transaction was mined in (undefined: no longer in any block). */
  async setBlock(txHash: string, block: number | undefined): Promise<void> {
    const tx = this.byHash.get(txHash);
    if (!tx) return;
    const { block: _previous, ...rest } = tx;
    const updated: PendingTransaction = block === undefined ? rest : { ...rest, block };
    await this.database.put("pending-transactions", txHash, updated);
    this.byHash.set(txHash, updated);
  }

  /**
   * Moves a transaction's record to the hash of the transaction that replaced it (same nonce, higher
   * fees) or of the one of the two that got mined; durable, like {@link add}.
   */
  async rehash(fromHash: string, toHash: string): Promise<void> {
    const tx = this.byHash.get(fromHash);
    if (!tx || fromHash === toHash) return;
    const moved: PendingTransaction = { ...tx, txHash: toHash };
    await this.database.batch(
      [
        { type: "put", sublevel: "pending-transactions", key: toHash, value: moved },
        { type: "del", sublevel: "pending-transactions", key: fromHash },
      ],
      { durable: true },
    );
    this.byHash.delete(fromHash);
    this.byHash.set(toHash, moved);
  }

  /** Forgets transactions (indexed, failed or dropped). */
  async remove(txHashes: string[]): Promise<void> {
    const present = txHashes.filter((hash) => this.byHash.has(hash));
    if (present.length === 0) return;
    await this.database.batch(
      present.map((key) => ({ type: "del", sublevel: "pending-transactions", key }) as const),
    );
    for (const hash of present) this.byHash.delete(hash);
  }

  /** The latest pending transaction that concerns `deviceId`, if any. */
  forDevice(deviceId: string): PendingTransaction | undefined {
    let latest: PendingTransaction | undefined;
    for (const tx of this.byHash.values())
      if (tx.deviceIds.includes(deviceId) && (!latest || tx.sentAt >= latest.sentAt)) latest = tx;
    return latest;
  }

  list(): PendingTransaction[] {
    return [...this.byHash.values()];
  }
}
