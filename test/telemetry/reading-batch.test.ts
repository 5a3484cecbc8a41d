import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  decodeReadingBatch,
  encodeReadingBatch,
  isTelemetryError,
  MAX_BATCH_SIZE,
  MAX_READING_INDEX,
  MAX_READINGS_PER_BATCH,
  READING_FIELDS,
  type Reading,
  readingBatchSize,
  TelemetryError,
  type TelemetryErrorCode,
  TelemetrySize,
} from "../../telemetry";
import { batchArb, sampleReading } from "./arbitraries";

const streamId = Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8]);

function expectRefused(fn: () => unknown, code: TelemetryErrorCode): TelemetryError {
  try {
    fn();
  } catch (e) {
    expect(isTelemetryError(e, code), String(e)).toBe(true);
    return e as TelemetryError;
  }
  throw new Error(`expected ${code}`);
}

function validBatchBytes(count = 3): Uint8Array {
  const t = Date.UTC(2026, 0, 1);
  return encodeReadingBatch({
    streamId,
    firstIndex: 10,
    readings: Array.from({ length: count }, (_, i) => sampleReading(t + i * 1000)),
  });
}

describe("ReadingBatch codec", () => {
  it("round-trips any valid batch and has the documented size", () => {
    fc.assert(
      fc.property(batchArb, (batch) => {
        const bytes = encodeReadingBatch(batch);
        expect(bytes.length).toBe(TelemetrySize.BATCH_HEADER + TelemetrySize.READING * batch.readings.length);
        expect(decodeReadingBatch(bytes)).toEqual(batch);
      }),
      { numRuns: 300 },
    );
  });

  it("encodes a fixed batch to the same bytes (format change detector)", () => {
    const bytes = encodeReadingBatch({
      streamId,
      firstIndex: 7,
      readings: [
        sampleReading(Date.UTC(2026, 0, 1)),
        { ...sampleReading(Date.UTC(2026, 0, 1) + 1000), heartRateBpm: 200 },
      ],
    });
    expect(Buffer.from(bytes).toString("hex")).toBe(
      "0130" +
        "0102030405060708" +
        "00000007" +
        "0002" +
        "0000019b76daa800" +
        "00000000" +
        "48" +
        "62" +
        "78" +
        "50" +
        "0e6a" +
        "0e" +
        "000003e8" +
        "c8" +
        "62" +
        "78" +
        "50" +
        "0e6a" +
        "0e",
    );
  });

  it.each(READING_FIELDS.map((f) => [f.name, f] as const))(
    "accepts %s at both edges of its range",
    (_n, f) => {
      for (const edge of [f.min, f.max]) {
        const r: Reading = { ...sampleReading(), [f.name]: edge };
        if (f.name === "systolicMmHg") r.diastolicMmHg = Math.min(r.diastolicMmHg, edge - 1);
        if (f.name === "diastolicMmHg") r.systolicMmHg = Math.max(r.systolicMmHg, edge + 1);
        const batch = { streamId, firstIndex: 0, readings: [r] };
        expect(decodeReadingBatch(encodeReadingBatch(batch))).toEqual(batch);
      }
    },
  );

  it.each(READING_FIELDS.map((f) => [f.name, f] as const))(
    "refuses %s one step outside its range, naming the field but not the value",
    (_n, f) => {
      for (const bad of [f.min - 1, f.max + 1, f.min + 0.5]) {
        const r = { ...sampleReading(), [f.name]: bad };
        const e = expectRefused(
          () => encodeReadingBatch({ streamId, firstIndex: 0, readings: [r] }),
          "E_TELEMETRY_OUT_OF_RANGE",
        );
        expect(e.field).toBe(f.name);
        expect(e.message).not.toContain(String(bad));
      }
    },
  );

  it.each([
    ["heart rate", 28, 0],
    ["SpO2", 29, 101],
    ["systolic", 30, 251],
    ["diastolic", 31, 19],
    ["respiratory rate", 34, 3],
  ] as const)("refuses a received batch whose %s byte is out of range", (_n, offset, value) => {
    const bytes = validBatchBytes(1);
    bytes[offset] = value;
    expectRefused(() => decodeReadingBatch(bytes), "E_TELEMETRY_OUT_OF_RANGE");
  });

  it("refuses a received batch whose temperature is out of range", () => {
    const bytes = validBatchBytes(1);
    new DataView(bytes.buffer).setUint16(32, 4401);
    expectRefused(() => decodeReadingBatch(bytes), "E_TELEMETRY_OUT_OF_RANGE");
  });

  it("refuses diastolic pressure not below systolic", () => {
    const r = { ...sampleReading(), systolicMmHg: 90, diastolicMmHg: 90 };
    expectRefused(
      () => encodeReadingBatch({ streamId, firstIndex: 0, readings: [r] }),
      "E_TELEMETRY_OUT_OF_RANGE",
    );
    const bytes = validBatchBytes(1);
    bytes[31] = bytes[30] as number;
    expectRefused(() => decodeReadingBatch(bytes), "E_TELEMETRY_OUT_OF_RANGE");
  });

  it("refuses a base time before 2000 or from 2100 on", () => {
    for (const t of [Date.UTC(1999, 11, 31, 23, 59, 59, 999), Date.UTC(2100, 0, 1)]) {
      const bytes = validBatchBytes(1);
      new DataView(bytes.buffer).setBigUint64(16, BigInt(t));
      expectRefused(() => decodeReadingBatch(bytes), "E_TELEMETRY_OUT_OF_RANGE");
    }
    const bytes = validBatchBytes(1);
    new DataView(bytes.buffer).setBigUint64(16, 2n ** 64n - 1n);
    expectRefused(() => decodeReadingBatch(bytes), "E_TELEMETRY_OUT_OF_RANGE");
  });

  it("refuses a batch whose base time is not its earliest reading's (non-canonical)", () => {
    const bytes = validBatchBytes(2);
    new DataView(bytes.buffer).setUint32(24, 5);
    expectRefused(() => decodeReadingBatch(bytes), "E_TELEMETRY_MALFORMED");
  });

  it("refuses every truncation and every trailing byte", () => {
    const bytes = validBatchBytes(3);
    for (let n = 0; n < bytes.length; n++)
      expect(() => decodeReadingBatch(bytes.subarray(0, n))).toThrow(TelemetryError);
    const longer = new Uint8Array(bytes.length + 1);
    longer.set(bytes);
    expectRefused(() => decodeReadingBatch(longer), "E_TELEMETRY_MALFORMED");
  });

  it("refuses a count that disagrees with the length, and a count of zero", () => {
    const bytes = validBatchBytes(3);
    new DataView(bytes.buffer).setUint16(14, 2);
    expectRefused(() => decodeReadingBatch(bytes), "E_TELEMETRY_MALFORMED");
    new DataView(bytes.buffer).setUint16(14, 0);
    expectRefused(() => decodeReadingBatch(bytes), "E_TELEMETRY_MALFORMED");
    expectRefused(
      () => encodeReadingBatch({ streamId, firstIndex: 0, readings: [] }),
      "E_TELEMETRY_MALFORMED",
    );
  });

  it("refuses more readings than one batch may carry (oversized)", () => {
    const t = Date.UTC(2026, 0, 1);
    const readings = Array.from({ length: MAX_READINGS_PER_BATCH + 1 }, (_, i) => sampleReading(t + i));
    expectRefused(() => encodeReadingBatch({ streamId, firstIndex: 0, readings }), "E_TELEMETRY_TOO_LARGE");
    expect(encodeReadingBatch({ streamId, firstIndex: 0, readings: readings.slice(1) }).length).toBe(
      MAX_BATCH_SIZE,
    );
    const header = validBatchBytes(1).subarray(0, TelemetrySize.BATCH_HEADER);
    const big = new Uint8Array(readingBatchSize(MAX_READINGS_PER_BATCH + 1));
    big.set(header);
    new DataView(big.buffer).setUint16(14, MAX_READINGS_PER_BATCH + 1);
    expectRefused(() => decodeReadingBatch(big), "E_TELEMETRY_TOO_LARGE");
  });

  it("refuses an index range past the last index, and accepts one ending on it", () => {
    const r = sampleReading();
    expectRefused(
      () => encodeReadingBatch({ streamId, firstIndex: MAX_READING_INDEX, readings: [r, r] }),
      "E_TELEMETRY_OUT_OF_RANGE",
    );
    const last = { streamId, firstIndex: MAX_READING_INDEX, readings: [r] };
    expect(decodeReadingBatch(encodeReadingBatch(last))).toEqual(last);
    const bytes = encodeReadingBatch(last);
    new DataView(bytes.buffer).setUint32(10, MAX_READING_INDEX + 1);
    expectRefused(() => decodeReadingBatch(bytes), "E_TELEMETRY_OUT_OF_RANGE");
  });

  it("refuses a batch spanning more time than a u32 offset holds", () => {
    const t = Date.UTC(2026, 0, 1);
    expectRefused(
      () =>
        encodeReadingBatch({
          streamId,
          firstIndex: 0,
          readings: [sampleReading(t), sampleReading(t + 2 ** 32)],
        }),
      "E_TELEMETRY_OUT_OF_RANGE",
    );
  });

  it("refuses an unknown version as unsupported and another message type as malformed", () => {
    const bytes = validBatchBytes(1);
    bytes[0] = 2;
    expectRefused(() => decodeReadingBatch(bytes), "E_TELEMETRY_UNSUPPORTED");
    bytes[0] = 1;
    bytes[1] = 0x20;
    expectRefused(() => decodeReadingBatch(bytes), "E_TELEMETRY_UNSUPPORTED");
    bytes[1] = 0x31;
    expectRefused(() => decodeReadingBatch(bytes), "E_TELEMETRY_MALFORMED");
  });

  it("refuses anything that is not bytes", () => {
    expectRefused(() => decodeReadingBatch("0130" as unknown as Uint8Array), "E_TELEMETRY_MALFORMED");
  });

  it("never throws anything but a TelemetryError on random bytes", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        try {
          decodeReadingBatch(bytes);
        } catch (e) {
          expect(e).toBeInstanceOf(TelemetryError);
        }
      }),
      { numRuns: 500 },
    );
  });
});
