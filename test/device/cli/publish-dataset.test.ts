import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { parseDataset, readDataset, replayReading } from "../../../device/cli/commands/publish-dataset";
import { VITALS_DEFAULTS } from "../../../scripts/generate-vitals";

const HEADER =
  "timestamp,patient,device_time_ms,heart_rate_bpm,spo2_percent,systolic_mmhg,diastolic_mmhg,temperature_centi_c,respiratory_rate_per_min";
const row = (patient: string, t: number, hr = 70) => `x,${patient},${t},${hr},97,120,80,3680,14`;

describe("device publish: the data set", () => {
  it("reads the committed data set: the first patient's rows by default, another with --patient", () => {
    const file = resolve(__dirname, "../../../data/vitals.csv");
    const first = readDataset(file);
    expect(first.patient).toBe("P01");
    expect(first.patients).toEqual(["P01", "P02", "P03", "P04"]);
    expect(first.readings).toHaveLength(VITALS_DEFAULTS.rows);
    expect(readDataset(file, "P03").readings[0]).not.toEqual(first.readings[0]);
  });

  it("finds columns by name, whatever their order, and ignores extra ones", () => {
    const text = `heart_rate_bpm,extra,device_time_ms,spo2_percent,systolic_mmhg,diastolic_mmhg,temperature_centi_c,respiratory_rate_per_min\n71,zz,1767254400000,97,120,80,3680,14\n`;
    const d = parseDataset(text, "f.csv");
    expect(d.patient).toBeUndefined();
    expect(d.readings).toEqual([
      {
        deviceTimeMs: 1767254400000,
        heartRateBpm: 71,
        spo2Percent: 97,
        systolicMmHg: 120,
        diastolicMmHg: 80,
        temperatureCentiC: 3680,
        respiratoryRatePerMin: 14,
      },
    ]);
  });

  it("refuses a bad file naming the line and column, never the value", () => {
    const cases: [string, RegExp][] = [
      ["timestamp,patient,device_time_ms\n", /line 1: missing column\(s\) heart_rate_bpm/],
      [
        `${HEADER}\n${row("P01", 1767254400000, 999)}\n`,
        /line 2: .*heartRateBpm must be an integer in \[20, 250\]/,
      ],
      [
        `${HEADER}\n${row("P01", 1767254400000).replace(",70,", ",7x,")}\n`,
        /line 2: heart_rate_bpm is not an integer/,
      ],
      [`${HEADER}\n${row("P01", 1767254400000)},9\n`, /line 2: 10 cells, the header has 9/],
      [
        `${HEADER}\n${row("P01", 1767254400000)}\n${row("P01", 1767254400000)}\n`,
        /device_time_ms must increase/,
      ],
      [`${HEADER}\n`, /no readings/],
    ];
    for (const [text, message] of cases) {
      let error: unknown;
      try {
        parseDataset(text, "bad.csv");
      } catch (e) {
        error = e;
      }
      expect(error).toMatchObject({ code: "E_BAD_ARGUMENT", message: expect.stringMatching(message) });
      expect((error as Error).message).not.toContain("999");
    }
    expect(() => parseDataset(`${HEADER}\n${row("P01", 1)}\n`, "f.csv", "P09")).toThrow(
      /no rows for patient "P09"/,
    );
  });

  it("refuses a missing file with E_BAD_ARGUMENT", () => {
    const dir = mkdtempSync(join(tmpdir(), "iotguard-dataset-"));
    try {
      expect(() => readDataset(join(dir, "none.csv"))).toThrow(
        expect.objectContaining({ code: "E_BAD_ARGUMENT", message: expect.stringContaining("ENOENT") }),
      );
      writeFileSync(join(dir, "ok.csv"), `${HEADER}\n${row("P01", 1767254400000)}\n`);
      expect(readDataset(join(dir, "ok.csv")).readings).toHaveLength(1);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("loops the data set with device time still increasing", () => {
    const d = parseDataset(
      `${HEADER}\n${row("P01", 1_000_000_000_000)}\n${row("P01", 1_000_000_010_000)}\n`,
      "f.csv",
    );
    const times = Array.from({ length: 6 }, (_, n) => replayReading(d.readings, n).deviceTimeMs);
    expect(times).toEqual([0, 10_000, 20_000, 30_000, 40_000, 50_000].map((x) => 1_000_000_000_000 + x));
  });
});
