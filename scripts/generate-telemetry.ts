/**
 * A seeded synthetic health-telemetry data set: one record per device per second with heart
 * rate, SpO2 and body temperature. Same seed, same data, byte for byte.
 *
 * `tsx scripts/generate-telemetry.ts [--seed S] [--devices N] [--seconds T] [--out FILE]`
 * writes JSON Lines (stdout without --out).
 * @module
 */
import { createWriteStream } from "node:fs";

/** One sample. Values are rounded the way a wearable reports them. */
export interface TelemetryRecord {
  /** Device index, 0-based. */
  device: number;
  /** Unix seconds. */
  t: number;
  /** Heart rate, beats per minute. */
  hr: number;
  /** Oxygen saturation, percent. */
  spo2: number;
  /** Body temperature, °C with one decimal. */
  temp: number;
}

export interface TelemetryOptions {
  seed: number;
  devices: number;
  seconds: number;
  /** Unix seconds of the first sample; default 1,800,000,000 (fixed, so output is reproducible). */
  start?: number;
}

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

/**
 * Generates the data set, device-major within each second (all devices for t, then t + 1).
 * Each device has its own baseline; values follow a bounded random walk with rare episodes
 * (tachycardia, desaturation, fever) so the data is not flat.
 */
export function* generateTelemetry(opts: TelemetryOptions): Generator<TelemetryRecord> {
  if (!Number.isInteger(opts.devices) || opts.devices < 1)
    throw new RangeError("devices: must be a positive integer");
  if (!Number.isInteger(opts.seconds) || opts.seconds < 1)
    throw new RangeError("seconds: must be a positive integer");
  const rand = mulberry32(opts.seed);
  const start = opts.start ?? 1_800_000_000;
  const state = Array.from({ length: opts.devices }, () => ({
    hrBase: 60 + rand() * 25,
    spo2Base: 96 + rand() * 3,
    tempBase: 36.3 + rand() * 0.6,
    hr: 0,
    spo2: 0,
    temp: 0,
    episode: 0,
  }));
  for (const s of state) {
    s.hr = s.hrBase;
    s.spo2 = s.spo2Base;
    s.temp = s.tempBase;
  }
  for (let sec = 0; sec < opts.seconds; sec++) {
    for (let device = 0; device < opts.devices; device++) {
      const s = state[device] as (typeof state)[number];
      if (s.episode === 0 && rand() < 0.0005) s.episode = 60 + Math.floor(rand() * 240);
      const target = s.episode > 0 ? 1 : 0;
      if (s.episode > 0) s.episode--;
      s.hr = clamp(s.hr + (s.hrBase + 45 * target - s.hr) * 0.05 + (rand() - 0.5) * 3, 35, 200);
      s.spo2 = clamp(s.spo2 + (s.spo2Base - 6 * target - s.spo2) * 0.05 + (rand() - 0.5) * 0.6, 70, 100);
      s.temp = clamp(s.temp + (s.tempBase + 1.5 * target - s.temp) * 0.01 + (rand() - 0.5) * 0.02, 34, 42);
      yield {
        device,
        t: start + sec,
        hr: Math.round(s.hr),
        spo2: Math.round(s.spo2),
        temp: Math.round(s.temp * 10) / 10,
      };
    }
  }
}

function parse(argv: string[]): TelemetryOptions & { out?: string } {
  const opts: TelemetryOptions & { out?: string } = { seed: 1, devices: 10, seconds: 60 };
  for (let i = 0; i < argv.length; i += 2) {
    const [flag, value] = [argv[i], argv[i + 1]];
    if (value === undefined) throw new Error(`${flag}: missing value`);
    if (flag === "--seed") opts.seed = Number(value);
    else if (flag === "--devices") opts.devices = Number(value);
    else if (flag === "--seconds") opts.seconds = Number(value);
    else if (flag === "--out") opts.out = value;
    else throw new Error(`unknown flag ${flag}`);
  }
  return opts;
}

if (require.main === module) {
  const opts = parse(process.argv.slice(2));
  const out = opts.out ? createWriteStream(opts.out) : process.stdout;
  for (const r of generateTelemetry(opts)) out.write(`${JSON.stringify(r)}\n`);
  if (opts.out) out.end();
}
