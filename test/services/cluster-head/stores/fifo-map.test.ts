/**
 * FifoMap (services/cluster-head/stores/fifo-map.ts): a Map that finds its oldest entries without
 * walking over deleted ones.
 */
import { describe, expect, it } from "vitest";
import { FifoMap } from "../../../../services/cluster-head/stores/fifo-map";

describe("FifoMap", () => {
  it("yields entries oldest first, and a key set again becomes the newest", () => {
    const map = new FifoMap<string, number>();
    map.set("a", 1).set("b", 2).set("c", 3).set("a", 4);
    expect(map.entries()).toEqual([
      ["b", 2],
      ["c", 3],
      ["a", 4],
    ]);
    expect(map.size).toBe(3);
    expect(map.get("a")).toBe(4);
    expect(map.oldest(2)).toEqual(["b", "c"]);
    expect(map.oldest(0)).toEqual([]);
    expect(map.oldest(10)).toEqual(["b", "c", "a"]);
  });

  it("skips deleted entries, also when the caller deletes each entry it was just given", () => {
    const map = new FifoMap<number, string>();
    for (let i = 0; i < 10; i++) map.set(i, `v${i}`);
    map.delete(0);
    map.delete(5);
    const seen: number[] = [];
    for (const [key] of map.oldestFirst()) {
      seen.push(key);
      if (key < 4) map.delete(key);
    }
    expect(seen).toEqual([1, 2, 3, 4, 6, 7, 8, 9]);
    expect(map.oldest(3)).toEqual([4, 6, 7]);
    expect(map.has(1)).toBe(false);
    expect(map.size).toBe(5);
  });

  it("keeps its order and contents through many deletes of the oldest (the queue is rebuilt, not grown)", () => {
    const map = new FifoMap<number, number>();
    const live: number[] = [];
    for (let i = 0; i < 50_000; i++) {
      map.set(i, i * 2);
      live.push(i);
      if (i % 3 !== 0) map.delete(live.shift()!); // the oldest goes, as expired replay keys do
      if (i % 7 === 0 && live.length > 2) {
        const [again] = live.splice(1, 1); // one in the middle is set again: now the newest
        map.set(again!, again! * 2);
        live.push(again!);
      }
    }
    expect(map.size).toBe(live.length);
    expect(map.entries().map(([key]) => key)).toEqual(live);
    expect(map.oldest(5)).toEqual(live.slice(0, 5));
    expect(map.get(live[0]!)).toBe(live[0]! * 2);
  });

  it("keeps its order's memory near the live entries when the oldest are deleted front first", () => {
    const map = new FifoMap<number, number>();
    for (let i = 0; i < 100_000; i++) {
      map.set(i, i);
      if (i >= 1_000) {
        expect(map.oldest(1)).toEqual([i - 1_000]); // steps the front past what was deleted
        map.delete(i - 1_000);
      }
    }
    expect(map.size).toBe(1_000);
    expect(map.queued).toBeLessThanOrEqual(2 * 1_000 + 1_024 + 1);
  });
});
