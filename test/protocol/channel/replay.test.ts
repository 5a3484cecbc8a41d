import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { MAX_MESSAGES_PER_KEY, REPLAY_WINDOW } from "../../../protocol/constants";
import { ReplayWindow } from "../../../protocol/channel/replay";
import { expectCode } from "../expect-code";

/** The window as it was written first: one BigInt bitmap (RFC 4303 §3.4.3), the reference. */
class BigIntWindow {
  highest = -1n;
  private bitmap = 0n;
  private readonly size = BigInt(REPLAY_WINDOW);

  accepts(seq: bigint): boolean {
    if (seq > this.highest) return true;
    const age = this.highest - seq;
    return age < this.size && ((this.bitmap >> age) & 1n) === 0n;
  }

  commit(seq: bigint): void {
    if (seq > this.highest) {
      const shift = seq - this.highest;
      this.bitmap = shift >= this.size ? 1n : ((this.bitmap << shift) | 1n) & ((1n << this.size) - 1n);
      this.highest = seq;
    } else this.bitmap |= 1n << (this.highest - seq);
  }
}

function accepts(window: ReplayWindow, seq: number): boolean {
  try {
    window.check(seq);
    return true;
  } catch (error) {
    expectCode(() => {
      throw error;
    }, "E_REPLAY");
    return false;
  }
}

describe("replay window", () => {
  it("decides every frame as the BigInt bitmap it replaced, across jumps of every size", () => {
    // Sequences that move forward by 1–100 (crossing the 32-bit word boundary and the window's
    // edge), replay recent numbers and reach back up to 70, with forged frames that are checked
    // but never committed.
    const step = fc.oneof(
      fc.record({ kind: fc.constant("forward" as const), by: fc.integer({ min: 1, max: 100 }) }),
      fc.record({ kind: fc.constant("back" as const), by: fc.integer({ min: 0, max: 70 }) }),
      fc.record({ kind: fc.constant("forged" as const), by: fc.integer({ min: -70, max: 100 }) }),
    );
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 0xffff_0000 }),
        fc.array(step, { maxLength: 200 }),
        (start, steps) => {
          const ours = new ReplayWindow();
          const reference = new BigIntWindow();
          let top = start;
          for (const { kind, by } of steps) {
            const seq = Math.max(0, kind === "back" ? top - by : top + by);
            if (seq >= Number(MAX_MESSAGES_PER_KEY)) continue;
            const expected = reference.accepts(BigInt(seq));
            expect(accepts(ours, seq)).toBe(expected);
            if (expected && kind !== "forged") {
              ours.commit(seq);
              reference.commit(BigInt(seq));
              top = Math.max(top, seq);
            }
          }
          expect(ours.highestSeen).toBe(reference.highest);
        },
      ),
      { numRuns: 400 },
    );
  });

  it("keeps the 64 numbers at and below the highest: 63 back is in, 64 back is out", () => {
    const w = new ReplayWindow();
    w.commit(100);
    expect(accepts(w, 100 - 63)).toBe(true);
    expect(accepts(w, 100 - 64)).toBe(false);
    w.commit(100 - 63);
    expect(accepts(w, 100 - 63)).toBe(false);
    // A jump of exactly 32 moves the low word into the high one.
    w.commit(132);
    expect(accepts(w, 100)).toBe(false);
    expect(accepts(w, 99)).toBe(true);
    expect(accepts(w, 132 - 64)).toBe(false);
    expect(w.highestSeen).toBe(132n);
  });

  it("refuses a sequence number a frame cannot carry as a caller's bug, not as a replay", () => {
    const w = new ReplayWindow();
    for (const bad of [-1, 0.5, Number(MAX_MESSAGES_PER_KEY), Number.NaN])
      expect(() => w.check(bad)).toThrow(RangeError);
  });
});
