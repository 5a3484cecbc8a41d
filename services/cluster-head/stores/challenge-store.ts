/**
 * Outstanding join challenges. A challenge is taken (removed) before it is checked, so it is
 * single-use even when the join fails, and two concurrent joins with one challenge cannot both
 * find it: the in-memory claim happens synchronously, before any await. Nothing of a consumed
 * challenge is kept, so using it again is answered like an unknown one (`E_UNKNOWN_CHALLENGE`).
 */
import { fromHex, toHex } from "../../../protocol/bytes";
import type { ChallengeRecord } from "../../../protocol/join/head";
import type { HeadDatabase } from "./database";

interface StoredChallenge {
  clusterId: number;
  challenge: string;
  issuedAt: number;
  expiresAt: number;
  state: ChallengeRecord["state"];
}

export class ChallengeStore {
  private readonly claimed = new Set<string>();

  constructor(private readonly database: HeadDatabase) {}

  async put(record: ChallengeRecord): Promise<void> {
    const stored: StoredChallenge = { ...record, challenge: toHex(record.challenge) };
    await this.database.batch([
      { type: "put", sublevel: "challenges", key: stored.challenge, value: stored },
    ]);
  }

  /**
   * Removes and returns the record of `challenge` (undefined when unknown or already taken).
   * The removal is durable before the caller learns the record.
   */
  async take(challenge: Uint8Array): Promise<ChallengeRecord | undefined> {
    const key = toHex(challenge);
    if (this.claimed.has(key)) return undefined;
    this.claimed.add(key);
    try {
      const stored = await this.database.get<StoredChallenge>("challenges", key);
      if (!stored) return undefined;
      // fsynced: a challenge that came back after a power cut could be used twice.
      await this.database.batch([{ type: "del", sublevel: "challenges", key }], { durable: true });
      return { ...stored, challenge: fromHex(stored.challenge) };
    } finally {
      this.claimed.delete(key);
    }
  }

  /** Deletes challenges that expired before `now`; returns how many. */
  async sweep(now: number): Promise<number> {
    const expired: string[] = [];
    for await (const [key, value] of this.database.sub.challenges.iterator()) {
      if ((value as StoredChallenge).expiresAt <= now) expired.push(String(key));
    }
    await this.database.batch(
      expired.map((key) => ({ type: "del" as const, sublevel: "challenges" as const, key })),
    );
    return expired.length;
  }
}
