/**
 * ReadingBatch codec (docs/telemetry.md § ReadingBatch):
 * version (1) | type 0x30 (1) | stream ID (8) | first index (u32) | count (u16) | base time (u64 ms) |
 * count × [ time offset (u32 ms) | heart rate (u8) | SpO2 (u8) | systolic (u8) | diastolic (u8) |
 *           temperature (u16, 0.01 °C) | respiratory rate (u8) ].
 * Big-endian. Reading i has index firstIndex + i. Canonical: the base time is the earliest reading's,
 * so one offset is 0 and every batch has exactly one encoding.
 * @module
 */
import {
  MAX_BATCH_TIME_SPAN_MS,
  MAX_READING_INDEX,
  MAX_READINGS_PER_BATCH,
  TELEMETRY_VERSION,
  TelemetryMessageType,
  TelemetrySize,
} from "./constants";
import { TelemetryError } from "./errors";
import { MAX_DEVICE_TIME_MS, MIN_DEVICE_TIME_MS, type Reading, validateReading } from "./fields";
import { checkStreamId, expectType, viewOf } from "./header";

/** Consecutive readings of one stream. */
export interface ReadingBatch {
  /** 8 random bytes the device chose for this publishing run. */
  streamId: Uint8Array;
  /** Index of the first reading in the stream (0-based); reading i has index firstIndex + i. */
  firstIndex: number;
  /** 1 to MAX_READINGS_PER_BATCH readings. */
  readings: Reading[];
}

/** Wire size of a batch of `count` readings. */
export function readingBatchSize(count: number): number {
  return TelemetrySize.BATCH_HEADER + count * TelemetrySize.READING;
}

function checkIndexRange(firstIndex: number, count: number): void {
  if (count < 1) throw new TelemetryError("E_TELEMETRY_MALFORMED", "a batch carries at least one reading");
  if (count > MAX_READINGS_PER_BATCH)
    throw new TelemetryError("E_TELEMETRY_TOO_LARGE", `more than ${MAX_READINGS_PER_BATCH} readings`);
  if (!Number.isSafeInteger(firstIndex) || firstIndex < 0 || firstIndex + count - 1 > MAX_READING_INDEX)
    throw new TelemetryError("E_TELEMETRY_OUT_OF_RANGE", "reading index out of range", "index");
}

/**
 * Encode a batch. Every reading is validated first, so a device cannot send what the collector
 * would refuse.
 * @throws TelemetryError E_TELEMETRY_OUT_OF_RANGE (a field, the index range, or a time span over
 *   ~49.7 days), E_TELEMETRY_TOO_LARGE (too many readings), E_TELEMETRY_MALFORMED (no readings)
 * @example encodeReadingBatch({ streamId: randomBytes(8), firstIndex: 0, readings })
 */
export function encodeReadingBatch(batch: ReadingBatch): Uint8Array {
  checkStreamId(batch.streamId);
  const { readings } = batch;
  checkIndexRange(batch.firstIndex, readings.length);
  let base = Number.POSITIVE_INFINITY;
  readings.forEach((r, i) => {
    validateReading(r, i);
    if (r.deviceTimeMs < base) base = r.deviceTimeMs;
  });
  const out = new Uint8Array(readingBatchSize(readings.length));
  const view = viewOf(out);
  out[0] = TELEMETRY_VERSION;
  out[1] = TelemetryMessageType.READING_BATCH;
  out.set(batch.streamId, 2);
  view.setUint32(10, batch.firstIndex);
  view.setUint16(14, readings.length);
  view.setBigUint64(16, BigInt(base));
  let o = TelemetrySize.BATCH_HEADER;
  for (const r of readings) {
    const offset = r.deviceTimeMs - base;
    if (offset > MAX_BATCH_TIME_SPAN_MS)
      throw new TelemetryError("E_TELEMETRY_OUT_OF_RANGE", "batch spans too long a time", "deviceTimeMs");
    view.setUint32(o, offset);
    out[o + 4] = r.heartRateBpm;
    out[o + 5] = r.spo2Percent;
    out[o + 6] = r.systolicMmHg;
    out[o + 7] = r.diastolicMmHg;
    view.setUint16(o + 8, r.temperatureCentiC);
    out[o + 10] = r.respiratoryRatePerMin;
    o += TelemetrySize.READING;
  }
  return out;
}

/**
 * Decode and validate a batch. Strict: exact length for the count, every field in range, the base
 * time the earliest reading's, no trailing bytes. A batch with one bad reading is refused whole.
 * @param bytes - the channel plaintext
 * @throws TelemetryError E_TELEMETRY_MALFORMED, E_TELEMETRY_UNSUPPORTED, E_TELEMETRY_TOO_LARGE or
 *   E_TELEMETRY_OUT_OF_RANGE; the message names the field, never its value
 */
export function decodeReadingBatch(bytes: Uint8Array): ReadingBatch {
  expectType(bytes, TelemetryMessageType.READING_BATCH);
  if (bytes.length < TelemetrySize.BATCH_HEADER)
    throw new TelemetryError("E_TELEMETRY_MALFORMED", "truncated batch header");
  const view = viewOf(bytes);
  const firstIndex = view.getUint32(10);
  const count = view.getUint16(14);
  checkIndexRange(firstIndex, count);
  if (bytes.length !== readingBatchSize(count))
    throw new TelemetryError(
      "E_TELEMETRY_MALFORMED",
      bytes.length < readingBatchSize(count) ? "truncated batch" : "trailing bytes",
    );
  const base = view.getBigUint64(16);
  if (base < BigInt(MIN_DEVICE_TIME_MS) || base > BigInt(MAX_DEVICE_TIME_MS))
    throw new TelemetryError("E_TELEMETRY_OUT_OF_RANGE", "base time out of range", "deviceTimeMs");
  const baseMs = Number(base);
  const readings: Reading[] = new Array<Reading>(count);
  let sawBase = false;
  let o = TelemetrySize.BATCH_HEADER;
  for (let i = 0; i < count; i++) {
    const offset = view.getUint32(o);
    if (offset === 0) sawBase = true;
    readings[i] = validateReading(
      {
        deviceTimeMs: baseMs + offset,
        heartRateBpm: bytes[o + 4] as number,
        spo2Percent: bytes[o + 5] as number,
        systolicMmHg: bytes[o + 6] as number,
        diastolicMmHg: bytes[o + 7] as number,
        temperatureCentiC: view.getUint16(o + 8),
        respiratoryRatePerMin: bytes[o + 10] as number,
      },
      i,
    );
    o += TelemetrySize.READING;
  }
  if (!sawBase) throw new TelemetryError("E_TELEMETRY_MALFORMED", "base time is not the earliest reading's");
  return { streamId: bytes.slice(2, 10), firstIndex, readings };
}
