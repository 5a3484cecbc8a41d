/**
 * Randomness source. Protocol steps take a {@link RandomSource} so tests can be deterministic;
 * production code uses {@link systemRandom} (the platform CSPRNG, crypto.getRandomValues).
 * @module
 */

/** Returns `n` bytes from a cryptographically secure generator. */
export type RandomSource = (n: number) => Uint8Array;

/** The platform CSPRNG (Web Crypto getRandomValues, which Node 20 exposes globally). */
export const systemRandom: RandomSource = (n) => {
  const out = new Uint8Array(n);
  // getRandomValues is limited to 65536 bytes per call.
  for (let o = 0; o < n; o += 65536)
    globalThis.crypto.getRandomValues(out.subarray(o, Math.min(n, o + 65536)));
  return out;
};

/**
 * Draw `n` bytes and check the source returned exactly that many.
 * @throws RangeError when the source misbehaves
 */
export function draw(random: RandomSource, n: number, field: string): Uint8Array {
  const out = random(n);
  if (!(out instanceof Uint8Array) || out.length !== n)
    throw new RangeError(`${field}: random source returned wrong length`);
  return out;
}
