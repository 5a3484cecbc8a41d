import { describe, expect, it } from "vitest";
import { createChannel, SequenceReservation, type SequenceReservationStore } from "../../../protocol";
import { expectCodeAsync } from "../expect-code";
import { fullSession } from "../grant-fixture";

/** In-memory store that records every save, optionally failing. */
class MemoryStore implements SequenceReservationStore {
  readonly values = new Map<string, bigint>();
  saves = 0;
  async load(key: string) {
    return this.values.get(key);
  }
  async save(key: string, value: bigint) {
    this.saves++;
    this.values.set(key, value);
  }
}

describe("SequenceReservation (RFC 8613 Appendix B.1)", () => {
  it("persists once per block of K", async () => {
    const store = new MemoryStore();
    const r = await SequenceReservation.open(store, "k", 4n);
    const got: bigint[] = [];
    for (let i = 0; i < 9; i++) got.push(await r.next());
    expect(got).toEqual([0n, 1n, 2n, 3n, 4n, 5n, 6n, 7n, 8n]);
    expect(store.saves).toBe(3); // blocks starting at 0, 4, 8
    expect(store.values.get("k")).toBe(8n);
  });

  it("never reuses a number across restarts, wherever the crash happens", async () => {
    const K = 8n;
    for (let used = 0; used < 30; used++) {
      const store = new MemoryStore();
      const r1 = await SequenceReservation.open(store, "k", K);
      const seen = new Set<bigint>();
      for (let i = 0; i < used; i++) seen.add(await r1.next());
      // Crash: r1 is abandoned; a fresh instance resumes from the store.
      const r2 = await SequenceReservation.open(store, "k", K);
      const first = await r2.next();
      expect(seen.has(first)).toBe(false);
      const maxUsed = [...seen].reduce((m, x) => (x > m ? x : m), -1n);
      expect(first > maxUsed).toBe(true);
      for (let i = 0; i < 20; i++) expect(seen.has(await r2.next())).toBe(false);
    }
  });

  it("a crash between save and first use still skips the block", async () => {
    const store = new MemoryStore();
    await SequenceReservation.open(store, "k", 1024n); // reserved [0, 1024), nothing used
    const r = await SequenceReservation.open(store, "k", 1024n);
    expect(await r.next()).toBe(1024n);
  });

  it("serialises concurrent callers without duplicates", async () => {
    const store = new MemoryStore();
    const r = await SequenceReservation.open(store, "k", 3n);
    const all = await Promise.all(Array.from({ length: 50 }, () => r.next()));
    expect(new Set(all).size).toBe(50);
  });

  it("stops at the per-key limit", async () => {
    const store = new MemoryStore();
    store.values.set("k", 2n ** 32n - 2n);
    await expectCodeAsync(SequenceReservation.open(store, "k", 2n), "E_LIMIT");
    store.values.set("k", 2n ** 32n - 4n);
    const r = await SequenceReservation.open(store, "k", 2n);
    expect(await r.next()).toBe(2n ** 32n - 2n);
    expect(await r.next()).toBe(2n ** 32n - 1n);
    await expectCodeAsync(r.next(), "E_LIMIT");
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
