/**
 * Summaries of a V8 CPU profile (`node --cpu-prof`) of the head, restricted to the bench's timed
 * windows: self time grouped by where the code lives (level, node:crypto, Express, node http/net,
 * GC, protocol, …) and the top functions, as share of the busy main thread. Windows are
 * CLOCK_MONOTONIC µs, the clock V8 stamps its samples with, so a window taken in another process
 * (the load generator) lines up with the head's samples.
 * @module
 */
import { readFileSync } from "node:fs";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

/** Where a function lives, from its script URL: the groups the profile used. */
export function categoryOf(url: string, functionName: string): string {
  if (functionName === "(garbage collector)") return "GC";
  if (functionName === "(idle)") return "idle";
  if (functionName === "(program)") return "V8/native (program)";
  const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url)?.[1];
  if (nm) {
    if (
      /^(classic-level|abstract-level|level|level-transcoder|level-supports|module-error|maybe-combine-errors|napi-macros|node-gyp-build)$/.test(
        nm,
      )
    )
      return "level";
    if (
      /^(pino|pino-std-serializers|sonic-boom|thread-stream|fast-redact|quick-format-unescaped|on-exit-leak-free|atomic-sleep|safe-stable-stringify)$/.test(
        nm,
      )
    )
      return "pino";
    if (nm === "prom-client" || nm === "tdigest" || nm === "bintrees") return "prom-client";
    if (nm === "zod") return "zod";
    if (nm.startsWith("@noble/")) return "@noble";
    if (nm === "secp256k1") return "libsecp256k1";
    if (nm === "aedes" || nm.startsWith("aedes-") || nm === "mqtt-packet" || nm === "mqemitter")
      return "aedes";
    if (nm === "ethers" || nm.startsWith("@adraffy") || nm === "ws") return "ethers";
    return "express stack";
  }
  if (url.startsWith("node:internal/crypto") || url === "node:crypto") return "node:crypto";
  if (
    /^node:(_http|http|https|net|tls|_tls|internal\/(http|net|stream_base|streams|js_stream)|stream)/.test(
      url,
    )
  )
    return "node http/net/streams";
  if (url.startsWith("node:")) return "node (other)";
  if (/\/dist\/protocol\/|\/protocol\//.test(url)) return "protocol";
  if (/\/services\/cluster-head\/http\//.test(url)) return "head http";
  if (/\/services\/cluster-head\/stores\/|\/platform\/(level|append-journal)/.test(url)) return "head stores";
  if (/\/services\/|\/platform\//.test(url)) return "head (other)";
  if (url === "") return "native (no script)";
  return "other";
}

export interface ProfileSummary {
  /** Sampled main-thread time inside the windows, ms (idle included). */
  windowMs: number;
  busyMs: number;
  /** Share of busy time per category, descending. */
  categories: { name: string; ms: number; share: number }[];
  /** Top functions by self time. */
  functions: { name: string; where: string; category: string; ms: number; share: number }[];
  /**
   * Top functions of the head's own code (protocol, head http, stores, other) by inclusive time:
   * every sample counts once for each function on its stack, so a use case's share includes the
   * node:crypto and level work it called (V8 samples GC at a root of its own).
   */
  inclusive: { name: string; where: string; category: string; ms: number; share: number }[];
}

/** The categories of the head's own code, whose inclusive times are listed. */
const OWN_CODE = new Set(["protocol", "head http", "head stores", "head (other)"]);

/** Summarises `file` over `windowsUs` ([start, end] CLOCK_MONOTONIC µs); all samples when none. */
export function summariseProfile(file: string, windowsUs: [number, number][] = [], top = 20): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, "utf8")) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parentOf = new Map<number, number>();
  for (const n of profile.nodes) for (const child of n.children ?? []) parentOf.set(child, n.id);
  const selfUs = new Map<number, number>();
  let t = profile.startTime;
  const inWindow = (at: number) => windowsUs.length === 0 || windowsUs.some(([a, b]) => at >= a && at <= b);
  for (let i = 0; i < profile.samples.length; i++) {
    t += profile.timeDeltas[i] ?? 0;
    // A sample stands for the time until the next one.
    const duration = profile.timeDeltas[i + 1] ?? 0;
    if (!inWindow(t)) continue;
    const id = profile.samples[i] as number;
    selfUs.set(id, (selfUs.get(id) ?? 0) + duration);
  }
  const categories = new Map<string, number>();
  const functions = new Map<string, { name: string; where: string; category: string; us: number }>();
  let windowUs = 0;
  for (const [id, us] of selfUs) {
    const frame = (byId.get(id) as ProfileNode).callFrame;
    const category = categoryOf(frame.url, frame.functionName);
    windowUs += us;
    categories.set(category, (categories.get(category) ?? 0) + us);
    const where = frame.url
      ? `${frame.url.replace(/^.*\/(node_modules|dist)\//, "$1/")}:${frame.lineNumber + 1}`
      : "";
    const key = `${frame.functionName}@${where}`;
    const f = functions.get(key) ?? { name: frame.functionName || "(anonymous)", where, category, us: 0 };
    f.us += us;
    functions.set(key, f);
  }
  // Inclusive: each sampled node's time goes to every distinct own-code function above it.
  const inclusiveUs = new Map<string, { name: string; where: string; category: string; us: number }>();
  for (const [id, us] of selfUs) {
    const seen = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parentOf.get(at)) {
      const frame = (byId.get(at) as ProfileNode).callFrame;
      const category = categoryOf(frame.url, frame.functionName);
      if (!OWN_CODE.has(category)) continue;
      const where = `${frame.url.replace(/^.*\/(node_modules|dist)\//, "$1/")}:${frame.lineNumber + 1}`;
      const key = `${frame.functionName}@${where}`;
      if (seen.has(key)) continue;
      seen.add(key);
      const f = inclusiveUs.get(key) ?? { name: frame.functionName || "(anonymous)", where, category, us: 0 };
      f.us += us;
      inclusiveUs.set(key, f);
    }
  }
  const idleUs = categories.get("idle") ?? 0;
  const busyUs = windowUs - idleUs;
  const share = (us: number) => (busyUs > 0 ? us / busyUs : 0);
  return {
    windowMs: windowUs / 1000,
    busyMs: busyUs / 1000,
    categories: [...categories.entries()]
      .filter(([name]) => name !== "idle")
      .map(([name, us]) => ({ name, ms: us / 1000, share: share(us) }))
      .sort((a, b) => b.ms - a.ms),
    functions: ranked(
      [...functions.values()].filter((f) => f.category !== "idle"),
      top,
      share,
    ),
    inclusive: ranked([...inclusiveUs.values()], top, share),
  };
}

/** The `top` functions by time, in ms and as a share of the busy time. */
function ranked(
  functions: { name: string; where: string; category: string; us: number }[],
  top: number,
  share: (us: number) => number,
): ProfileSummary["functions"] {
  return functions
    .sort((a, b) => b.us - a.us)
    .slice(0, top)
    .map((f) => ({
      name: f.name,
      where: f.where,
      category: f.category,
      ms: f.us / 1000,
      share: share(f.us),
    }));
}

/** The summary as Markdown: categories, then the top functions. */
export function profileMarkdown(
  title: string,
  summary: ProfileSummary,
  perOp?: { label: string; count: number },
): string {
  const pct = (x: number) => `${(x * 100).toFixed(1)} %`;
  const lines = [
    `### ${title}`,
    "",
    `Main thread inside the timed windows: ${summary.windowMs.toFixed(0)} ms sampled, ${summary.busyMs.toFixed(0)} ms busy` +
      (perOp
        ? ` (${((summary.busyMs * 1000) / perOp.count).toFixed(0)} µs busy per ${perOp.label}, ${perOp.count} ${perOp.label}s)`
        : "") +
      ".",
    "",
    "| where | self ms | share of busy |",
    "|---|---:|---:|",
    ...summary.categories.map((c) => `| ${c.name} | ${c.ms.toFixed(1)} | ${pct(c.share)} |`),
    "",
    "| function | where | group | self ms | share |",
    "|---|---|---|---:|---:|",
    ...summary.functions.map(
      (f) => `| \`${f.name}\` | ${f.where || "–"} | ${f.category} | ${f.ms.toFixed(1)} | ${pct(f.share)} |`,
    ),
    "",
    "The head's own functions by inclusive time (what they called counted in):",
    "",
    "| function | where | group | inclusive ms | share |",
    "|---|---|---|---:|---:|",
    ...summary.inclusive.map(
      (f) => `| \`${f.name}\` | ${f.where} | ${f.category} | ${f.ms.toFixed(1)} | ${pct(f.share)} |`,
    ),
    "",
  ];
  return lines.join("\n");
}
