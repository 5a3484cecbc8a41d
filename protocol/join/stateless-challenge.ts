/**
 * Stateless join challenges (docs/protocol.md § JoinChallenge): the 16 challenge bytes carry their
 * own expiry and a MAC under a key only the issuing head holds, so the head stores nothing when it
 * hands one out, and recognises its own challenges at join time. Single use is the caller's part:
 * it remembers a challenge from its first use until it expires. Devices treat the bytes as opaque.
 *
 * Layout of the 16 bytes: expiresAt (u32, unix seconds) ‖ nonce (4 random bytes) ‖ tag (8 bytes),
 * tag = first 8 bytes of HMAC-SHA256(K_c, label ‖ clusterId (u32) ‖ expiresAt ‖ nonce).
 * A 64-bit tag suffices because it can only be checked online, by the head, one request per guess
 * (as with TCP SYN cookies); a forgery needs about 2^63 requests.
 * @module
 */
import { abytes, concatBytes, equalBytes, utf8 } from "../bytes";
import { Size } from "../constants";
import { symmetric } from "../crypto/backend";
import { draw, type RandomSource, systemRandom } from "../crypto/random";
import { encodeJoinChallenge } from "./codec";
import { ChallengeState, type ChallengeRecord } from "./head";

/** Domain label of the challenge tag. */
export const CHALLENGE_TAG_LABEL = "iotguard/v1/join-challenge";
/** Where each field sits in the 16 challenge bytes. */
export const StatelessChallengeLayout = {
  EXPIRES_AT: 0,
  NONCE: 4,
  TAG: 8,
  NONCE_SIZE: 4,
  TAG_SIZE: 8,
} as const;
/** The head's challenge key K_c: 32 bytes. */
export const CHALLENGE_KEY_SIZE = 32;
/** The largest expiry a u32 of seconds holds (2106-02-07). */
const MAX_EXPIRY_S = 0xffff_ffff;

function tagOf(key: Uint8Array, clusterId: number, head: Uint8Array): Uint8Array {
  const cluster = new Uint8Array(4);
  new DataView(cluster.buffer).setUint32(0, clusterId);
  return symmetric()
    .hmacSha256(key, concatBytes(utf8(CHALLENGE_TAG_LABEL), cluster, head))
    .slice(0, StatelessChallengeLayout.TAG_SIZE);
}

/** Options of {@link issueStatelessChallenge}. */
export interface IssueStatelessChallengeOptions {
  /** K_c, 32 bytes, known only to this head. */
  key: Uint8Array;
  clusterId: number;
  /** Unix milliseconds. */
  now: number;
  ttlMs: number;
  random?: RandomSource;
}

/**
 * Issues a JoinChallenge that the head need not store.
 * @returns the 18-byte JoinChallenge message and its 16 challenge bytes
 * @throws RangeError for a TTL that is not positive or an expiry past 2106
 */
export function issueStatelessChallenge(o: IssueStatelessChallengeOptions): {
  message: Uint8Array;
  challenge: Uint8Array;
} {
  abytes(o.key, CHALLENGE_KEY_SIZE, "challengeKey");
  if (!(o.ttlMs > 0)) throw new RangeError("ttlMs: must be positive");
  // Rounded down: a challenge never lives longer than its TTL.
  const expiresAt = Math.floor((o.now + o.ttlMs) / 1000);
  if (expiresAt > MAX_EXPIRY_S) throw new RangeError("expiry past 2106");
  const head = new Uint8Array(StatelessChallengeLayout.TAG);
  new DataView(head.buffer).setUint32(StatelessChallengeLayout.EXPIRES_AT, expiresAt);
  head.set(
    draw(o.random ?? systemRandom, StatelessChallengeLayout.NONCE_SIZE, "nonce"),
    StatelessChallengeLayout.NONCE,
  );
  const challenge = concatBytes(head, tagOf(o.key, o.clusterId, head));
  return { message: encodeJoinChallenge({ challenge }), challenge };
}

/**
 * Recognises a challenge this head issued for `clusterId` and turns it into the record
 * `acceptJoin` checks (state ISSUED; the caller marks it CONSUMED when used before). Expiry is
 * left to `acceptJoin` (`E_EXPIRED`), which compares `expiresAt` with its own `now`.
 * @param ttlMs - the TTL in force, only to fill in `issuedAt`
 * @returns the record, or undefined when the tag does not verify (another head's, forged, or
 *   not a challenge at all: `acceptJoin` answers `E_UNKNOWN_CHALLENGE`)
 */
export function openStatelessChallenge(
  key: Uint8Array,
  clusterId: number,
  challenge: Uint8Array,
  ttlMs: number,
): ChallengeRecord | undefined {
  abytes(key, CHALLENGE_KEY_SIZE, "challengeKey");
  if (challenge.length !== Size.CHALLENGE) return undefined;
  const head = challenge.subarray(0, StatelessChallengeLayout.TAG);
  // Constant time: the tag is a MAC.
  if (!equalBytes(tagOf(key, clusterId, head), challenge.subarray(StatelessChallengeLayout.TAG)))
    return undefined;
  const expiresAt =
    new DataView(head.buffer, head.byteOffset, head.length).getUint32(StatelessChallengeLayout.EXPIRES_AT) *
    1000;
  return {
    clusterId,
    challenge: Uint8Array.from(challenge),
    issuedAt: expiresAt - ttlMs,
    expiresAt,
    state: ChallengeState.ISSUED,
  };
}
