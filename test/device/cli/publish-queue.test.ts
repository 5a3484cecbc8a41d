/**
 * The replay loop of `device publish` against an in-memory collector that stores readings once per
 * (stream, index) and answers cumulative acks, as the real collector does; the end-to-end run on
 * real processes is test/device/cli/publish.test.ts.
 */
import { describe, expect, it } from "vitest";
import { ReadingPublisher } from "../../../device/cli/commands/publish-queue";
import { decodeReadingBatch, type Reading } from "../../../telemetry";

const reading = (n: number): Reading => ({
  deviceTimeMs: 1_767_254_400_000 + n * 1000,
  heartRateBpm: 60 + (n % 50),
  spo2Percent: 97,
  systolicMmHg: 120,
  diastolicMmHg: 80,
  temperatureCentiC: 3680,
  respiratoryRatePerMin: 14,
});

/** Stores readings by index, acks after each frame unless told to drop it. */
function collector(o: { dropAck?: (frame: number) => boolean; dropFrame?: (frame: number) => boolean } = {}) {
  const stored = new Map<number, Reading>();
  const frames: { firstIndex: number; count: number }[] = [];
  let publisher: ReadingPublisher | undefined;
  let contiguous = 0;
  return {
    stored,
    frames,
    attach(p: ReadingPublisher) {
      publisher = p;
    },
    async send(message: Uint8Array) {
      const n = frames.length;
      const batch = decodeReadingBatch(message);
      frames.push({ firstIndex: batch.firstIndex, count: batch.readings.length });
      if (o.dropFrame?.(n)) return;
      batch.readings.forEach((r, i) => stored.set(batch.firstIndex + i, r));
      while (stored.has(contiguous)) contiguous++;
      const ack = { streamId: batch.streamId, nextIndex: contiguous };
      if (!o.dropAck?.(n)) setImmediate(() => publisher?.onAck(ack));
    },
  };
}

const base = {
  streamId: new Uint8Array(8).fill(7),
  reading,
  batchMax: 16,
  window: 64,
  ackTimeoutMs: 50,
  finalTimeoutMs: 2000,
};

describe("ReadingPublisher", () => {
  it("sends every reading once in batches and finishes when all are acknowledged", async () => {
    const c = collector();
    const p = new ReadingPublisher(c, { ...base, total: 100 });
    c.attach(p);
    const s = await p.run();
    expect(s).toMatchObject({ sent: 100, acknowledged: 100, resent: 0 });
    expect(c.frames.length).toBeLessThanOrEqual(Math.ceil(100 / 16) + 1);
    expect([...c.stored.keys()].sort((x, y) => x - y)).toEqual(Array.from({ length: 100 }, (_, i) => i));
    expect(c.stored.get(42)).toEqual(reading(42));
    expect(s.ackLatencyMs?.p99).toBeGreaterThanOrEqual(0);
  });

  it("re-sends after an ack timeout when a frame is lost, and every index is stored", async () => {
    const c = collector({ dropFrame: (n) => n === 2 });
    const p = new ReadingPublisher(c, { ...base, total: 80 });
    c.attach(p);
    const s = await p.run();
    expect(s.acknowledged).toBe(80);
    expect(s.resent).toBeGreaterThan(0);
    expect(c.stored.size).toBe(80);
  });

  it("re-sends what went out on a rotated-away session once it is retired unacknowledged", async () => {
    let rotatedAt = -1;
    const c = collector({ dropAck: (n) => n >= 1 && rotatedAt < 0, dropFrame: (n) => n === 1 });
    const p = new ReadingPublisher(c, { ...base, total: 32, ackTimeoutMs: 60_000, window: 32 });
    c.attach(p);
    const run = p.run();
    await new Promise((r) => setTimeout(r, 30));
    rotatedAt = c.frames.length;
    p.onRotated();
    p.onOldSessionRetired();
    const s = await run;
    expect(s).toMatchObject({ sent: 32, acknowledged: 32 });
    expect(s.resent).toBe(16);
    expect(c.stored.size).toBe(32);
  });

  it("paces a --rate and puts the readings due within a tick into one frame", async () => {
    const c = collector();
    const p = new ReadingPublisher(c, { ...base, total: 60, rate: 400, batchMax: 64, window: 1000 });
    c.attach(p);
    const t0 = Date.now();
    const s = await p.run();
    const elapsed = Date.now() - t0;
    // 60 readings at 400/s take ≥ ~150 ms; 20 readings are due per 50 ms tick.
    expect(elapsed).toBeGreaterThanOrEqual(140);
    expect(s.acknowledged).toBe(60);
    expect(Math.max(...c.frames.map((f) => f.count))).toBeGreaterThan(1);
    expect(c.frames.length).toBeLessThan(20);
  });

  it("gives up after the final timeout and reports what was not acknowledged", async () => {
    const c = collector({ dropAck: () => true });
    const p = new ReadingPublisher(c, { ...base, total: 10, ackTimeoutMs: 20, finalTimeoutMs: 150 });
    c.attach(p);
    const s = await p.run();
    expect(s).toMatchObject({ sent: 10, acknowledged: 0 });
    expect(s.resent).toBeGreaterThan(0);
    expect(s.ackLatencyMs).toBeNull();
  });

  it("ignores an ack beyond what was sent (nothing unsent counts as stored)", async () => {
    const c = collector({ dropAck: () => true });
    const p = new ReadingPublisher(c, { ...base, total: 5, ackTimeoutMs: 20, finalTimeoutMs: 100 });
    c.attach(p);
    const run = p.run();
    p.onAck({ streamId: base.streamId, nextIndex: 1000 });
    expect((await run).acknowledged).toBe(0);
  });
});
