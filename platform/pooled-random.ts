/**
 * A {@link RandomSource} that draws from the operating system's CSPRNG in blocks: one
 * `crypto.randomFillSync` fills a small pool, and requests are served from it in order. The head
 * draws a few dozen bytes several times per grant and join (session key, session ID, kid,
 * challenges, ephemeral keys); a call into the CSPRNG per draw costs more than the bytes: 7.4 CPU
 * µs for `getRandomValues` of 32 bytes against 2.2 from this pool, refills included (one run on
 * a loaded machine; the grant's A/B is `measureGrantCryptoAB` in bench/lib/grant-crypto-ab.ts).
 *
 * Rules it keeps:
 * - no byte is handed out twice: each request takes the next unused bytes, and what is left when a
 *   request does not fit is discarded (overwritten by the next fill), never served;
 * - each request gets its own copy, so a caller may keep or wipe it without touching the pool;
 * - the bytes handed out are zeroed in the pool at once: the pool holds only bytes not yet used,
 *   at most `poolBytes` of future key material, and {@link PooledRandom.wipe} clears even those;
 * - requests larger than {@link MAX_POOLED_REQUEST} bypass the pool (filled directly), so the pool
 *   stays small and a large request does not drain it.
 * The pool lives in one process's memory only (Node does not fork a process with its heap), so two
 * processes never share a pool.
 * @module
 */
import { randomFillSync } from "node:crypto";
import type { RandomSource } from "../protocol";

/** Default pool size: 4 KiB, about a hundred grants' worth of draws. */
export const DEFAULT_POOL_BYTES = 4096;
/** Requests larger than this are filled directly instead of from the pool. */
export const MAX_POOLED_REQUEST = 256;

/** A pooled random source: call it like any {@link RandomSource}. */
export interface PooledRandom extends RandomSource {
  /** Overwrites the unused bytes with zeros; the next request fills the pool again. */
  wipe(): void;
}

export interface PooledRandomOptions {
  /** Pool size in bytes, {@link MAX_POOLED_REQUEST}..65536; default {@link DEFAULT_POOL_BYTES}. */
  poolBytes?: number;
  /** Fills a buffer with CSPRNG output; default `crypto.randomFillSync`. Tests observe the pool through it. */
  fill?: (buffer: Uint8Array) => void;
}

/**
 * Creates a pooled random source.
 * @throws RangeError when `poolBytes` is out of range
 */
export function pooledRandom(options: PooledRandomOptions = {}): PooledRandom {
  const poolBytes = options.poolBytes ?? DEFAULT_POOL_BYTES;
  if (!Number.isInteger(poolBytes) || poolBytes < MAX_POOLED_REQUEST || poolBytes > 65536)
    throw new RangeError(`poolBytes: must be an integer in ${MAX_POOLED_REQUEST}..65536`);
  const fill = options.fill ?? ((buffer: Uint8Array) => void randomFillSync(buffer));
  const pool = new Uint8Array(poolBytes);
  /** Bytes before `next` are used (and zeroed); the pool starts empty. */
  let next = poolBytes;

  const random = (n: number): Uint8Array => {
    if (!Number.isInteger(n) || n < 0) throw new RangeError("n: must be a non-negative integer");
    const out = new Uint8Array(n);
    if (n > MAX_POOLED_REQUEST) {
      fill(out);
      return out;
    }
    if (n > poolBytes - next) {
      fill(pool);
      next = 0;
    }
    out.set(pool.subarray(next, next + n));
    pool.fill(0, next, next + n);
    next += n;
    return out;
  };
  return Object.assign(random, {
    wipe(): void {
      pool.fill(0);
      next = poolBytes;
    },
  });
}
