/**
 * Join challenges, stateless until used (protocol/join/stateless-challenge.ts): handing one out
 * stores nothing; the first join that presents it records it as consumed (fsynced) until it
 * expires, so a challenge is single-use even when that join fails, and a later use is `E_REPLAY`.
 * Two concurrent joins with one challenge cannot both find it unused: the in-memory claim happens
 * synchronously, before any await. The head's challenge key K_c lives in `<data-dir>/challenge.key`
 * (0600), so challenges outlive a restart of the same head and no other head accepts them.
 * Consumed challenges are also held in memory (loaded at open): a join reads nothing from level.
 */
import {
  type ChallengeRecord,
  ChallengeState,
  issueStatelessChallenge,
  openStatelessChallenge,
  type RandomSource,
  toHex,
} from "../../../protocol";
import { setImmediate } from "node:timers/promises";
import type { HeadDatabase } from "./database";

/** A used challenge, kept until it expires (key: the challenge bytes in hex). */
interface ConsumedChallenge {
  expiresAt: number;
}

/** Consumed challenges deleted per batch by {@link ChallengeStore.sweep}. */
const SWEEP_CHUNK = 2_000;

export class ChallengeStore {
  private readonly claimed = new Set<string>();
  /** Consumed challenges (hex) and when they expire, as level holds them. */
  private readonly consumed = new Map<string, number>();

  private constructor(
    private readonly database: HeadDatabase,
    private readonly key: Uint8Array,
  ) {}

  /**
   * Opens the store and loads the consumed challenges into memory.
   * @param key - K_c, 32 bytes
   */
  static async open(database: HeadDatabase, key: Uint8Array): Promise<ChallengeStore> {
    const store = new ChallengeStore(database, key);
    for (const [challenge, { expiresAt }] of await database.entries<ConsumedChallenge>("challenges"))
      store.consumed.set(challenge, expiresAt);
    return store;
  }

  /** A fresh JoinChallenge message for `clusterId`; nothing is stored. */
  issue(clusterId: number, now: number, ttlMs: number, random: RandomSource): Uint8Array {
    return issueStatelessChallenge({ key: this.key, clusterId, now, ttlMs, random }).message;
  }

  /**
   * Redeems `challenge` for a join at `now`: the record `acceptJoin` checks. Undefined when this
   * head did not issue it for `clusterId` (E_UNKNOWN_CHALLENGE); state CONSUMED when it was used
   * before (E_REPLAY); an expired one is returned as it is (E_EXPIRED) and not stored. Otherwise it
   * is recorded as consumed, durably, before the caller learns it.
   */
  async redeem(
    challenge: Uint8Array,
    clusterId: number,
    now: number,
    ttlMs: number,
  ): Promise<ChallengeRecord | undefined> {
    const record = openStatelessChallenge(this.key, clusterId, challenge, ttlMs);
    if (!record || now >= record.expiresAt) return record;
    const key = toHex(challenge);
    if (this.claimed.has(key)) return { ...record, state: ChallengeState.CONSUMED };
    this.claimed.add(key);
    try {
      if (this.consumed.has(key)) return { ...record, state: ChallengeState.CONSUMED };
      // fsynced: a use forgotten in a power cut would make the challenge usable twice.
      const consumed: ConsumedChallenge = { expiresAt: record.expiresAt };
      await this.database.batch([{ type: "put", sublevel: "challenges", key, value: consumed }], {
        durable: true,
      });
      this.consumed.set(key, record.expiresAt);
      return record;
    } finally {
      this.claimed.delete(key);
    }
  }

  /**
   * Deletes consumed challenges that expired before `now`, {@link SWEEP_CHUNK} per batch with the
   * event loop free in between; returns how many.
   */
  async sweep(now: number): Promise<number> {
    const expired: string[] = [];
    for (const [key, expiresAt] of this.consumed) if (expiresAt <= now) expired.push(key);
    for (let i = 0; i < expired.length; i += SWEEP_CHUNK) {
      if (i > 0) await setImmediate();
      const chunk = expired.slice(i, i + SWEEP_CHUNK);
      await this.database.batch(
        chunk.map((key) => ({ type: "del" as const, sublevel: "challenges" as const, key })),
      );
      for (const key of chunk) this.consumed.delete(key);
    }
    return expired.length;
  }
}
