/** fast-check arbitraries for readings and batches, built from the field table. */
import fc from "fast-check";
import {
  MAX_BATCH_TIME_SPAN_MS,
  MAX_READING_INDEX,
  MAX_READINGS_PER_BATCH,
  READING_FIELDS,
  type Reading,
  type ReadingBatch,
} from "../../telemetry";

const spec = Object.fromEntries(READING_FIELDS.map((f) => [f.name, f]));
const range = (name: string) => fc.integer({ min: spec[name]!.min, max: spec[name]!.max });

/** A valid reading at `baseMs` plus an offset. */
export function readingAt(baseMs: number, maxOffset = 60_000): fc.Arbitrary<Reading> {
  return fc
    .record({
      offset: fc.integer({ min: 0, max: maxOffset }),
      heartRateBpm: range("heartRateBpm"),
      spo2Percent: range("spo2Percent"),
      systolicMmHg: fc.integer({ min: spec.systolicMmHg!.min, max: spec.systolicMmHg!.max }),
      diastolicFraction: fc.double({ min: 0, max: 1, noNaN: true }),
      temperatureCentiC: range("temperatureCentiC"),
      respiratoryRatePerMin: range("respiratoryRatePerMin"),
    })
    .map(({ offset, diastolicFraction, ...r }) => {
      const minD = spec.diastolicMmHg!.min;
      const maxD = Math.min(spec.diastolicMmHg!.max, r.systolicMmHg - 1);
      return {
        deviceTimeMs: baseMs + offset,
        ...r,
        diastolicMmHg: minD + Math.floor(diastolicFraction * (maxD - minD)),
      };
    });
}

/** A valid batch: 1..max readings, the index range and time span inside the limits. */
export const batchArb: fc.Arbitrary<ReadingBatch> = fc
  .record({
    streamId: fc.uint8Array({ minLength: 8, maxLength: 8 }),
    count: fc.integer({ min: 1, max: 40 }),
    baseMs: fc.integer({ min: spec.deviceTimeMs!.min, max: spec.deviceTimeMs!.max - MAX_BATCH_TIME_SPAN_MS }),
  })
  .chain(({ streamId, count, baseMs }) =>
    fc.record({
      streamId: fc.constant(streamId),
      firstIndex: fc.integer({ min: 0, max: MAX_READING_INDEX - count + 1 }),
      readings: fc.array(readingAt(baseMs, MAX_BATCH_TIME_SPAN_MS), { minLength: count, maxLength: count }),
    }),
  );

/** A plausible reading for fixed-value tests. */
export function sampleReading(deviceTimeMs = Date.UTC(2026, 0, 1)): Reading {
  return {
    deviceTimeMs,
    heartRateBpm: 72,
    spo2Percent: 98,
    systolicMmHg: 120,
    diastolicMmHg: 80,
    temperatureCentiC: 3690,
    respiratoryRatePerMin: 14,
  };
}

export { MAX_READINGS_PER_BATCH };
