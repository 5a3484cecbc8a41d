import { describe, expect, it } from "vitest";
import { inboundLimits, KeyedQueues, TokenBuckets } from "../../../device/sdk/inbound-queue";

function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((r) => {
    open = r;
  });
  return { promise, open };
}

describe("TokenBuckets", () => {
  it("allows a burst per key, then one more per refill interval, never more than the burst", () => {
    const b = new TokenBuckets(3, 1000);
    expect([1, 2, 3, 4].map(() => b.take("x", 0))).toEqual([true, true, true, false]);
    expect(b.take("y", 0)).toBe(true); // keys are independent
    expect(b.take("x", 999)).toBe(false);
    expect(b.take("x", 1000)).toBe(true);
    expect(b.take("x", 1000)).toBe(false);
    // A long pause refills to the burst, not beyond.
    expect([1, 2, 3, 4].map(() => b.take("x", 1_000_000))).toEqual([true, true, true, false]);
  });

  it("refills nothing when the clock goes back", () => {
    const b = new TokenBuckets(1, 1000);
    expect(b.take("x", 10_000)).toBe(true);
    expect(b.take("x", 0)).toBe(false);
    expect(b.take("x", 10_999)).toBe(false);
    expect(b.take("x", 11_000)).toBe(true);
  });

  it("still limits a key after many other keys were swept", () => {
    const b = new TokenBuckets(1, 1000, 4);
    expect(b.take("x", 0)).toBe(true);
    for (let i = 0; i < 20; i++) b.take(`k${i}`, 0);
    expect(b.take("x", 0)).toBe(false);
  });
});

describe("KeyedQueues", () => {
  it("runs one key's tasks in order and another key's meanwhile", async () => {
    const errors: unknown[] = [];
    const q = new KeyedQueues(10, (e) => errors.push(e));
    const log: string[] = [];
    const blocked = gate();
    q.push("x", async () => {
      await blocked.promise;
      log.push("x1");
    });
    q.push("x", async () => {
      log.push("x2");
    });
    const yDone = gate();
    q.push("y", async () => {
      log.push("y1");
      yDone.open();
    });
    await yDone.promise;
    expect(log).toEqual(["y1"]);
    blocked.open();
    await q.idle();
    expect(log).toEqual(["y1", "x1", "x2"]);
    expect(errors).toEqual([]);
  });

  it("holds at most the limit per key, counting the running task, and frees space as tasks finish", async () => {
    const q = new KeyedQueues(2, () => undefined);
    const blocked = gate();
    expect(q.push("x", () => blocked.promise)).toBe(true);
    expect(q.push("x", async () => undefined)).toBe(true);
    expect(q.full("x")).toBe(true);
    expect(q.push("x", async () => undefined)).toBe(false);
    expect(q.full("y")).toBe(false);
    blocked.open();
    await q.idle();
    expect(q.full("x")).toBe(false);
    expect(q.push("x", async () => undefined)).toBe(true);
    await q.idle();
  });

  it("reports a failed task and goes on with the next", async () => {
    const errors: unknown[] = [];
    const q = new KeyedQueues(5, (e) => errors.push(e));
    const ran: number[] = [];
    q.push("x", async () => {
      throw new Error("boom");
    });
    q.push("x", async () => {
      ran.push(2);
    });
    await q.idle();
    expect((errors[0] as Error).message).toBe("boom");
    expect(ran).toEqual([2]);
  });
});

describe("inboundLimits", () => {
  it("fills in the defaults and refuses a setting that is not a positive integer, naming it", () => {
    expect(inboundLimits({ setupBurst: 2 })).toEqual({
      setupBurst: 2,
      setupRefillMs: 10_000,
      maxQueuedPerSender: 1024,
    });
    for (const bad of [0, -1, 1.5, Number.NaN])
      expect(() => inboundLimits({ maxQueuedPerSender: bad })).toThrow(/inboundLimits\.maxQueuedPerSender/);
  });
});
