/**
 * The grant replay keys the head holds in memory (docs/protocol.md § Grant, replay), each with its
 * expiry, in a few typed arrays instead of one string, one Map entry and one object per key.
 *
 * Why: at 2,000 grants/s a key lives 30 s (`Defaults.MAX_SKEW_MS`), so ~60k keys are live at once
 * (150k at 5,000/s). As a 64-char string in a {@link FifoMap} a key cost ~200 B of heap and the
 * FifoMap's queue kept deleted keys' strings alive until it was compacted; the head's RSS climbed
 * with them for the first ~60k grants. Here a slot costs {@link BYTES_PER_SLOT} (48) bytes and
 * there are 1–2 slots per live key while the set grows or holds steady (up to 4 just before it
 * shrinks): 48–96 B per live key, none of it on the JavaScript heap's object graph.
 *
 * Layout: an insertion-order ring of slots (32 key bytes + a float64 expiry each) and an
 * open-addressing index (linear probing, load ≤ ½) from a key's hash to its ring slot.
 * - Why a ring rather than expiry buckets: the store deletes in insertion order (the oldest first,
 *   a few per grant) and keys arrive roughly in expiry order, so one ring gives the oldest in O(1)
 *   with no bucket width to choose and no per-bucket lists; a steady load adds at the tail and
 *   deletes at the head without ever moving an entry.
 * - A key deleted out of order (or added again) leaves a hole in the ring that the head skips;
 *   when the ring is full it is rebuilt in order without holes, at the same size when at least half
 *   of it was holes, else at twice the size. It is rebuilt half full (at least
 *   {@link MIN_CAPACITY}) when fewer than a quarter of its slots are live, so a burst does not pin
 *   its memory.
 * - Deleting from the index shifts the rest of a probe chain back (no tombstones), so lookups
 *   never slow down with deletions.
 * @module
 */
import { Buffer } from "node:buffer";
import { randomBytes } from "node:crypto";

/** Bytes of a replay key (a SHA-256 output). */
export const REPLAY_KEY_BYTES = 32;
/** Characters of a replay key in hex, as the protocol and the level sublevel `grant-requests` hold it. */
export const REPLAY_KEY_HEX_LENGTH = 2 * REPLAY_KEY_BYTES;
/** The fewest ring slots (a power of two): small sets are not worth shrinking further. */
export const MIN_CAPACITY = 1_024;
/** Memory per ring slot: the key, its expiry (float64) and two int32 index slots (load ≤ ½). */
export const BYTES_PER_SLOT = REPLAY_KEY_BYTES + 8 + 2 * 4;

const WORDS = REPLAY_KEY_BYTES / 4;
const EMPTY = -1;
/** A ring slot whose key was deleted (or added again later) holds this expiry. */
const HOLE = Number.NaN;

/** Value of each ASCII code as a lowercase hex digit, -1 for everything else. */
const HEX_VALUE = new Int8Array(128).fill(-1);
for (let i = 0; i < 16; i++) HEX_VALUE["0123456789abcdef".charCodeAt(i)] = i;

/**
 * Whether `key` is a replay key as {@link ReplayKeySet} takes it: 64 lowercase hex digits.
 * A loop over the digit table, not a RegExp: it runs once per grant, and in the head under load
 * the RegExp's `test` showed 10–14 µs of self time per call (bench `--profile grant`).
 */
export function isReplayKey(key: unknown): key is string {
  if (typeof key !== "string" || key.length !== REPLAY_KEY_HEX_LENGTH) return false;
  for (let i = 0; i < REPLAY_KEY_HEX_LENGTH; i++) if ((HEX_VALUE[key.charCodeAt(i)] ?? -1) < 0) return false;
  return true;
}

/** Where {@link ReplayKeySet.sweep} continues; only valid until the set is rebuilt (it then starts over). */
export interface SweepCursor {
  readonly generation: number;
  /** Ring position (counted since the last rebuild) to look at next. */
  readonly position: number;
}

/**
 * A set of 32-byte replay keys (given and returned as 64 lowercase hex digits) with an expiry each,
 * in insertion order: O(1) has/add/delete, the oldest first, ~{@link BYTES_PER_SLOT} B per slot.
 *
 * Keys must be exactly 64 lowercase hex digits, else a RangeError: they only come from
 * `grantReplayKey` (or from level, where that wrote them), so anything else is a programming
 * error; and the keys handed back for deletion from level must equal the stored ones byte for
 * byte, which re-encoding an uppercase or shortened key would not.
 */
export class ReplayKeySet {
  /** Key bytes of ring slot i at words [8i, 8i + 8). */
  #keys: Uint32Array;
  /** The same bytes as a Buffer, for hex encoding without a view per key. */
  #keyBytes: Buffer;
  /** Expiry of ring slot i, or {@link HOLE}. */
  #expiries: Float64Array;
  /** Ring slot of a key (or {@link EMPTY}), at its hash's position or after it (linear probing). */
  #index: Int32Array;
  /** Ring slots; a power of two, so positions wrap with a mask. */
  #capacity: number;
  /**
   * Ring position of the oldest slot in use (live or hole), counted since the last rebuild: ring
   * position p is slot `p & (capacity - 1)`, and a position stays valid while the head moves on.
   */
  #start = 0;
  /** Slots in use between head and tail, holes included. */
  #used = 0;
  #size = 0;
  /** Bumped on each rebuild (slots move), so sweep cursors from before start over. */
  #generation = 0;
  /**
   * A key is a hash of a nonce the requesting member chooses, so a member could grind nonces whose
   * keys share their low bits and pile them into one probe chain; a secret seed per set makes
   * where a key lands unknown to it.
   */
  readonly #seed: Uint32Array = new Uint32Array(randomBytes(8).buffer, 0, 2);
  /** The key being looked up, parsed (its bytes, viewed as words). */
  readonly #scratch = new Uint32Array(WORDS);
  readonly #scratchBytes = new Uint8Array(this.#scratch.buffer);

  constructor(capacity = MIN_CAPACITY) {
    this.#capacity = roundCapacity(capacity);
    this.#keys = new Uint32Array(this.#capacity * WORDS);
    this.#keyBytes = Buffer.from(this.#keys.buffer);
    this.#expiries = new Float64Array(this.#capacity);
    this.#index = new Int32Array(2 * this.#capacity).fill(EMPTY);
  }

  /** Live keys. */
  get size(): number {
    return this.#size;
  }

  /** Ring slots allocated (each costs {@link BYTES_PER_SLOT} bytes). */
  get capacity(): number {
    return this.#capacity;
  }

  /** Bytes held by the typed arrays (for tests of the memory bound). */
  get byteLength(): number {
    return this.#keys.byteLength + this.#expiries.byteLength + this.#index.byteLength;
  }

  /**
   * Whether `key` is held (expired or not: deleting expired keys is the caller's choice).
   * @throws RangeError when `key` is not 64 lowercase hex digits
   */
  has(key: string): boolean {
    this.#parse(key);
    return this.#find() >= 0;
  }

  /**
   * The expiry `key` was added with, or undefined when it is not held.
   * @throws RangeError when `key` is not 64 lowercase hex digits
   */
  expiresAt(key: string): number | undefined {
    this.#parse(key);
    const at = this.#find();
    return at < 0 ? undefined : this.#expiries[this.#index[at]!];
  }

  /**
   * Adds `key` expiring at `expiresAt` as the newest key (a key already held moves to the newest
   * and takes the new expiry).
   * @throws RangeError when `key` is not 64 lowercase hex digits or `expiresAt` is not a number
   */
  add(key: string, expiresAt: number): void {
    this.#parse(key);
    this.#addScratch(expiresAt);
  }

  /**
   * {@link add} for a key given as its 32 bytes (as the journal holds it).
   * @throws RangeError when `key` is not 32 bytes or `expiresAt` is not a number
   */
  addBytes(key: Uint8Array, expiresAt: number): void {
    if (key.length !== REPLAY_KEY_BYTES)
      throw new RangeError(`replayKey: expected ${REPLAY_KEY_BYTES} bytes`);
    this.#scratchBytes.set(key);
    this.#addScratch(expiresAt);
  }

  /**
   * The live keys, oldest first, in chunks of at most `max`: each chunk's keys as 32-byte strings
   * concatenated and their expiries. Both are reused for the next chunk: copy what you keep.
   */
  *chunks(max: number): Generator<{ keys: Uint8Array; expiries: number[] }> {
    const mask = this.#capacity - 1;
    const keys = new Uint8Array(max * REPLAY_KEY_BYTES);
    const expiries: number[] = [];
    for (let position = this.#start; position < this.#start + this.#used; position++) {
      const slot = position & mask;
      const expiresAt = this.#expiries[slot]!;
      if (Number.isNaN(expiresAt)) continue;
      keys.set(
        this.#keyBytes.subarray(slot * REPLAY_KEY_BYTES, (slot + 1) * REPLAY_KEY_BYTES),
        expiries.length * REPLAY_KEY_BYTES,
      );
      expiries.push(expiresAt);
      if (expiries.length === max) {
        yield { keys, expiries };
        expiries.length = 0;
      }
    }
    if (expiries.length > 0) yield { keys: keys.subarray(0, expiries.length * REPLAY_KEY_BYTES), expiries };
  }

  /** Adds the key in {@link #scratch}. */
  #addScratch(expiresAt: number): void {
    if (typeof expiresAt !== "number" || Number.isNaN(expiresAt))
      throw new RangeError("expiresAt: expected a number (ms since the epoch)");
    const at = this.#find();
    if (at >= 0) this.#removeAt(at);
    if (this.#used === this.#capacity)
      this.#rebuild(2 * (this.#used - this.#size) >= this.#capacity ? this.#capacity : 2 * this.#capacity);
    const slot = (this.#start + this.#used) & (this.#capacity - 1);
    this.#keys.set(this.#scratch, slot * WORDS);
    this.#expiries[slot] = expiresAt;
    this.#used++;
    this.#size++;
    let i = this.#hashOf(this.#scratch, 0);
    const mask = this.#index.length - 1;
    while (this.#index[i] !== EMPTY) i = (i + 1) & mask;
    this.#index[i] = slot;
  }

  /**
   * Deletes `key`; false when it was not held.
   * @throws RangeError when `key` is not 64 lowercase hex digits
   */
  delete(key: string): boolean {
    this.#parse(key);
    const at = this.#find();
    if (at < 0) return false;
    this.#removeAt(at);
    this.#dropHeadHoles();
    this.#shrinkIfSparse();
    return true;
  }

  /**
   * Deletes and returns (hex, oldest first) up to `max` of the oldest keys that expired before
   * `now`, stopping at the first one that has not: the cheap per-grant clean-up.
   */
  takeExpired(now: number, max: number): string[] {
    const taken: string[] = [];
    const mask = this.#capacity - 1;
    while (taken.length < max) {
      this.#dropHeadHoles();
      if (this.#used === 0) break;
      const slot = this.#start & mask;
      if (!(this.#expiries[slot]! < now)) break;
      taken.push(this.#hexAt(slot));
      this.#removeAt(this.#indexPositionOf(slot));
    }
    this.#dropHeadHoles();
    if (taken.length > 0) this.#shrinkIfSparse();
    return taken;
  }

  /**
   * Deletes and returns (hex) up to `max` keys that expired before `now`, wherever they are in
   * the ring (a member's clock may put a key that expires early behind later ones), scanning
   * oldest first from `cursor`. Call again with the returned cursor until it is undefined; the
   * event loop may run in between (a rebuild meanwhile makes the scan start over, which only
   * revisits keys that are still live).
   */
  sweep(now: number, max: number, cursor?: SweepCursor): { keys: string[]; next: SweepCursor | undefined } {
    const resume = cursor !== undefined && cursor.generation === this.#generation;
    let position = resume ? Math.max(cursor.position, this.#start) : this.#start;
    const end = this.#start + this.#used;
    const keys: string[] = [];
    const mask = this.#capacity - 1;
    for (; position < end && keys.length < max; position++) {
      const slot = position & mask;
      if (!(this.#expiries[slot]! < now)) continue; // not expired, or a hole (NaN)
      keys.push(this.#hexAt(slot));
      this.#removeAt(this.#indexPositionOf(slot));
    }
    this.#dropHeadHoles();
    // Taken before a shrink: one bumps the generation, and the next call then starts over.
    const next = position < end ? { generation: this.#generation, position } : undefined;
    if (keys.length > 0) this.#shrinkIfSparse();
    return { keys, next };
  }

  /** Every key and its expiry, oldest first (a copy). */
  entries(): [string, number][] {
    const out: [string, number][] = [];
    const mask = this.#capacity - 1;
    for (let position = this.#start; position < this.#start + this.#used; position++) {
      const slot = position & mask;
      const expiresAt = this.#expiries[slot]!;
      if (!Number.isNaN(expiresAt)) out.push([this.#hexAt(slot), expiresAt]);
    }
    return out;
  }

  /** Parses `key` into {@link #scratch}. */
  #parse(key: string): void {
    if (typeof key !== "string" || key.length !== REPLAY_KEY_HEX_LENGTH)
      throw new RangeError(`replayKey: expected ${REPLAY_KEY_HEX_LENGTH} lowercase hex digits`);
    const bytes = this.#scratchBytes;
    for (let i = 0; i < REPLAY_KEY_BYTES; i++) {
      const hi = HEX_VALUE[key.charCodeAt(2 * i)] ?? -1;
      const lo = HEX_VALUE[key.charCodeAt(2 * i + 1)] ?? -1;
      if ((hi | lo) < 0)
        throw new RangeError(`replayKey: expected ${REPLAY_KEY_HEX_LENGTH} lowercase hex digits`);
      bytes[i] = (hi << 4) | lo;
    }
  }

  #hexAt(slot: number): string {
    return this.#keyBytes.toString("hex", slot * REPLAY_KEY_BYTES, (slot + 1) * REPLAY_KEY_BYTES);
  }

  /**
   * Index position for the key in `words` at `offset`. The key is already a uniform hash, so two
   * of its words mixed with the seed suffice; equality still compares all 32 bytes. (Replay keys
   * are not secret: the comparison need not be constant-time.)
   */
  #hashOf(words: Uint32Array, offset: number): number {
    let h =
      Math.imul(words[offset]! ^ this.#seed[0]!, 0x9e3779b1) ^
      Math.imul(words[offset + 1]! ^ this.#seed[1]!, 0x85ebca77);
    h ^= h >>> 15;
    h = Math.imul(h, 0xc2b2ae3d);
    h ^= h >>> 13;
    return h & (this.#index.length - 1);
  }

  /** Index position holding {@link #scratch}'s key, or -1. */
  #find(): number {
    const index = this.#index;
    const keys = this.#keys;
    const k = this.#scratch;
    const mask = index.length - 1;
    for (let i = this.#hashOf(k, 0); ; i = (i + 1) & mask) {
      const slot = index[i]!;
      if (slot === EMPTY) return -1;
      const o = slot * WORDS;
      if (
        keys[o] === k[0] &&
        keys[o + 1] === k[1] &&
        keys[o + 2] === k[2] &&
        keys[o + 3] === k[3] &&
        keys[o + 4] === k[4] &&
        keys[o + 5] === k[5] &&
        keys[o + 6] === k[6] &&
        keys[o + 7] === k[7]
      )
        return i;
    }
  }

  /** Index position pointing at ring slot `slot` (which holds a live key). */
  #indexPositionOf(slot: number): number {
    const mask = this.#index.length - 1;
    let i = this.#hashOf(this.#keys, slot * WORDS);
    while (this.#index[i] !== slot) i = (i + 1) & mask;
    return i;
  }

  /** Deletes the key at index position `at`: its ring slot becomes a hole, its probe chain closes up. */
  #removeAt(at: number): void {
    const index = this.#index;
    const mask = index.length - 1;
    this.#expiries[index[at]!] = HOLE;
    this.#size--;
    // Backward-shift deletion: move later entries of the chain into the gap when their home
    // position is not between the gap and them (cyclically), so every chain stays unbroken.
    let gap = at;
    for (let i = (at + 1) & mask; index[i] !== EMPTY; i = (i + 1) & mask) {
      const home = this.#hashOf(this.#keys, index[i]! * WORDS);
      if (((i - home) & mask) >= ((i - gap) & mask)) {
        index[gap] = index[i]!;
        gap = i;
      }
    }
    index[gap] = EMPTY;
  }

  #dropHeadHoles(): void {
    const mask = this.#capacity - 1;
    while (this.#used > 0 && Number.isNaN(this.#expiries[this.#start & mask]!)) {
      this.#start++;
      this.#used--;
    }
  }

  #shrinkIfSparse(): void {
    // Down to half full, not merely half the size: a sweep may have deleted most keys at once.
    if (this.#capacity > MIN_CAPACITY && 4 * this.#size < this.#capacity)
      this.#rebuild(roundCapacity(2 * this.#size));
  }

  /** Copies the live keys, oldest first and without holes, into new arrays of `capacity` slots. */
  #rebuild(capacity: number): void {
    const keys = new Uint32Array(capacity * WORDS);
    const expiries = new Float64Array(capacity);
    const index = new Int32Array(2 * capacity).fill(EMPTY);
    const oldMask = this.#capacity - 1;
    const mask = index.length - 1;
    this.#index = index; // #hashOf masks with the new index's size
    let n = 0;
    for (let position = this.#start; position < this.#start + this.#used; position++) {
      const slot = position & oldMask;
      if (Number.isNaN(this.#expiries[slot]!)) continue;
      keys.set(this.#keys.subarray(slot * WORDS, slot * WORDS + WORDS), n * WORDS);
      expiries[n] = this.#expiries[slot]!;
      let i = this.#hashOf(keys, n * WORDS);
      while (index[i] !== EMPTY) i = (i + 1) & mask;
      index[i] = n;
      n++;
    }
    this.#keys = keys;
    this.#keyBytes = Buffer.from(keys.buffer);
    this.#expiries = expiries;
    this.#capacity = capacity;
    this.#start = 0;
    this.#used = n;
    this.#generation++;
  }
}

/** The power of two ≥ `capacity` and ≥ {@link MIN_CAPACITY}. */
function roundCapacity(capacity: number): number {
  let c = MIN_CAPACITY;
  while (c < capacity) c *= 2;
  return c;
}
