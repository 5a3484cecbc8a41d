/**
 * The replay loop of `device publish` (docs/device.md § Publishing telemetry): readings go out in
 * batches (one ReadingBatch per channel frame, docs/telemetry.md), stay queued until the
 * collector's cumulative ack covers them, and are sent again after an ack timeout, or when the
 * session they went out on was rotated away before they were acknowledged. Re-sending is safe:
 * the collector stores a reading once per (stream, index).
 *
 * I/O comes in through {@link PublishLink}, so the loop is tested without a broker.
 */
import { type Ack, encodeReadingBatch, MAX_READINGS_PER_BATCH, type Reading } from "../../../telemetry";

export interface PublishLink {
  /** Encrypts and publishes one telemetry message to the collector; resolves on PUBACK. */
  send(message: Uint8Array): Promise<unknown>;
}

export interface PublishOptions {
  streamId: Uint8Array;
  /** Reading number `n` of the replay (0-based). */
  reading(n: number): Reading;
  /** Readings to send; undefined = until stopped (`--loop`). */
  total: number | undefined;
  /** Readings per second; undefined = as fast as the acks allow. */
  rate?: number;
  /** Most readings in one frame (≤ MAX_READINGS_PER_BATCH). */
  batchMax: number;
  /** Most readings sent and not yet acknowledged. */
  window: number;
  /** Re-send the unacknowledged readings when no ack progress came for this long. */
  ackTimeoutMs: number;
  /** After the last reading is sent, give up waiting for acks after this long. */
  finalTimeoutMs: number;
  now?: () => number;
  onProgress?: (p: PublishProgress) => void;
}

export interface PublishProgress {
  sent: number;
  acknowledged: number;
  total: number | undefined;
  elapsedMs: number;
}

export interface PublishSummary {
  /** Distinct readings sent (indexes 0 … sent − 1). */
  sent: number;
  /** Readings the collector acknowledged as stored. */
  acknowledged: number;
  /** Readings sent more than once (after an ack timeout or a rotation). */
  resent: number;
  frames: number;
  /** Telemetry bytes (frame plaintext) sent, re-sends included. */
  bytes: number;
  seconds: number;
  /** From the first send of a reading to the ack that covers it (device → collector → database → device). */
  ackLatencyMs: { p50: number; p99: number; max: number } | null;
}

/** With a rate, readings due within 1/TICKS_PER_S s go out in one frame (20 per second: 50 ms). */
const TICKS_PER_S = 20;

/** Re-sends without an ack in between wait at most this many ack timeouts. */
const MAX_BACKOFF = 8;

/** A wake-up that an ack, a stop or a timer can trigger. */
class Wakeup {
  private resolve: (() => void) | undefined;
  notify(): void {
    this.resolve?.();
    this.resolve = undefined;
  }
  wait(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        if (this.resolve === done) this.resolve = undefined;
        resolve();
      };
      const timer = setTimeout(done, Math.max(0, ms));
      this.resolve = done;
    });
  }
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))] as number;
}

export class ReadingPublisher {
  private next = 0;
  private acked = 0;
  private resent = 0;
  private frames = 0;
  private bytes = 0;
  private lastProgressAt = 0;
  /** Smoothed ack latency (ms), so a collector that is merely slow is not flooded with re-sends. */
  private ackLatencyMs = 0;
  /** Doubles with each re-send that brought no ack (capped), back to 1 on progress. */
  private backoff = 1;
  /** First-send time of each batch still unacknowledged: [first index, count, time]. */
  private readonly inFlight: [number, number, number][] = [];
  private readonly latencies: number[] = [];
  /** Re-send [acked, resendUpTo) before anything new. */
  private resendUpTo = 0;
  /** `next` when the current session took over; readings below it went out on an earlier key. */
  private nextAtRotation = 0;
  private stopped = false;
  /** First index of the frame being sent (new readings only), while its send runs. */
  private sendingFirst: number | undefined;
  private readonly wake = new Wakeup();
  private readonly now: () => number;
  private startedAt = 0;

  constructor(
    private readonly link: PublishLink,
    private readonly o: PublishOptions,
  ) {
    if (!Number.isInteger(o.batchMax) || o.batchMax < 1 || o.batchMax > MAX_READINGS_PER_BATCH)
      throw new RangeError(`batchMax: 1..${MAX_READINGS_PER_BATCH}`);
    this.now = o.now ?? Date.now;
  }

  /** The collector's ack for our stream (acks of other streams are the caller's to filter). */
  onAck(ack: Ack): void {
    if (ack.nextIndex <= this.acked || ack.nextIndex > this.next) return; // stale, or not ours to trust
    this.acked = ack.nextIndex;
    this.lastProgressAt = this.now();
    this.backoff = 1;
    while (this.inFlight.length > 0) {
      const [first, count, at] = this.inFlight[0] as [number, number, number];
      const covered = Math.min(first + count, this.acked) - first;
      if (covered <= 0) break;
      for (let i = 0; i < covered; i++) this.latencies.push(this.lastProgressAt - at);
      this.ackLatencyMs =
        this.ackLatencyMs === 0
          ? this.lastProgressAt - at
          : 0.8 * this.ackLatencyMs + 0.2 * (this.lastProgressAt - at);
      if (covered === count) this.inFlight.shift();
      else this.inFlight[0] = [first + covered, count - covered, at];
    }
    this.o.onProgress?.(this.progress());
    this.wake.notify();
  }

  /** The session we send on was replaced: what went out before it may need sending again. */
  onRotated(): void {
    // A rotation happens inside a send: that frame already goes out under the new key.
    this.nextAtRotation = this.sendingFirst ?? this.next;
  }

  /** The old session's drain is over: readings sent on it and still unacknowledged go again. */
  onOldSessionRetired(): void {
    if (this.acked < this.nextAtRotation) this.resendUpTo = Math.max(this.resendUpTo, this.nextAtRotation);
    this.wake.notify();
  }

  /** Stops sending new readings (`--loop` on Ctrl-C); the run still waits for the acks. */
  stop(): void {
    this.stopped = true;
    this.wake.notify();
  }

  progress(): PublishProgress {
    return {
      sent: this.next,
      acknowledged: this.acked,
      total: this.o.total,
      elapsedMs: this.now() - this.startedAt,
    };
  }

  /** Sends every reading (or until stopped), then waits for the acks; never throws on a missing ack. */
  async run(): Promise<PublishSummary> {
    this.startedAt = this.lastProgressAt = this.now();
    while (!this.stopped && (this.o.total === undefined || this.next < this.o.total)) {
      if (await this.resendIfDue()) continue;
      const room = this.o.window - (this.next - this.acked);
      if (room <= 0) {
        await this.wake.wait(this.ackDeadline() - this.now());
        continue;
      }
      let count = Math.min(room, this.o.batchMax, (this.o.total ?? Infinity) - this.next);
      if (this.o.rate !== undefined) {
        // Reading n is due at n / rate s; readings due within one tick share a frame.
        const want = Math.min(count, Math.ceil(this.o.rate / TICKS_PER_S));
        const allowed = Math.floor((this.o.rate * (this.now() - this.startedAt)) / 1000) + 1 - this.next;
        if (allowed < want) {
          await this.wake.wait(this.startedAt + ((this.next + want - 1) * 1000) / this.o.rate - this.now());
          continue;
        }
        count = Math.min(count, allowed);
      }
      if (this.acked === this.next) this.lastProgressAt = this.now(); // the ack clock starts at the first unacked send
      await this.sendRange(this.next, count, true);
    }
    const deadline = this.now() + this.o.finalTimeoutMs;
    while (this.acked < this.next && this.now() < deadline) {
      if (await this.resendIfDue()) continue;
      await this.wake.wait(Math.min(deadline, this.ackDeadline()) - this.now());
    }
    const sorted = [...this.latencies].sort((x, y) => x - y);
    return {
      sent: this.next,
      acknowledged: this.acked,
      resent: this.resent,
      frames: this.frames,
      bytes: this.bytes,
      seconds: (this.now() - this.startedAt) / 1000,
      ackLatencyMs:
        sorted.length === 0
          ? null
          : {
              p50: percentile(sorted, 50),
              p99: percentile(sorted, 99),
              max: sorted[sorted.length - 1] as number,
            },
    };
  }

  /**
   * When to give up waiting and re-send: `ackTimeoutMs` after the last progress, or three smoothed
   * ack latencies if the collector is slower than that, times the backoff.
   */
  private ackDeadline(): number {
    const timeout = Math.max(this.o.ackTimeoutMs, 3 * this.ackLatencyMs) * this.backoff;
    return this.lastProgressAt + timeout;
  }

  /** Re-sends [acked, …) after an ack timeout or a retired rotation; true when it sent something. */
  private async resendIfDue(): Promise<boolean> {
    let upTo = Math.min(this.resendUpTo, this.next);
    if (this.acked < this.next && this.now() >= this.ackDeadline()) {
      upTo = this.next;
      this.backoff = Math.min(MAX_BACKOFF, this.backoff * 2);
    }
    this.resendUpTo = 0;
    if (upTo <= this.acked) return false;
    for (let first = this.acked; first < upTo; first += this.o.batchMax) {
      const count = Math.min(this.o.batchMax, upTo - first);
      await this.sendRange(first, count, false);
      this.resent += count;
    }
    this.lastProgressAt = this.now();
    return true;
  }

  private async sendRange(first: number, count: number, isNew: boolean): Promise<void> {
    const readings = Array.from({ length: count }, (_, i) => this.o.reading(first + i));
    const message = encodeReadingBatch({ streamId: this.o.streamId, firstIndex: first, readings });
    if (isNew) {
      this.inFlight.push([first, count, this.now()]);
      this.next = first + count;
      this.sendingFirst = first;
    }
    try {
      await this.link.send(message);
    } finally {
      this.sendingFirst = undefined;
    }
    this.frames++;
    this.bytes += message.length;
    this.o.onProgress?.(this.progress());
  }
}
