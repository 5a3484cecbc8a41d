/**
 * Join challenges, stateless until used (protocol/join/stateless-challenge.ts): handing one out
 * stores nothing; the first join that presents it claims it and records it as consumed (fsynced)
 * until it expires, so a challenge is single-use even when that join fails, and a later use is
 * `E_REPLAY`. Two concurrent joins with one challenge cannot both find it unused: the in-memory
 * claim happens synchronously, before any await. The record rides in the durable batch that stores
 * the membership ({@link ChallengeClaim.operation}), or, for a join that is refused or fails, is
 * written on its own before the refusal is answered ({@link ChallengeStore.persist}): either way no
 * answer to a join leaves the head before its challenge's use is on disk, and a join that crashes
 * before that answered nobody (docs/protocol.md § Join). The head's challenge key K_c lives in
 * `<data-dir>/challenge.key` (0600), so challenges outlive a restart of the same head and no other
 * head accepts them. Consumed challenges are also held in memory (loaded at open): a join reads
 * nothing from level.
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
import type { BatchOperation, HeadDatabase } from "./database";

/** A used challenge, kept until it expires (key: the challenge bytes in hex). */
interface ConsumedChallenge {
  expiresAt: number;
}

/** What {@link ChallengeStore.claim} found. */
export interface ChallengeClaim {
  /**
   * The record `acceptJoin` checks: undefined when this head did not issue the challenge for the
   * cluster (E_UNKNOWN_CHALLENGE), state CONSUMED when it was used before (E_REPLAY), an expired
   * one as it is (E_EXPIRED).
   */
  record: ChallengeRecord | undefined;
  /**
   * For the challenge's first use only: the put that records it as consumed, for the caller's
   * durable batch, or {@link ChallengeStore.persist} when the join ends without one. The caller
   * must have written it durably before it answers the join, whatever the answer.
   */
  operation?: BatchOperation;
}

/** Consumed challenges deleted per batch by {@link ChallengeStore.sweep}. */
const SWEEP_CHUNK = 2_000;

export class ChallengeStore {
  /** Consumed challenges (hex) and when they expire: those level holds, and those claimed by joins under way. */
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
   * Claims `challenge` for a join at `now`, synchronously: from here on every other use is
   * `E_REPLAY`. Nothing is written: the claim's `operation` must be written durably (in the
   * membership's batch, or by {@link persist}) before the join is answered.
   */
  claim(challenge: Uint8Array, clusterId: number, now: number, ttlMs: number): ChallengeClaim {
    const record = openStatelessChallenge(this.key, clusterId, challenge, ttlMs);
    if (!record || now >= record.expiresAt) return { record };
    const key = toHex(challenge);
    if (this.consumed.has(key)) return { record: { ...record, state: ChallengeState.CONSUMED } };
    this.consumed.set(key, record.expiresAt);
    const consumed: ConsumedChallenge = { expiresAt: record.expiresAt };
    return { record, operation: { type: "put", sublevel: "challenges", key, value: consumed } };
  }

  /**
   * Writes a claim's record on its own, fsynced (a use forgotten in a power cut would make the
   * challenge usable twice): for a join that ends without storing a membership.
   */
  async persist(operation: BatchOperation): Promise<void> {
    await this.database.batch([operation], { durable: true });
  }

  /**
   * {@link claim} and {@link persist} in one: the record `acceptJoin` checks, its first use
   * recorded durably before the caller learns it.
   */
  async redeem(
    challenge: Uint8Array,
    clusterId: number,
    now: number,
    ttlMs: number,
  ): Promise<ChallengeRecord | undefined> {
    const { record, operation } = this.claim(challenge, clusterId, now, ttlMs);
    if (operation) await this.persist(operation);
    return record;
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
