/**
 * The replay-key set: 32-byte keys in hex, insertion order, expiry-driven deletion from the oldest
 * end and anywhere (sweep), growth and shrinking, the memory bound, and a model check against a
 * plain Map under random operations.
 */
import { createHash } from "node:crypto";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  BYTES_PER_SLOT,
  isReplayKey,
  MIN_CAPACITY,
  ReplayKeySet,
  type SweepCursor,
} from "../../../../services/cluster-head/stores/replay-key-set";

/** A key of the real shape (hex SHA-256), distinct per `n`. */
const key = (n: number) => createHash("sha256").update(`key-${n}`).digest("hex");
const T = 1_800_000_000_000;

/** Sweeps to the end, returning every key taken. */
function sweepAll(set: ReplayKeySet, now: number, max = 1_000): string[] {
  const taken: string[] = [];
  let cursor: SweepCursor | undefined;
  do {
    const swept = set.sweep(now, max, cursor);
    taken.push(...swept.keys);
    cursor = swept.next;
  } while (cursor !== undefined);
  return taken;
}

describe("ReplayKeySet", () => {
  it("adds, finds and deletes keys given as 64 lowercase hex digits", () => {
    const set = new ReplayKeySet();
    expect(set.has(key(1))).toBe(false);
    set.add(key(1), T);
    set.add(key(2), T + 1);
    expect(set.size).toBe(2);
    expect(set.has(key(1))).toBe(true);
    expect(set.expiresAt(key(2))).toBe(T + 1);
    expect(set.delete(key(1))).toBe(true);
    expect(set.delete(key(1))).toBe(false);
    expect(set.has(key(1))).toBe(false);
    expect(set.entries()).toEqual([[key(2), T + 1]]);
  });

  it("hands out its live keys oldest first in chunks as bytes, and takes them back as bytes", () => {
    const set = new ReplayKeySet();
    for (let i = 0; i < 10; i++) set.add(key(i), 1_000 + i);
    set.delete(key(4));
    const copy = new ReplayKeySet();
    const sizes: number[] = [];
    for (const chunk of set.chunks(3)) {
      sizes.push(chunk.expiries.length);
      for (let i = 0; i < chunk.expiries.length; i++)
        copy.addBytes(chunk.keys.slice(32 * i, 32 * i + 32), chunk.expiries[i]!);
    }
    expect(sizes).toEqual([3, 3, 3]);
    expect(copy.entries()).toEqual(set.entries());
    expect(() => copy.addBytes(new Uint8Array(31), 1)).toThrow(RangeError);
  });

  it("tells apart keys that differ only in their last byte", () => {
    const set = new ReplayKeySet();
    const a = key(7);
    const b = a.slice(0, 62) + (a.endsWith("00") ? "01" : "00");
    set.add(a, T);
    expect(set.has(b)).toBe(false);
    set.add(b, T + 1);
    expect(set.expiresAt(a)).toBe(T);
    expect(set.expiresAt(b)).toBe(T + 1);
  });

  it("refuses keys that are not 64 lowercase hex digits, and expiries that are not numbers", () => {
    const set = new ReplayKeySet();
    for (const bad of [
      key(1).toUpperCase(),
      key(1).slice(1),
      `${key(1)}0`,
      "replay-1",
      `${key(1).slice(1)}g`,
    ]) {
      expect(isReplayKey(bad)).toBe(false);
      expect(() => set.add(bad, T)).toThrow(RangeError);
      expect(() => set.has(bad)).toThrow(/64 lowercase hex digits/);
    }
    expect(isReplayKey(key(1))).toBe(true);
    expect(() => set.add(key(1), Number.NaN)).toThrow(/expiresAt/);
    expect(set.size).toBe(0);
  });

  it("finds every key left after half of a full set was deleted out of order (probe chains stay whole)", () => {
    const set = new ReplayKeySet();
    const keys = Array.from({ length: MIN_CAPACITY }, (_, i) => key(i));
    for (const k of keys) set.add(k, T);
    for (let i = 0; i < keys.length; i += 2) set.delete(keys[i]!);
    expect(keys.filter((k, i) => set.has(k) !== (i % 2 === 1))).toEqual([]);
    for (let i = 1; i < keys.length; i += 2) set.delete(keys[i]!);
    expect(set.size).toBe(0);
    expect(keys.some((k) => set.has(k))).toBe(false);
  });

  it("moves a key added again to the newest place, with its new expiry", () => {
    const set = new ReplayKeySet();
    set.add(key(1), T);
    set.add(key(2), T);
    set.add(key(1), T + 5);
    expect(set.size).toBe(2);
    expect(set.entries()).toEqual([
      [key(2), T],
      [key(1), T + 5],
    ]);
  });

  it("takes expired keys oldest first, at most the number asked, stopping at the first unexpired one", () => {
    const set = new ReplayKeySet();
    for (let i = 0; i < 6; i++) set.add(key(i), T + i);
    set.add(key(6), T + 100); // not expired, and in front of an expired one
    set.add(key(7), T);
    expect(set.takeExpired(T + 50, 4)).toEqual([key(0), key(1), key(2), key(3)]);
    expect(set.takeExpired(T + 50, 4)).toEqual([key(4), key(5)]);
    expect(set.takeExpired(T + 50, 4)).toEqual([]);
    expect(set.size).toBe(2);
  });

  it("keeps a key that expires exactly now: its request is still fresh", () => {
    const set = new ReplayKeySet();
    set.add(key(1), T);
    expect(set.takeExpired(T, 4)).toEqual([]);
    expect(sweepAll(set, T)).toEqual([]);
    expect(set.takeExpired(T + 1, 4)).toEqual([key(1)]);
  });

  it("sweeps expired keys wherever they are in the ring, in chunks", () => {
    const set = new ReplayKeySet();
    for (let i = 0; i < 5_000; i++) set.add(key(i), i % 3 === 0 ? T + 1_000 : T);
    const first = set.sweep(T + 1, 1_000);
    expect(first.keys).toHaveLength(1_000);
    expect(first.next).toBeDefined();
    const rest = sweepAll(set, T + 1);
    expect(first.keys.length + rest.length).toBe(3_333);
    expect(set.size).toBe(1_667);
    expect(set.entries().every(([, at]) => at === T + 1_000)).toBe(true);
  });

  it("finishes a sweep that the set was rebuilt in the middle of, missing no expired key", () => {
    const set = new ReplayKeySet();
    for (let i = 0; i < 3_000; i++) set.add(key(i), i % 2 === 0 ? T : T + 1_000);
    const first = set.sweep(T + 1, 100);
    const capacity = set.capacity;
    // Enough new keys to make the ring double (a rebuild moves every slot).
    for (let i = 3_000; i < 3_000 + capacity; i++) set.add(key(i), T);
    expect(set.capacity).toBeGreaterThan(capacity);
    let cursor = first.next;
    while (cursor !== undefined) cursor = set.sweep(T + 1, 100, cursor).next;
    expect(set.entries().filter(([, at]) => at < T + 1)).toEqual([]);
    expect(set.size).toBe(1_500);
  });

  it("grows by doubling when full and shrinks to half full when under a quarter of its slots are live", () => {
    const set = new ReplayKeySet();
    expect(set.capacity).toBe(MIN_CAPACITY);
    for (let i = 0; i < MIN_CAPACITY; i++) set.add(key(i), T + i);
    expect(set.capacity).toBe(MIN_CAPACITY);
    set.add(key(MIN_CAPACITY), T + MIN_CAPACITY);
    expect(set.capacity).toBe(2 * MIN_CAPACITY);
    for (let i = MIN_CAPACITY + 1; i < 8 * MIN_CAPACITY; i++) set.add(key(i), T + i);
    expect(set.capacity).toBe(8 * MIN_CAPACITY);

    // Oldest first, as the store deletes them: the ring halves as the live keys fall below ¼.
    expect(set.takeExpired(T + 6 * MIN_CAPACITY + 1, Infinity)).toHaveLength(6 * MIN_CAPACITY + 1);
    expect(set.capacity).toBe(4 * MIN_CAPACITY);
    expect(set.takeExpired(Infinity, Infinity)).toHaveLength(2 * MIN_CAPACITY - 1);
    expect(set.capacity).toBe(MIN_CAPACITY);
    expect(set.size).toBe(0);
  });

  it("reuses the ring's holes instead of growing when half of it is holes", () => {
    const set = new ReplayKeySet();
    for (let i = 0; i < MIN_CAPACITY; i++) set.add(key(i), T);
    // Every other key deleted out of order (not from the head): holes, not free slots.
    for (let i = 1; i < MIN_CAPACITY; i += 2) set.delete(key(i));
    set.add(key(MIN_CAPACITY), T);
    expect(set.capacity).toBe(MIN_CAPACITY);
    expect(set.size).toBe(MIN_CAPACITY / 2 + 1);
    expect(set.entries().map(([k]) => k)).toEqual([
      ...Array.from({ length: MIN_CAPACITY / 2 }, (_, i) => key(2 * i)),
      key(MIN_CAPACITY),
    ]);
  });

  it("holds 48 bytes per slot, and at most two slots per live key at steady state", () => {
    const set = new ReplayKeySet();
    const live = 60_000;
    // A steady load (2,000 grants/s, 30 s keys): each grant adds one key and deletes the oldest.
    for (let i = 0; i < 3 * live; i++) {
      set.add(key(i), T + i);
      set.takeExpired(T + i - live + 1, 4);
    }
    expect(set.size).toBe(live);
    expect(BYTES_PER_SLOT).toBe(48);
    expect(set.byteLength).toBe(set.capacity * BYTES_PER_SLOT);
    expect(set.capacity).toBeLessThan(2 * live);
    expect(set.byteLength / set.size).toBeLessThan(2 * BYTES_PER_SLOT);
  });

  it("agrees with a Map model under random adds, deletes, look-ups, takes and sweeps", () => {
    const pool = Array.from({ length: 3_000 }, (_, i) => key(i));
    // Expiries spread wider than the clock of takes and sweeps, so the set fills up (long probe
    // chains, growth) between the clean-ups, which still delete from anywhere in it.
    const at = fc.nat(1_000);
    const now = fc.nat(150);
    const op = fc.oneof(
      { weight: 8, arbitrary: fc.tuple(fc.constant("add" as const), fc.nat(pool.length - 1), at) },
      { weight: 3, arbitrary: fc.tuple(fc.constant("delete" as const), fc.nat(pool.length - 1), at) },
      { weight: 2, arbitrary: fc.tuple(fc.constant("has" as const), fc.nat(pool.length - 1), at) },
      { weight: 1, arbitrary: fc.tuple(fc.constant("take" as const), fc.nat(8), now) },
      {
        weight: 1,
        arbitrary: fc.tuple(fc.constant("sweep" as const), fc.integer({ min: 1, max: 500 }), now),
      },
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 4_000 }), (ops) => {
        const set = new ReplayKeySet();
        const model = new Map<string, number>();
        for (const [kind, n, t] of ops) {
          const k = pool[n]!;
          if (kind === "add") {
            set.add(k, t);
            model.delete(k); // a key added again becomes the newest
            model.set(k, t);
          } else if (kind === "delete") {
            expect(set.delete(k)).toBe(model.delete(k));
          } else if (kind === "has") {
            expect(set.has(k)).toBe(model.has(k));
            expect(set.expiresAt(k)).toBe(model.get(k));
          } else if (kind === "take") {
            const expected: string[] = [];
            for (const [mk, mat] of model) {
              if (expected.length === n || mat >= t) break;
              expected.push(mk);
            }
            for (const mk of expected) model.delete(mk);
            expect(set.takeExpired(t, n)).toEqual(expected);
          } else {
            const expected = [...model].filter(([, mat]) => mat < t).map(([mk]) => mk);
            for (const mk of expected) model.delete(mk);
            expect(sweepAll(set, t, n)).toEqual(expected);
          }
          expect(set.size).toBe(model.size);
        }
        expect(set.entries()).toEqual([...model]);
        // Every look-up through the index, not only the ring's order.
        for (const k of pool) expect(set.expiresAt(k)).toBe(model.get(k));
        expect(set.capacity).toBeLessThanOrEqual(Math.max(MIN_CAPACITY, 4 * set.size));
      }),
      { numRuns: 60, seed: 16 },
    );
  });
});
