/**
 * Measuring helpers: percentiles, timed loops, interleaved A/B comparisons and row building.
 * On a shared 2-core machine absolute numbers drift from minute to minute, so candidate and
 * baseline are measured in alternating rounds and each is the median of its rounds.
 * @module
 */
import type { Goal, Latency, Row, SuiteName } from "./schema";

/** Nearest-rank percentile of sorted values. */
function rank(sorted: number[], p: number): number {
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i] as number;
}

/** p50/p95/p99/max of latency samples in ms. @throws RangeError on no samples */
export function latency(samplesMs: readonly number[]): Latency {
  if (samplesMs.length === 0) throw new RangeError("latency: no samples");
  const sorted = [...samplesMs].sort((a, b) => a - b);
  return {
    p50: rank(sorted, 50),
    p95: rank(sorted, 95),
    p99: rank(sorted, 99),
    max: sorted[sorted.length - 1] as number,
    n: sorted.length,
  };
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/** Milliseconds since an arbitrary origin, sub-millisecond resolution. */
export function nowMs(): number {
  return performance.now();
}

/**
 * Runs `fn` repeatedly for at least `ms` milliseconds (and `minOps` calls) and returns calls per
 * second. Synchronous on purpose: crypto primitives are measured without event-loop noise.
 */
export function opsPerSecond(fn: () => unknown, ms: number, minOps = 3): number {
  let ops = 0;
  const start = nowMs();
  let elapsed = 0;
  // Check the clock every few calls only: reading it costs about as much as a tiny primitive.
  const stride = 8;
  while (elapsed < ms || ops < minOps) {
    for (let i = 0; i < stride; i++) fn();
    ops += stride;
    elapsed = nowMs() - start;
  }
  return (ops * 1000) / elapsed;
}

/**
 * Alternates `a` and `b` for `rounds` rounds of `ms` each (after one warm-up of each) and returns
 * the median ops/s of each.
 */
export function compareSync(
  a: () => unknown,
  b: () => unknown,
  rounds: number,
  ms: number,
): { a: number; b: number } {
  opsPerSecond(a, Math.min(50, ms));
  opsPerSecond(b, Math.min(50, ms));
  const ra: number[] = [];
  const rb: number[] = [];
  for (let r = 0; r < rounds; r++) {
    ra.push(opsPerSecond(a, ms));
    rb.push(opsPerSecond(b, ms));
  }
  return { a: median(ra), b: median(rb) };
}

/** Runs `count` async jobs with at most `concurrency` in flight; per-job latencies (ms) and the wall time. */
export { runPool } from "../../testkit/pool";

export function goal(text: string, on: Goal["on"], op: Goal["op"], target: number) {
  return { text, on, op, target };
}

export interface RowInput {
  case: string;
  unit: string;
  better?: Row["better"];
  value: number;
  baseline?: { case: string; value: number } | null;
  latencyMs?: Latency | null;
  goal?: { text: string; on: Goal["on"]; op: Goal["op"]; target: number } | null;
  note?: string;
}

/** Builds a row: computes the ratio and whether the goal is met. */
export function row(suite: SuiteName, r: RowInput): Row {
  const baseline = r.baseline ?? null;
  const ratio = baseline && baseline.value !== 0 ? r.value / baseline.value : null;
  let g: Goal | null = null;
  if (r.goal) {
    const subject = r.goal.on === "ratio" ? ratio : r.value;
    const met =
      subject !== null &&
      Number.isFinite(subject) &&
      (r.goal.op === ">=" ? subject >= r.goal.target : subject <= r.goal.target);
    g = { ...r.goal, met };
  }
  return {
    suite,
    case: r.case,
    unit: r.unit,
    better: r.better ?? "higher",
    value: r.value,
    baseline,
    ratio,
    latencyMs: r.latencyMs ?? null,
    goal: g,
    ...(r.note ? { note: r.note } : {}),
  };
}
