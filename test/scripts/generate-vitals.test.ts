import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { generateVitals, VITALS_COLUMNS, VITALS_DEFAULTS, vitalsCsv } from "../../scripts/generate-vitals";
import { READING_FIELDS, validateReading } from "../../telemetry";

const COMMITTED = resolve(__dirname, "../../data/vitals.csv");

describe("scripts/generate-vitals.ts", () => {
  it("reproduces the committed data/vitals.csv byte for byte from its seed", () => {
    expect(vitalsCsv(VITALS_DEFAULTS)).toBe(readFileSync(COMMITTED, "utf8"));
  });

  it("gives other data for another seed and the same data for the same seed", () => {
    const a = vitalsCsv({ seed: 7, rows: 20 });
    expect(vitalsCsv({ seed: 7, rows: 20 })).toBe(a);
    expect(vitalsCsv({ seed: 8, rows: 20 })).not.toBe(a);
  });

  it("writes the documented header, one row per patient per interval, in time order", () => {
    const lines = vitalsCsv({ patients: 3, rows: 5, intervalS: 30 }).trimEnd().split("\n");
    expect(lines[0]).toBe(VITALS_COLUMNS.join(","));
    expect(VITALS_COLUMNS.slice(2)).toEqual(READING_FIELDS.map((f) => f.column));
    expect(lines).toHaveLength(1 + 3 * 5);
    const rows = lines.slice(1).map((l) => l.split(","));
    expect(rows.slice(0, 3).map((r) => r[1])).toEqual(["P01", "P02", "P03"]);
    expect(Date.parse(rows[3]![0]!) - Date.parse(rows[0]![0]!)).toBe(30_000);
  });

  it("yields only readings the telemetry schema accepts, and not flat ones", () => {
    const rows = [...generateVitals(VITALS_DEFAULTS)];
    expect(rows).toHaveLength(VITALS_DEFAULTS.patients * VITALS_DEFAULTS.rows);
    for (const { timestamp, patient: _p, ...reading } of rows) {
      expect(() => validateReading(reading)).not.toThrow();
      expect(Date.parse(timestamp)).toBe(reading.deviceTimeMs);
    }
    const spread = (f: (r: (typeof rows)[number]) => number) =>
      Math.max(...rows.map(f)) - Math.min(...rows.map(f));
    expect(spread((r) => r.heartRateBpm)).toBeGreaterThan(15);
    expect(spread((r) => r.spo2Percent)).toBeGreaterThan(4);
    expect(spread((r) => r.temperatureCentiC)).toBeGreaterThan(80);
  });

  it("refuses a non-integer or empty size naming the option", () => {
    expect(() => [...generateVitals({ patients: 0 })]).toThrow(/patients/);
    expect(() => [...generateVitals({ rows: 1.5 })]).toThrow(/rows/);
    expect(() => [...generateVitals({ intervalS: -1 })]).toThrow(/intervalS/);
  });
});
