/**
 * The pooled random source: every byte it hands out comes from the CSPRNG's output in order and
 * is handed out once, lengths are exact, large requests bypass the pool, and what was handed out
 * does not stay in the pool. The CSPRNG is observed through the `fill` option (a recording wrapper
 * around the real randomFillSync), so the test can tell where each byte came from.
 */
import { randomFillSync } from "node:crypto";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { MAX_POOLED_REQUEST, pooledRandom } from "../../platform/pooled-random";

/** A pooled source whose fills are recorded: `fills[i]` is a copy of what the i-th fill wrote. */
function recorded(poolBytes: number) {
  const fills: { target: Uint8Array; bytes: Uint8Array }[] = [];
  const random = pooledRandom({
    poolBytes,
    fill: (target) => {
      randomFillSync(target);
      fills.push({ target, bytes: target.slice() });
    },
  });
  return { random, fills };
}

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");

describe("pooledRandom", () => {
  it("hands out the pool's bytes in order, each once, and refills when a request does not fit", () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: MAX_POOLED_REQUEST + 64 }), { minLength: 1, maxLength: 120 }),
        (lengths) => {
          const { random, fills } = recorded(512);
          // Where the pool's next unused byte is: fill index and offset (the pool starts empty).
          let poolFill = -1;
          let offset = 512;
          for (const n of lengths) {
            const fillsBefore = fills.length;
            const out = random(n);
            expect(out.length).toBe(n);
            if (n > MAX_POOLED_REQUEST) {
              // Filled directly, exactly once, into the caller's own array; the pool is untouched.
              expect(fills.length).toBe(fillsBefore + 1);
              expect(fills[fillsBefore]!.target).toBe(out);
              continue;
            }
            if (n > 512 - offset) {
              // Refilled only because the rest did not fit; the rest is never handed out.
              expect(fills.length).toBe(fillsBefore + 1);
              poolFill = fillsBefore;
              offset = 0;
            } else expect(fills.length).toBe(fillsBefore);
            if (n === 0) continue; // nothing to take, from an empty pool too
            expect(hex(out)).toBe(hex(fills[poolFill]!.bytes.subarray(offset, offset + n)));
            offset += n;
          }
        },
      ),
      { numRuns: 200 },
    );
  });

  it("never hands out the same bytes twice over many refills (real CSPRNG, 16-byte draws)", () => {
    const random = pooledRandom({ poolBytes: 256 });
    const seen = new Set<string>();
    for (let i = 0; i < 5000; i++) seen.add(hex(random(16)));
    expect(seen.size).toBe(5000);
  });

  it("gives each request its own copy and zeroes the handed-out bytes in the pool", () => {
    const { random, fills } = recorded(256);
    const a = random(32);
    const b = random(32);
    const pool = fills[0]!.target;
    expect(a.buffer).not.toBe(pool.buffer);
    expect(b.buffer).not.toBe(a.buffer);
    expect(pool.subarray(0, 64).every((x) => x === 0)).toBe(true);
    expect(hex(pool.subarray(64))).toBe(hex(fills[0]!.bytes.subarray(64)));
    a.fill(0); // a caller wiping its copy touches nothing else
    expect(hex(b)).toBe(hex(fills[0]!.bytes.subarray(32, 64)));
  });

  it("serves requests larger than the pool and of length zero", () => {
    const random = pooledRandom({ poolBytes: 256 });
    expect(random(0).length).toBe(0);
    const big = random(100_000);
    expect(big.length).toBe(100_000);
    expect(big.some((x) => x !== 0)).toBe(true);
  });

  it("wipe() zeroes the unused bytes and the next request fills the pool again", () => {
    const { random, fills } = recorded(256);
    random(8);
    random.wipe();
    expect(fills[0]!.target.every((x) => x === 0)).toBe(true);
    const after = random(8);
    expect(fills.length).toBe(2);
    expect(hex(after)).toBe(hex(fills[1]!.bytes.subarray(0, 8)));
  });

  it("refuses a bad pool size and a bad request length", () => {
    for (const poolBytes of [0, MAX_POOLED_REQUEST - 1, 65537, 1.5])
      expect(() => pooledRandom({ poolBytes }), `poolBytes ${poolBytes}`).toThrow(RangeError);
    const random = pooledRandom();
    for (const n of [-1, 1.5, Number.NaN]) expect(() => random(n), `n ${n}`).toThrow(RangeError);
  });
});
