/**
 * The results file written by `npm run bench` (bench/results/<date>.json). The schema is the type;
 * bench/README.md documents every field. Bump {@link RESULTS_SCHEMA} on any incompatible change.
 * @module
 */
import { z } from "zod";

/** Identifier of this schema version; stored in every results file. */
export const RESULTS_SCHEMA = "iotguard-bench/1";

/** Names of the suites, in the order `npm run bench` runs them. */
export const SUITE_NAMES = [
  "crypto",
  "wire",
  "join",
  "grant",
  "m2m",
  "telemetry",
  "chain",
  "scale",
  "cli",
  "flood",
  "dashboard",
] as const;
export const suiteName = z.enum(SUITE_NAMES);
export type SuiteName = z.infer<typeof suiteName>;

/** A goal from issue 7, checked against `value` or `ratio` of its row. */
export const goalSchema = z.object({
  /** The goal as the issue states it. */
  text: z.string(),
  /** Which number of the row the goal is about. */
  on: z.enum(["value", "ratio"]),
  op: z.enum([">=", "<="]),
  target: z.number(),
  met: z.boolean(),
});
export type Goal = z.infer<typeof goalSchema>;

/** Latency percentiles in milliseconds over `n` samples. */
export const latencySchema = z.object({
  p50: z.number().nonnegative(),
  p95: z.number().nonnegative(),
  p99: z.number().nonnegative(),
  max: z.number().nonnegative(),
  n: z.number().int().positive(),
});
export type Latency = z.infer<typeof latencySchema>;

/** One measured figure. */
export const rowSchema = z.object({
  suite: suiteName,
  /** Stable name of the case within the suite, e.g. `aes-256-gcm/256B/noble`. */
  case: z.string().min(1),
  /** Unit of `value` and `baseline.value`, e.g. `ops/s`, `msg/s`, `B`, `gas`, `ms`, `MB`. */
  unit: z.string().min(1),
  /** Whether a larger `value` is better. */
  better: z.enum(["higher", "lower"]),
  value: z.number(),
  /** The comparison measured in the same run (or a fixed reference, see `note`); null when none. */
  baseline: z.object({ case: z.string().min(1), value: z.number() }).nullable(),
  /** value / baseline.value; null without a baseline. */
  ratio: z.number().nullable(),
  /** Latency distribution where the case has one; null otherwise. */
  latencyMs: latencySchema.nullable(),
  goal: goalSchema.nullable(),
  note: z.string().optional(),
});
export type Row = z.infer<typeof rowSchema>;

/** Points behind one plot; the SVG is rendered from these. */
export const seriesSchema = z.object({
  suite: suiteName,
  /** File stem of the plot: bench/results/<date>-<name>.svg. */
  name: z.string().regex(/^[a-z0-9-]+$/),
  title: z.string(),
  kind: z.enum(["line", "bar", "histogram"]),
  x: z.object({ label: z.string(), scale: z.enum(["linear", "log", "band"]) }),
  y: z.object({ label: z.string(), scale: z.enum(["linear", "log"]) }),
  points: z.array(z.object({ x: z.union([z.number(), z.string()]), y: z.number(), group: z.string() })),
});
export type Series = z.infer<typeof seriesSchema>;

export const machineSchema = z.object({
  hostname: z.string(),
  platform: z.string(),
  release: z.string(),
  arch: z.string(),
  cpuModel: z.string(),
  cpus: z.number().int().positive(),
  totalMemMB: z.number(),
  node: z.string(),
  /** 1-minute load average when the run started and when it ended. */
  loadAvgStart: z.number(),
  loadAvgEnd: z.number(),
  mosquitto: z.string().nullable(),
});

export const resultsSchema = z.object({
  schema: z.literal(RESULTS_SCHEMA),
  startedAt: z.string(),
  durationS: z.number().nonnegative(),
  mode: z.enum(["full", "quick"]),
  suites: z.array(suiteName).min(1),
  command: z.string(),
  git: z.object({ commit: z.string(), dirty: z.boolean() }),
  machine: machineSchema,
  rows: z.array(rowSchema),
  series: z.array(seriesSchema),
  /** What was scaled down, skipped or odd in this run. */
  notes: z.array(z.string()),
  /** Suites that threw, with the message; their rows are missing. */
  failures: z.array(z.object({ suite: suiteName, error: z.string() })),
});
export type Results = z.infer<typeof resultsSchema>;
