/**
 * Buffers decoded frames and writes them in batches: one transaction per flush, flushed when
 * `batchSize` readings wait or `flushMs` after the first arrived. Only after a commit is a stream
 * acknowledged, with its frontier read back from the database (docs/telemetry.md § Acks). A failed
 * flush keeps its frames, marks the database down and retries with backoff; meanwhile nothing is
 * acknowledged, so devices keep their queues.
 * @module
 */
import type { Logger } from "pino";
import type { CollectorMetrics } from "../metrics";
import type { ReadingStore, StoredReading } from "../storage/reading-store";

/** One received frame's readings, all of one stream. */
export interface PendingFrame {
  deviceId: Uint8Array;
  deviceIdHex: string;
  streamId: Uint8Array;
  readings: StoredReading[];
  /** performance.now() at arrival, for the ack lag. */
  arrivedAt: number;
}

/** Tells a device how far its stream is stored. */
export type SendAck = (deviceIdHex: string, streamId: Uint8Array, nextIndex: number) => void;

export interface BatchWriterOptions {
  batchSize: number;
  flushMs: number;
  maxBuffered: number;
  /** First retry delay after a failed flush; doubles up to {@link MAX_RETRY_MS}. */
  retryMs?: number;
}

const MAX_RETRY_MS = 2_000;
/** Frontiers remembered; past this the oldest stream is forgotten (and read again when it returns). */
const MAX_STREAMS = 10_000;

export class BatchWriter {
  private queue: PendingFrame[] = [];
  private queued = 0;
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> | undefined;
  private retryDelay: number;
  private down = false;
  private stopped = false;
  /** Per `${device}/${stream}`: every index below it is stored. */
  private readonly frontiers = new Map<string, number>();
  private readonly idleWaiters: (() => void)[] = [];

  constructor(
    private readonly store: ReadingStore,
    private readonly sendAck: SendAck,
    private readonly metrics: CollectorMetrics,
    private readonly logger: Logger,
    private readonly options: BatchWriterOptions,
  ) {
    this.retryDelay = options.retryMs ?? 100;
    metrics.databaseUp.set(1);
  }

  /** False from a failed write until the next one succeeds. */
  get databaseUp(): boolean {
    return !this.down;
  }

  /** Readings waiting for the database. */
  get buffered(): number {
    return this.queued;
  }

  /**
   * Queues a frame. Refused (false) when the buffer is full: the frame is dropped unacknowledged
   * and the device sends it again.
   */
  add(frame: PendingFrame): boolean {
    if (this.stopped || this.queued + frame.readings.length > this.options.maxBuffered) return false;
    this.queue.push(frame);
    this.queued += frame.readings.length;
    this.metrics.buffered.set(this.queued);
    this.schedule();
    return true;
  }

  private schedule(): void {
    if (this.flushing || this.stopped || this.queue.length === 0) return;
    if (this.down) return; // the retry timer is running
    if (this.queued >= this.options.batchSize) {
      this.clearTimer();
      this.startFlush();
    } else if (!this.timer) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.startFlush();
      }, this.options.flushMs);
    }
  }

  private clearTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private startFlush(): void {
    if (this.flushing || this.queue.length === 0) return;
    this.flushing = this.flush().finally(() => {
      this.flushing = undefined;
      if (this.queue.length === 0) for (const w of this.idleWaiters.splice(0)) w();
      else this.schedule();
    });
  }

  /** Takes whole frames up to the batch size (at least one frame). */
  private take(): PendingFrame[] {
    const taken: PendingFrame[] = [];
    let n = 0;
    while (
      this.queue.length > 0 &&
      (taken.length === 0 || n + this.queue[0]!.readings.length <= this.options.batchSize)
    ) {
      const f = this.queue.shift()!;
      taken.push(f);
      n += f.readings.length;
    }
    return taken;
  }

  private async flush(): Promise<void> {
    const frames = this.take();
    const rows = frames.flatMap((f) => f.readings);
    let inserted: number;
    try {
      inserted = await this.store.insert(rows);
    } catch (error) {
      // Put them back in order; nothing of them is acknowledged.
      this.queue.unshift(...frames);
      this.metrics.storageErrors.inc();
      if (!this.down)
        this.logger.warn({ err: errorSummary(error) }, "database write failed; not acknowledging, retrying");
      this.down = true;
      this.metrics.databaseUp.set(0);
      const delay = this.retryDelay;
      this.retryDelay = Math.min(this.retryDelay * 2, MAX_RETRY_MS);
      if (!this.stopped)
        this.timer = setTimeout(() => {
          this.timer = undefined;
          this.startFlush();
        }, delay);
      return;
    }
    if (this.down) this.logger.info("database writes succeed again; acknowledging");
    this.down = false;
    this.metrics.databaseUp.set(1);
    this.retryDelay = this.options.retryMs ?? 100;
    this.queued -= rows.length;
    this.metrics.buffered.set(this.queued);
    this.metrics.stored.inc(inserted);
    this.metrics.duplicates.inc(rows.length - inserted);
    this.metrics.batchSize.observe(rows.length);
    await this.acknowledge(frames);
  }

  /** After a commit: one ack per stream in the batch, with the frontier the database now has. */
  private async acknowledge(frames: PendingFrame[]): Promise<void> {
    const streams = new Map<string, { frame: PendingFrame; arrivedAt: number }>();
    for (const f of frames) {
      const key = `${f.deviceIdHex}/${Buffer.from(f.streamId).toString("hex")}`;
      const seen = streams.get(key);
      streams.set(key, { frame: f, arrivedAt: Math.min(seen?.arrivedAt ?? Infinity, f.arrivedAt) });
    }
    for (const [key, { frame, arrivedAt }] of streams) {
      let next: number;
      try {
        next = await this.store.frontier(frame.deviceId, frame.streamId, this.frontiers.get(key) ?? 0);
      } catch (error) {
        // Committed but not acknowledged: the device re-sends, the rows are not duplicated.
        this.logger.warn({ err: errorSummary(error) }, "could not read a stream's frontier; ack deferred");
        continue;
      }
      this.remember(key, next);
      this.sendAck(frame.deviceIdHex, frame.streamId, next);
      this.metrics.ackLag.observe((performance.now() - arrivedAt) / 1000);
    }
  }

  private remember(key: string, next: number): void {
    this.frontiers.delete(key);
    this.frontiers.set(key, next);
    if (this.frontiers.size > MAX_STREAMS)
      this.frontiers.delete(this.frontiers.keys().next().value as string);
  }

  /** Resolves when the buffer is empty (everything committed). */
  idle(): Promise<void> {
    if (this.queue.length === 0 && !this.flushing) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /**
   * Stops accepting frames and writes what is buffered, trying for at most `timeoutMs`; what is
   * left unwritten was never acknowledged, so the devices send it again.
   */
  async stop(timeoutMs = 5_000): Promise<void> {
    this.stopped = true;
    this.clearTimer();
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (this.flushing) await this.flushing;
      if (this.queue.length === 0 || this.down) break;
      this.startFlush();
    }
    this.clearTimer();
  }
}

/** An error for a log line: its code and message, never query parameters. */
function errorSummary(error: unknown): { code?: string; message: string } {
  const e = error as { code?: unknown; message?: unknown };
  return {
    ...(typeof e?.code === "string" ? { code: e.code } : {}),
    message: typeof e?.message === "string" ? e.message.slice(0, 200) : String(error),
  };
}
