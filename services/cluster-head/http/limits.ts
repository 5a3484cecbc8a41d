/**
 * Abuse limits at the HTTP edge (docs/api.md § Limits): per-source token buckets, a global bound
 * on concurrent signature work, and refusal of bodies a route does not take. Each refusal is
 * cheap (no body parsed, no database touched, no ECDSA), answers with a typed error and a
 * `Retry-After` where waiting helps, and is counted in `iotguard_limit_refusals_total`.
 */
import { isIPv4, isIPv6 } from "node:net";
import type { RequestHandler } from "express";
import { HeadError } from "../errors";
import type { HeadMetrics } from "../metrics";

/** Which limit refused a request (the `limit` label of `iotguard_limit_refusals_total`). */
export type LimitName = "rate_join" | "rate_api" | "busy" | "body";

/**
 * Token buckets keyed by source: each source holds up to `burst` tokens, refilled at `ratePerS`
 * per second; a request takes one. At most `maxSources` buckets are kept; past that the source
 * seen least recently is forgotten (its next request starts with a full bucket), so a flood of
 * new sources costs bounded memory.
 */
export class TokenBuckets {
  // Map order is recency order: a bucket is re-inserted on every use, so the first is the oldest.
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  /**
   * @param ratePerS - tokens added per second (> 0)
   * @param burst - bucket size (≥ 1)
   * @param maxSources - buckets kept at most (≥ 1)
   * @param now - a monotonic clock in milliseconds
   */
  constructor(
    private readonly ratePerS: number,
    private readonly burst: number,
    private readonly maxSources: number,
    private readonly now: () => number = () => performance.now(),
  ) {
    if (!(ratePerS > 0) || !(burst >= 1) || !(maxSources >= 1))
      throw new RangeError("TokenBuckets: ratePerS > 0, burst ≥ 1 and maxSources ≥ 1");
  }

  /**
   * Takes one token from `source`'s bucket.
   * @returns 0 when taken, else the milliseconds until a token will be there (nothing taken)
   */
  take(source: string): number {
    const now = this.now();
    let bucket = this.buckets.get(source);
    if (bucket) {
      this.buckets.delete(source);
      bucket.tokens = Math.min(this.burst, bucket.tokens + ((now - bucket.at) * this.ratePerS) / 1000);
      bucket.at = now;
    } else {
      if (this.buckets.size >= this.maxSources) this.buckets.delete(this.buckets.keys().next().value!);
      bucket = { tokens: this.burst, at: now };
    }
    this.buckets.set(source, bucket);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return 0;
    }
    // The epsilon absorbs floating-point residue (0.998 tokens must mean 1 ms, not 2).
    return Math.max(1, Math.ceil(((1 - bucket.tokens) * 1000) / this.ratePerS - 1e-6));
  }

  /** Buckets currently kept. */
  get size(): number {
    return this.buckets.size;
  }
}

/**
 * The source a request is limited as: its peer IPv4 address (IPv4-mapped IPv6 unwrapped), or the
 * /64 prefix of its IPv6 address, since one IPv6 host commonly holds a whole /64. Forwarding
 * headers are ignored: a client can write any of them.
 */
export function sourceOf(req: { socket: { remoteAddress?: string | undefined } }): string {
  const address = req.socket.remoteAddress ?? "";
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return mapped[1]!;
  if (isIPv4(address) || !isIPv6(address)) return address;
  return `${expandIPv6(address).slice(0, 4).join(":")}::/64`;
}

/** The eight 16-bit groups of an IPv6 address, in lowercase hex without leading zeros. */
function expandIPv6(address: string): string[] {
  const [head = "", tail] = address.toLowerCase().split("%")[0]!.split("::") as [string, string?];
  const left = head ? head.split(":") : [];
  const right = tail ? tail.split(":") : [];
  const groups =
    tail === undefined ? left : [...left, ...Array(8 - left.length - right.length).fill("0"), ...right];
  return groups.map((g) => Number.parseInt(g, 16).toString(16));
}

/** The addresses exempt from per-source limits, as {@link sourceOf} names them. */
export function exemptSources(addresses: readonly string[]): Set<string> {
  return new Set(addresses.map((address) => sourceOf({ socket: { remoteAddress: address } })));
}

/** Seconds for a `Retry-After` header: at least 1 (HTTP counts whole seconds). */
function retryAfterSeconds(ms: number): string {
  return String(Math.max(1, Math.ceil(ms / 1000)));
}

/**
 * Per-source rate limit: a request whose source has no token left is refused with
 * `E_RATE_LIMITED` (429) and `Retry-After`, before its body is read.
 */
export function rateLimit(
  buckets: TokenBuckets,
  limit: Extract<LimitName, "rate_join" | "rate_api">,
  exempt: ReadonlySet<string>,
  metrics: HeadMetrics,
): RequestHandler {
  return (req, res, next) => {
    const source = sourceOf(req);
    if (exempt.has(source)) return next();
    const waitMs = buckets.take(source);
    if (waitMs === 0) return next();
    metrics.limitRefusals.inc({ limit });
    res.setHeader("retry-after", retryAfterSeconds(waitMs));
    next(new HeadError("E_RATE_LIMITED", "too many requests from this source; retry later"));
  };
}

/**
 * A global bound on requests doing signature work at once. Past `max` in flight, a request is
 * refused with `E_HEAD_BUSY` (503) and `Retry-After: 1` before its handler runs, so it costs no
 * ECDSA and consumes nothing (its challenge stays usable). A slot is held from here until the
 * answer is sent or the connection closes; put it after body parsing, so a slow sender holds a
 * socket but never a slot.
 */
export function concurrencyGate(max: number, metrics: HeadMetrics): RequestHandler {
  let inFlight = 0;
  return (_req, res, next) => {
    if (inFlight >= max) {
      metrics.limitRefusals.inc({ limit: "busy" });
      res.setHeader("retry-after", "1");
      next(new HeadError("E_HEAD_BUSY", "the head is busy; retry later"));
      return;
    }
    inFlight++;
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      inFlight--;
    };
    res.once("finish", release);
    res.once("close", release);
    next();
  };
}

/**
 * For routes that take no body: refuses a request that announces one (a non-zero
 * `Content-Length` or any `Transfer-Encoding`) with `E_VALIDATION`, without reading it.
 */
export const noBody: RequestHandler = (req, _res, next) => {
  const length = req.headers["content-length"];
  if (req.headers["transfer-encoding"] !== undefined || (length !== undefined && length !== "0")) {
    next(new HeadError("E_VALIDATION", "this route takes no body"));
    return;
  }
  next();
};
