/**
 * A seeded synthetic bedside-vitals data set (columns in data/README.md): a few patients, one row
 * per patient every `intervalS` seconds, with heart rate, SpO2, blood pressure, temperature and
 * respiratory rate. Each patient has a baseline; values drift back towards it (a mean-reverting
 * random walk), carry measurement noise, and now and then go through an episode (fever with
 * tachycardia and faster breathing, or desaturation) so the data is not flat. Same seed, same
 * bytes: `data/vitals.csv` is this script's output for {@link VITALS_DEFAULTS}, and a test checks it.
 *
 * `tsx scripts/generate-vitals.ts [--seed S] [--patients N] [--rows R] [--interval-s T] [--out FILE]`
 * writes the CSV (stdout without --out).
 * @module
 */
import { writeFileSync } from "node:fs";
import { READING_FIELDS, type Reading } from "../telemetry";

/**
 * The CSV header (documented in data/README.md): a readable `timestamp` and the
 * `patient`, then one column per reading field under the field table's column names, in wire order.
 */
export const VITALS_COLUMNS: readonly string[] = [
  "timestamp",
  "patient",
  ...READING_FIELDS.map((f) => f.column),
];

/** One row: a reading as the device will send it, rounded the way a bedside monitor reports it. */
export interface VitalsRow extends Reading {
  /** ISO 8601 UTC, whole seconds (the same instant as `deviceTimeMs`, for people reading the file). */
  timestamp: string;
  /** `P01`, `P02`, … */
  patient: string;
}

export interface VitalsOptions {
  seed: number;
  patients: number;
  /** Rows per patient. */
  rows: number;
  /** Seconds between two rows of one patient. */
  intervalS: number;
  /** Unix ms of the first row; fixed by default so the output is reproducible. */
  startMs?: number;
}

/** The options `data/vitals.csv` was made with: 4 patients × 300 rows, one every 10 s (50 min). */
export const VITALS_DEFAULTS: Readonly<Required<VitalsOptions>> = Object.freeze({
  seed: 20261128,
  patients: 4,
  rows: 300,
  intervalS: 10,
  startMs: Date.UTC(2026, 0, 1, 8, 0, 0),
});

/** mulberry32: a small, fast, seedable 32-bit PRNG (not for keys; for data sets only). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

function clamp(x: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, x));
}

/** A normal-ish draw (sum of three uniforms, mean 0, sd ≈ 1): cheap and deterministic. */
function noise(rand: () => number): number {
  return (rand() + rand() + rand() - 1.5) * 2;
}

function checkInteger(name: string, v: number, min: number): void {
  if (!Number.isSafeInteger(v) || v < min) throw new RangeError(`${name}: expected an integer ≥ ${min}`);
}

/** Generates the rows, time-major (every patient at t, then t + interval). */
export function* generateVitals(options: Partial<VitalsOptions> = {}): Generator<VitalsRow> {
  const o = { ...VITALS_DEFAULTS, ...options };
  checkInteger("patients", o.patients, 1);
  checkInteger("rows", o.rows, 1);
  checkInteger("intervalS", o.intervalS, 1);
  if (o.patients > 99) throw new RangeError("patients: at most 99");
  const rand = mulberry32(o.seed);
  const patients = Array.from({ length: o.patients }, (_, i) => {
    const base = {
      hr: 62 + rand() * 20,
      spo2: 95.5 + rand() * 3,
      sys: 110 + rand() * 25,
      dia: 68 + rand() * 14,
      temp: 36.4 + rand() * 0.5,
      rr: 12 + rand() * 5,
    };
    return { id: `P${String(i + 1).padStart(2, "0")}`, base, now: { ...base }, fever: 0, desat: 0 };
  });
  for (let row = 0; row < o.rows; row++) {
    const deviceTimeMs = o.startMs + row * o.intervalS * 1000;
    const timestamp = new Date(deviceTimeMs).toISOString().replace(".000Z", "Z");
    for (const p of patients) {
      // Episodes start rarely and last 5–20 minutes.
      const episodeRows = () => Math.ceil((300 + rand() * 900) / o.intervalS);
      if (p.fever === 0 && rand() < 0.002) p.fever = episodeRows();
      if (p.desat === 0 && rand() < 0.002) p.desat = episodeRows();
      const fever = p.fever > 0 ? 1 : 0;
      const desat = p.desat > 0 ? 1 : 0;
      if (p.fever > 0) p.fever--;
      if (p.desat > 0) p.desat--;
      const target = {
        hr: p.base.hr + 25 * fever + 12 * desat,
        spo2: p.base.spo2 - 7 * desat,
        sys: p.base.sys + 8 * fever,
        dia: p.base.dia + 4 * fever,
        temp: p.base.temp + 1.8 * fever,
        rr: p.base.rr + 6 * fever + 8 * desat,
      };
      const n = p.now;
      n.hr = clamp(n.hr + (target.hr - n.hr) * 0.08 + noise(rand) * 1.2, 35, 200);
      n.spo2 = clamp(n.spo2 + (target.spo2 - n.spo2) * 0.1 + noise(rand) * 0.3, 70, 100);
      n.sys = clamp(n.sys + (target.sys - n.sys) * 0.05 + noise(rand) * 1.5, 70, 220);
      n.dia = clamp(n.dia + (target.dia - n.dia) * 0.05 + noise(rand) * 1.0, 40, Math.min(130, n.sys - 15));
      n.temp = clamp(n.temp + (target.temp - n.temp) * 0.03 + noise(rand) * 0.02, 34, 42);
      n.rr = clamp(n.rr + (target.rr - n.rr) * 0.1 + noise(rand) * 0.6, 6, 40);
      yield {
        timestamp,
        patient: p.id,
        deviceTimeMs,
        // The monitor's own measurement noise on top of the physiological drift.
        heartRateBpm: Math.round(n.hr + noise(rand)),
        spo2Percent: Math.min(100, Math.round(n.spo2 + noise(rand) * 0.3)),
        systolicMmHg: Math.round(n.sys + noise(rand)),
        diastolicMmHg: Math.round(n.dia + noise(rand)),
        // Reported to 0.1 °C, stored in hundredths.
        temperatureCentiC: Math.round((n.temp + noise(rand) * 0.03) * 10) * 10,
        respiratoryRatePerMin: Math.round(n.rr + noise(rand) * 0.5),
      };
    }
  }
}

/** The data set as CSV text: header, then one line per row, `\n` line ends. */
export function vitalsCsv(options: Partial<VitalsOptions> = {}): string {
  const lines: string[] = [VITALS_COLUMNS.join(",")];
  for (const r of generateVitals(options))
    lines.push([r.timestamp, r.patient, ...READING_FIELDS.map((f) => r[f.name])].join(","));
  return `${lines.join("\n")}\n`;
}

const FLAGS: Record<string, keyof VitalsOptions> = {
  "--seed": "seed",
  "--patients": "patients",
  "--rows": "rows",
  "--interval-s": "intervalS",
};

function parse(argv: string[]): Partial<VitalsOptions> & { out?: string } {
  const opts: Partial<VitalsOptions> & { out?: string } = {};
  for (let i = 0; i < argv.length; i += 2) {
    const [flag, value] = [argv[i] as string, argv[i + 1]];
    if (value === undefined) throw new Error(`${flag}: missing value`);
    if (flag === "--out") opts.out = value;
    else if (FLAGS[flag]) opts[FLAGS[flag]] = Number(value);
    else throw new Error(`unknown flag ${flag}`);
  }
  return opts;
}

if (require.main === module) {
  const { out, ...opts } = parse(process.argv.slice(2));
  const csv = vitalsCsv(opts);
  if (out) writeFileSync(out, csv);
  else process.stdout.write(csv);
}
