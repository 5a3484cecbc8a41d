/**
 * The reading schema: each field's name, unit, wire type and valid range (docs/telemetry.md § Fields).
 * The data-set columns, the wire codec, the database columns and the validation all come from this
 * one table.
 * @module
 */
import { TelemetryError } from "./errors";

/** One reading of a patient's vitals, as the device measured it. */
export interface Reading {
  /** Device clock, milliseconds since the Unix epoch (UTC). */
  deviceTimeMs: number;
  /** Heart rate, beats per minute. */
  heartRateBpm: number;
  /** Peripheral oxygen saturation, percent. */
  spo2Percent: number;
  /** Systolic blood pressure, mmHg. */
  systolicMmHg: number;
  /** Diastolic blood pressure, mmHg; below systolic. */
  diastolicMmHg: number;
  /** Body temperature, hundredths of a degree Celsius (3712 = 37.12 °C). */
  temperatureCentiC: number;
  /** Respiratory rate, breaths per minute. */
  respiratoryRatePerMin: number;
}

/** A reading field name. */
export type ReadingField = keyof Reading;

/** How a field is described: units, wire type, inclusive range, data-set and database column. */
export interface FieldSpec {
  readonly name: ReadingField;
  readonly unit: string;
  /** Wire encoding: u8/u16 big-endian; deviceTimeMs is the batch's u64 base plus a u32 offset. */
  readonly wire: "u8" | "u16" | "u64 base + u32 offset";
  readonly min: number;
  readonly max: number;
  /** Column name in data-set CSV files, CSV exports and the database. */
  readonly column: string;
}

/** 2000-01-01T00:00:00Z: no device clock that reports earlier is plausible. */
export const MIN_DEVICE_TIME_MS = 946_684_800_000;
/** 2100-01-01T00:00:00Z (exclusive upper bound is this minus one). */
export const MAX_DEVICE_TIME_MS = 4_102_444_800_000 - 1;

/** The schema, in wire order. */
export const READING_FIELDS: readonly FieldSpec[] = [
  {
    name: "deviceTimeMs",
    unit: "ms since 1970-01-01 UTC",
    wire: "u64 base + u32 offset",
    min: MIN_DEVICE_TIME_MS,
    max: MAX_DEVICE_TIME_MS,
    column: "device_time_ms",
  },
  { name: "heartRateBpm", unit: "beats/min", wire: "u8", min: 20, max: 250, column: "heart_rate_bpm" },
  { name: "spo2Percent", unit: "%", wire: "u8", min: 50, max: 100, column: "spo2_percent" },
  { name: "systolicMmHg", unit: "mmHg", wire: "u8", min: 50, max: 250, column: "systolic_mmhg" },
  { name: "diastolicMmHg", unit: "mmHg", wire: "u8", min: 20, max: 180, column: "diastolic_mmhg" },
  {
    name: "temperatureCentiC",
    unit: "0.01 °C",
    wire: "u16",
    min: 3000,
    max: 4400,
    column: "temperature_centi_c",
  },
  {
    name: "respiratoryRatePerMin",
    unit: "breaths/min",
    wire: "u8",
    min: 4,
    max: 60,
    column: "respiratory_rate_per_min",
  },
];

/** The spec of one field. */
export function fieldSpec(name: ReadingField): FieldSpec {
  const spec = READING_FIELDS.find((f) => f.name === name);
  if (spec === undefined) throw new TypeError(`unknown reading field ${name}`);
  return spec;
}

/**
 * Check a reading against the schema: every field an integer in its range, diastolic below systolic.
 * @param reading - the reading (not modified)
 * @param position - its position in a batch, for the message only
 * @returns the same reading
 * @throws TelemetryError E_TELEMETRY_OUT_OF_RANGE naming the field (never the value)
 */
export function validateReading(reading: Reading, position?: number): Reading {
  const where = position === undefined ? "" : ` (reading ${position})`;
  if (typeof reading !== "object" || reading === null)
    throw new TelemetryError("E_TELEMETRY_OUT_OF_RANGE", `not a reading${where}`);
  for (const f of READING_FIELDS) {
    const v = reading[f.name];
    if (typeof v !== "number" || !Number.isInteger(v) || v < f.min || v > f.max)
      throw new TelemetryError(
        "E_TELEMETRY_OUT_OF_RANGE",
        `${f.name} must be an integer in [${f.min}, ${f.max}] ${f.unit}${where}`,
        f.name,
      );
  }
  if (reading.diastolicMmHg >= reading.systolicMmHg)
    throw new TelemetryError(
      "E_TELEMETRY_OUT_OF_RANGE",
      `diastolicMmHg must be below systolicMmHg${where}`,
      "diastolicMmHg",
    );
  return reading;
}
