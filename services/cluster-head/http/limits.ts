/**
 * Abuse limits at the HTTP edge (docs/api.md § Limits): per-source token buckets, a global bound
 * on concurrent signature work, and refusal of bodies a route does not take. Each refusal is
 * cheap (no body parsed, no database touched, no ECDSA), answers with a typed error and a
 * `Retry-After` where waiting helps, and is counted in `iotguard_limit_refusals_total`.
 */
import { isIPv6 } from "node:net";
import type { RequestHandler } from "express";
import type { HeadConfig } from "../config";
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
  // The common case, checked first: without a colon it can only be IPv4 (or nothing).
  if (!address.includes(":")) return address;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return mapped[1]!;
  if (!isIPv6(address)) return address;
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

/** A refusal by one of the limits: the error to answer and, where waiting helps, `Retry-After`. */
export interface LimitRefusal {
  error: HeadError;
  /** Seconds for the `Retry-After` header. */
  retryAfter?: string;
}

/**
 * Per-source rate limit as a plain function: takes one token from the source's bucket, or refuses
 * with `E_RATE_LIMITED` (429) and `Retry-After` (counted in `iotguard_limit_refusals_total`).
 * Exempt sources always pass. One limit (one set of buckets) serves every path a request can take.
 * @returns undefined when the request may go on, else its refusal
 */
export type SourceLimit = (source: string) => LimitRefusal | undefined;

/** Builds the {@link SourceLimit} over `buckets`, counted as `limit`. */
export function sourceLimit(
  buckets: TokenBuckets,
  limit: Extract<LimitName, "rate_join" | "rate_api">,
  exempt: ReadonlySet<string>,
  metrics: HeadMetrics,
): SourceLimit {
  return (source) => {
    if (exempt.has(source)) return undefined;
    const waitMs = buckets.take(source);
    if (waitMs === 0) return undefined;
    metrics.limitRefusals.inc({ limit });
    return {
      error: new HeadError("E_RATE_LIMITED", "too many requests from this source; retry later"),
      retryAfter: retryAfterSeconds(waitMs),
    };
  };
}

/**
 * Express middleware over a {@link SourceLimit}: a request whose source has no token left is
 * refused before its body is read.
 */
export function rateLimit(limit: SourceLimit): RequestHandler {
  return (req, res, next) => {
    const refusal = limit(sourceOf(req));
    if (!refusal) return next();
    if (refusal.retryAfter) res.setHeader("retry-after", refusal.retryAfter);
    next(refusal.error);
  };
}

/**
 * A global bound on requests doing signature work at once. Past `max` in flight, a request is
 * refused with `E_HEAD_BUSY` (503) and `Retry-After: 1` before its handler runs, so it costs no
 * ECDSA and consumes nothing (its challenge stays usable). Enter after the body is read, so a slow
 * sender holds a socket but never a slot.
 */
export class ConcurrencyGate {
  private inFlight = 0;

  /**
   * @param max - requests admitted at once (≥ 1)
   * @param metrics - where `busy` refusals are counted
   */
  constructor(
    private readonly max: number,
    private readonly metrics: HeadMetrics,
  ) {}

  /**
   * Takes a slot.
   * @returns the function that gives the slot back (idempotent), or the refusal when all are taken
   */
  enter(): (() => void) | LimitRefusal {
    if (this.inFlight >= this.max) {
      this.metrics.limitRefusals.inc({ limit: "busy" });
      return { error: new HeadError("E_HEAD_BUSY", "the head is busy; retry later"), retryAfter: "1" };
    }
    this.inFlight++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.inFlight--;
    };
  }
}

/**
 * For routes that take no body: whether a request announces one (a non-zero `Content-Length` or
 * any `Transfer-Encoding`), which such a route refuses with `E_VALIDATION` without reading it.
 */
export function announcesBody(headers: {
  "content-length"?: string | undefined;
  "transfer-encoding"?: string | undefined;
}): boolean {
  const length = headers["content-length"];
  return headers["transfer-encoding"] !== undefined || (length !== undefined && length !== "0");
}

/** The limits at the HTTP edge, built once per head and shared by the Express app and the protocol endpoint. */
export interface EdgeLimits {
  /** Per-source API bucket: every request, whichever path serves it, takes one token. */
  api: SourceLimit;
  /** Per-source join bucket, shared by the challenge and the join. */
  join: SourceLimit;
  /** The global bound on joins being verified, after the body is read and before any ECDSA. */
  joinGate: ConcurrencyGate;
}

/** Builds the {@link EdgeLimits} from the head's settings. */
export function edgeLimits(
  config: Pick<
    HeadConfig,
    | "apiRate"
    | "apiBurst"
    | "joinRate"
    | "joinBurst"
    | "rateLimitSources"
    | "rateLimitExempt"
    | "maxConcurrentJoins"
  >,
  metrics: HeadMetrics,
): EdgeLimits {
  const exempt = exemptSources(config.rateLimitExempt);
  return {
    api: sourceLimit(
      new TokenBuckets(config.apiRate, config.apiBurst, config.rateLimitSources),
      "rate_api",
      exempt,
      metrics,
    ),
    join: sourceLimit(
      new TokenBuckets(config.joinRate, config.joinBurst, config.rateLimitSources),
      "rate_join",
      exempt,
      metrics,
    ),
    joinGate: new ConcurrencyGate(config.maxConcurrentJoins, metrics),
  };
}
