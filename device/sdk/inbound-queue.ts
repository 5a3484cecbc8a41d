/**
 * Per-sender limits on inbound work (docs/device.md § Inbound limits, issue 19): one bounded
 * serial queue per sender, so a peer that floods us or waits on the head delays only its own
 * messages, and a token bucket per sender for session set-ups, which each cost a level write and a
 * blocking call to the head.
 */
import { DeviceError } from "./errors";

/** Limits on inbound work per sender. */
export interface InboundLimits {
  /** Session set-ups (SessionRequests) a peer may start back to back. Default 8. */
  setupBurst: number;
  /** One more set-up is allowed per this many ms, up to {@link setupBurst}. Default 10,000. */
  setupRefillMs: number;
  /** Messages from one sender (or from the head) waiting or in progress. Default 1024. */
  maxQueuedPerSender: number;
}

/**
 * Defaults: a legitimate peer starts one set-up per session (1 h by default) plus a retry per grant
 * timeout (10 s), well within 8 at once and one per 10 s. 1024 queued frames of up to 64 KiB bound
 * the memory one sender can hold at 64 MiB.
 */
export const DEFAULT_INBOUND_LIMITS: Readonly<InboundLimits> = Object.freeze({
  setupBurst: 8,
  setupRefillMs: 10_000,
  maxQueuedPerSender: 1024,
});

/**
 * Fills in and checks limits once, up front.
 * @throws DeviceError E_BAD_ARGUMENT naming the setting
 */
export function inboundLimits(given: Partial<InboundLimits> = {}): InboundLimits {
  const limits = { ...DEFAULT_INBOUND_LIMITS, ...given };
  for (const name of ["setupBurst", "setupRefillMs", "maxQueuedPerSender"] as const) {
    const v = limits[name];
    if (!Number.isSafeInteger(v) || v < 1)
      throw new DeviceError(
        "E_BAD_ARGUMENT",
        `inboundLimits.${name}: expected a positive integer, got ${String(v)}`,
      );
  }
  return limits;
}

interface Queue {
  tail: Promise<void>;
  /** Tasks waiting or running. */
  size: number;
}

/** Serial task queues, one per key, each holding at most `maxPerKey` tasks. */
export class KeyedQueues {
  private readonly queues = new Map<string, Queue>();

  constructor(
    private readonly maxPerKey: number,
    private readonly onError: (error: unknown) => void,
  ) {}

  /** True when `key`'s queue cannot take another task. */
  full(key: string): boolean {
    return this.size(key) >= this.maxPerKey;
  }

  /** Tasks of `key` waiting or running. */
  size(key: string): number {
    return this.queues.get(key)?.size ?? 0;
  }

  /**
   * Runs `task` after every task queued before under `key`; tasks of other keys run meanwhile.
   * A rejection goes to `onError`. @returns false (nothing queued) when the queue is full.
   */
  push(key: string, task: () => Promise<void>): boolean {
    let q = this.queues.get(key);
    if (!q) {
      q = { tail: Promise.resolve(), size: 0 };
      this.queues.set(key, q);
    }
    if (q.size >= this.maxPerKey) return false;
    const queue = q;
    queue.size++;
    queue.tail = queue.tail
      .then(task)
      .catch(this.onError)
      .finally(() => {
        if (--queue.size === 0 && this.queues.get(key) === queue) this.queues.delete(key);
      });
    return true;
  }

  /** Resolves when every task queued so far, under every key, has finished. */
  async idle(): Promise<void> {
    await Promise.all([...this.queues.values()].map((q) => q.tail));
  }
}

interface Bucket {
  tokens: number;
  at: number;
}

/** Token buckets per key: `burst` tokens, one more every `refillMs`. */
export class TokenBuckets {
  private readonly buckets = new Map<string, Bucket>();

  constructor(
    private readonly burst: number,
    private readonly refillMs: number,
    /** Full buckets are forgotten once this many keys are tracked (a full bucket is the default). */
    private readonly sweepAbove = 1024,
  ) {}

  /** Takes a token for `key` at time `now` (ms); false when none is left. */
  take(key: string, now: number): boolean {
    const tokens = this.level(key, now);
    if (tokens < 1) return false;
    this.buckets.set(key, { tokens: tokens - 1, at: now });
    if (this.buckets.size > this.sweepAbove) this.sweep(now);
    return true;
  }

  private level(key: string, now: number): number {
    const b = this.buckets.get(key);
    if (!b) return this.burst;
    // A clock that goes back refills nothing.
    return Math.min(this.burst, b.tokens + Math.max(0, now - b.at) / this.refillMs);
  }

  private sweep(now: number): void {
    for (const key of [...this.buckets.keys()])
      if (this.level(key, now) >= this.burst) this.buckets.delete(key);
  }
}
