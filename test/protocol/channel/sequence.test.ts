import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { createChannel, SequenceReservation, type SequenceReservationStore } from "../../../protocol";
import type { StoredSequence } from "../../../protocol/channel/sequence";
import { expectCodeAsync } from "../expect-code";
import { fullSession } from "../grant-fixture";

const LIMIT = 2n ** 32n;

/** In-memory store that records every save, optionally failing the next one. */
class MemoryStore implements SequenceReservationStore {
  readonly values = new Map<string, StoredSequence>();
  saves = 0;
  failNextSave = false;
  async load(key: string) {
    return this.values.get(key);
  }
  async save(key: string, bound: bigint) {
    if (this.failNextSave) {
      this.failNextSave = false;
      throw new Error("disk full");
    }
    this.saves++;
    this.values.set(key, { kind: "bound", value: bound });
  }
  bound(key: string): bigint | undefined {
    const v = this.values.get(key);
    return v?.kind === "bound" ? v.value : undefined;
  }
}

/**
 * The first format's algorithm, kept to produce old-format records: it saved the block start and
 * resumed at start + the K of the running process.
 */
function runOldFormat(values: Map<string, StoredSequence>, key: string, k: bigint, uses: number): bigint[] {
  const last = values.get(key);
  let current = last === undefined ? 0n : last.value + k;
  values.set(key, { kind: "block-start", value: current });
  let blockEnd = current + k;
  const used: bigint[] = [];
  for (let i = 0; i < uses; i++) {
    if (current >= blockEnd) {
      values.set(key, { kind: "block-start", value: current });
      blockEnd = current + k;
    }
    used.push(current++);
  }
  return used;
}

async function take(r: SequenceReservation, n: number): Promise<bigint[]> {
  const out: bigint[] = [];
  for (let i = 0; i < n; i++) out.push(await r.next());
  return out;
}

describe("SequenceReservation (RFC 8613 Appendix B.1)", () => {
  it("persists the bound once per block of K, before the block's first number is used", async () => {
    const store = new MemoryStore();
    const r = await SequenceReservation.open(store, "k", 4n);
    expect(store.bound("k")).toBe(4n);
    const got: bigint[] = [];
    for (let i = 0; i < 9; i++) {
      const seq = await r.next();
      expect(seq < store.bound("k")!).toBe(true);
      got.push(seq);
    }
    expect(got).toEqual([0n, 1n, 2n, 3n, 4n, 5n, 6n, 7n, 8n]);
    expect(store.saves).toBe(3); // bounds 4, 8, 12
    expect(store.bound("k")).toBe(12n);
  });

  it("never reuses a number across restarts, wherever the crash happens", async () => {
    const K = 8n;
    for (let used = 0; used < 30; used++) {
      const store = new MemoryStore();
      const r1 = await SequenceReservation.open(store, "k", K);
      const seen = new Set(await take(r1, used));
      // Crash: r1 is abandoned; a fresh instance resumes from the store.
      const r2 = await SequenceReservation.open(store, "k", K);
      const first = await r2.next();
      const maxUsed = [...seen].reduce((m, x) => (x > m ? x : m), -1n);
      expect(first > maxUsed).toBe(true);
      for (const seq of await take(r2, 20)) expect(seen.has(seq)).toBe(false);
    }
  });

  it("a restart with a smaller block never hands out a number twice (1024, then 8)", async () => {
    const store = new MemoryStore();
    const r1 = await SequenceReservation.open(store, "k", 1024n);
    const before = await take(r1, 18);
    const r2 = await SequenceReservation.open(store, "k", 8n);
    const after = await take(r2, 30);
    expect(after.filter((seq) => before.includes(seq))).toEqual([]);
    expect(after[0]).toBe(1024n);
  });

  it("a crash between save and first use still skips the block", async () => {
    const store = new MemoryStore();
    await SequenceReservation.open(store, "k", 1024n); // reserved [0, 1024), nothing used
    const r = await SequenceReservation.open(store, "k", 1024n);
    expect(await r.next()).toBe(1024n);
  });

  it("a failed save hands out no number and the next call retries the save", async () => {
    const store = new MemoryStore();
    const r = await SequenceReservation.open(store, "k", 2n);
    expect(await take(r, 2)).toEqual([0n, 1n]);
    store.failNextSave = true;
    await expect(r.next()).rejects.toThrow("disk full");
    expect(await r.next()).toBe(2n);
    expect(store.bound("k")).toBe(4n);
  });

  it("serialises concurrent callers without duplicates", async () => {
    const store = new MemoryStore();
    const r = await SequenceReservation.open(store, "k", 3n);
    const all = await Promise.all(Array.from({ length: 50 }, () => r.next()));
    expect(new Set(all).size).toBe(50);
  });

  it("stops at the per-key limit; a spent key opens without a save and refuses next()", async () => {
    const store = new MemoryStore();
    store.values.set("k", { kind: "bound", value: LIMIT - 2n });
    const r = await SequenceReservation.open(store, "k", 1024n);
    expect(store.bound("k")).toBe(LIMIT); // the bound is capped at the limit
    expect(await r.next()).toBe(LIMIT - 2n);
    expect(await r.next()).toBe(LIMIT - 1n);
    await expectCodeAsync(r.next(), "E_LIMIT");

    const saves = store.saves;
    const spent = await SequenceReservation.open(store, "k", 2n);
    expect(store.saves).toBe(saves);
    expect(spent.peek).toBe(LIMIT);
    await expectCodeAsync(spent.next(), "E_LIMIT");
  });

  it("treats an old-format block start as a spent key, whatever block size wrote it", async () => {
    const store = new MemoryStore();
    const oldUsed = runOldFormat(store.values, "k", 100_000n, 5); // numbers 0..4, K_old unknown to us
    expect(oldUsed).toEqual([0n, 1n, 2n, 3n, 4n]);
    const r = await SequenceReservation.open(store, "k", 8n);
    expect(r.peek).toBe(LIMIT);
    await expectCodeAsync(r.next(), "E_LIMIT");
    // Nothing was written over the old record: the key stays spent on every later open.
    expect(store.values.get("k")).toEqual({ kind: "block-start", value: 0n });
  });

  it("property: no sequence of block sizes, uses, failed saves and restarts repeats a number", async () => {
    const step = fc.oneof(
      fc.record({
        op: fc.constant("restart" as const),
        k: fc.oneof(fc.bigInt({ min: 1n, max: 40n }), fc.constant(1024n)),
      }),
      fc.record({ op: fc.constant("use" as const), n: fc.integer({ min: 0, max: 60 }) }),
      fc.record({ op: fc.constant("fail-save" as const) }),
    );
    const oldRun = fc.option(
      fc.record({ k: fc.bigInt({ min: 1n, max: 5000n }), uses: fc.integer({ min: 0, max: 40 }) }),
      { freq: 2 },
    );
    await fc.assert(
      fc.asyncProperty(
        oldRun,
        fc.bigInt({ min: 1n, max: 40n }),
        fc.array(step, { maxLength: 25 }),
        async (old, k0, steps) => {
          const store = new MemoryStore();
          const seen = new Set<bigint>();
          if (old) for (const seq of runOldFormat(store.values, "k", old.k, old.uses)) seen.add(seq);
          let r = await SequenceReservation.open(store, "k", k0);
          let last = -1n;
          for (const s of steps) {
            if (s.op === "restart") {
              // The old instance is abandoned; an open whose save failed is retried, as a restart would.
              r = await SequenceReservation.open(store, "k", s.k).catch(() =>
                SequenceReservation.open(store, "k", s.k),
              );
              continue;
            }
            if (s.op === "fail-save") {
              store.failNextSave = true;
              continue;
            }
            for (let i = 0; i < s.n; i++) {
              let seq: bigint;
              try {
                seq = await r.next();
              } catch {
                continue; // a failed save or a spent key: no number handed out
              }
              expect(seen.has(seq)).toBe(false);
              expect(seq > last).toBe(true);
              expect(seq < store.bound("k")!).toBe(true); // persisted before use
              seen.add(seq);
              last = seq;
            }
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe("channel restart with SequenceReservation", () => {
  it("a sender rebuilt after a crash never repeats a sequence number the receiver saw", async () => {
    const f = fullSession({ seed: "restart" });
    const sk = f.s1.sessionKey.slice();
    const receiver = createChannel(f.s2).receiver;
    const store = new MemoryStore();
    const seen = new Set<bigint>();
    for (let life = 0; life < 3; life++) {
      // Each "life" rebuilds the channel from the persisted session key and the reservation.
      const res = await SequenceReservation.open(store, "session/i2r", 4n);
      const sender = createChannel({ ...f.s1, sessionKey: sk.slice() }, { startSeq: res.peek }).sender;
      for (let i = 0; i < 3 + life; i++) {
        const seq = await res.next();
        const { seq: got } = receiver.open(sender.seal(new Uint8Array([i]), f.now, seq), f.now);
        expect(seen.has(got)).toBe(false);
        seen.add(got);
      }
    }
    expect(seen.size).toBe(3 + 4 + 5);
  });
});
