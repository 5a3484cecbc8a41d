/** protocol/join/stateless-challenge.ts: a fixed vector, and what a head refuses to recognise. */
import { createHmac } from "node:crypto";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { fromHex, toHex } from "../../../protocol/bytes";
import { MessageSize } from "../../../protocol/constants";
import { decodeJoinChallenge } from "../../../protocol/join/codec";
import { ChallengeState } from "../../../protocol/join/head";
import { issueStatelessChallenge, openStatelessChallenge } from "../../../protocol/join/stateless-challenge";
import { seededRandom } from "../helpers";

const KEY = fromHex("00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff");
const OTHER_KEY = fromHex("ff".repeat(32));
const NOW = 1_800_000_000_123; // ms
const TTL = 30_000;

describe("stateless join challenges", () => {
  it("match the fixed vector: an 18-byte JoinChallenge whose 16 bytes are expiry, nonce and tag", () => {
    const { message, challenge } = issueStatelessChallenge({
      key: KEY,
      clusterId: 7,
      now: NOW,
      ttlMs: TTL,
      random: seededRandom("vector"),
    });
    expect(message.length).toBe(MessageSize.JOIN_CHALLENGE);
    // The cluster is not on the wire; it is inside the tag (and T_req binds it).
    expect(decodeJoinChallenge(message)).toEqual({ challenge });
    // expiresAt = floor((NOW + TTL) / 1000) = 1800000030 = 0x6b49d21e
    expect(toHex(challenge.subarray(0, 4))).toBe("6b49d21e");
    // Computed independently with node:crypto: HMAC-SHA256(KEY, label ‖ u32 7 ‖ first 8 bytes)[0..8].
    expect(toHex(challenge)).toBe("6b49d21e98ddb695e23f638ab36c0176");
    const tag = createHmac("sha256", KEY)
      .update(
        Buffer.concat([
          Buffer.from("iotguard/v1/join-challenge"),
          Buffer.from("00000007", "hex"),
          challenge.subarray(0, 8),
        ]),
      )
      .digest()
      .subarray(0, 8);
    expect(toHex(challenge.subarray(8))).toBe(tag.toString("hex"));
  });

  it("open to the record acceptJoin checks, expiring at the encoded second", () => {
    const { challenge } = issueStatelessChallenge({ key: KEY, clusterId: 7, now: NOW, ttlMs: TTL });
    expect(openStatelessChallenge(KEY, 7, challenge, TTL)).toEqual({
      clusterId: 7,
      challenge,
      issuedAt: 1_800_000_030_000 - TTL,
      expiresAt: 1_800_000_030_000,
      state: ChallengeState.ISSUED,
    });
  });

  it("are not recognised under another key, for another cluster, or at another length", () => {
    const { challenge } = issueStatelessChallenge({ key: KEY, clusterId: 7, now: NOW, ttlMs: TTL });
    expect(openStatelessChallenge(OTHER_KEY, 7, challenge, TTL)).toBeUndefined();
    expect(openStatelessChallenge(KEY, 8, challenge, TTL)).toBeUndefined();
    expect(openStatelessChallenge(KEY, 7, challenge.subarray(0, 15), TTL)).toBeUndefined();
  });

  it("are not recognised with any single bit flipped", () => {
    const { challenge } = issueStatelessChallenge({ key: KEY, clusterId: 7, now: NOW, ttlMs: TTL });
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 127 }), (bit) => {
        const flipped = Uint8Array.from(challenge);
        flipped[bit >> 3]! ^= 1 << (bit & 7);
        return openStatelessChallenge(KEY, 7, flipped, TTL) === undefined;
      }),
      { numRuns: 128 },
    );
  });

  it("never outlive their TTL, and refuse a TTL that is not positive", () => {
    for (const now of [NOW, NOW + 999, NOW + 1]) {
      const { challenge } = issueStatelessChallenge({ key: KEY, clusterId: 7, now, ttlMs: TTL });
      expect(openStatelessChallenge(KEY, 7, challenge, TTL)!.expiresAt).toBeLessThanOrEqual(now + TTL);
    }
    expect(() => issueStatelessChallenge({ key: KEY, clusterId: 7, now: NOW, ttlMs: 0 })).toThrow(RangeError);
  });
});
