/**
 * Renders each series to SVG with vega-lite → vega, headless (no browser, no canvas).
 * @module
 */
import type { Series } from "./schema";

function spec(s: Series): Record<string, unknown> {
  const xType = s.x.scale === "band" ? "nominal" : "quantitative";
  const x: Record<string, unknown> = { field: "x", type: xType, title: s.x.label };
  if (s.x.scale === "log") x.scale = { type: "log" };
  if (s.x.scale === "band") x.sort = null;
  const y: Record<string, unknown> = { field: "y", type: "quantitative", title: s.y.label };
  if (s.y.scale === "log") y.scale = { type: "log" };
  const color = { field: "group", type: "nominal", title: null };
  const base = {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title: s.title,
    width: 520,
    height: 300,
    data: { values: s.points },
    background: "white",
  };
  switch (s.kind) {
    case "line":
      return { ...base, mark: { type: "line", point: true }, encoding: { x, y, color } };
    case "bar":
      return { ...base, mark: "bar", encoding: { x, y, color, xOffset: { field: "group" } } };
    case "histogram":
      // Points are pre-binned: x = bin start, y = count, one line per group.
      return { ...base, mark: { type: "line", interpolate: "step-after" }, encoding: { x, y, color } };
  }
}

/** SVG text of one series. */
export async function renderSvg(s: Series): Promise<string> {
  const vega = await import("vega");
  const vegaLite = await import("vega-lite");
  const compiled = vegaLite.compile(spec(s) as never).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: "none" });
  const svg = await view.toSVG();
  view.finalize();
  return svg;
}

/** Bins latency samples (ms) into at most `bins` buckets on a log scale for a histogram series. */
export function latencyHistogram(samplesMs: readonly number[], group: string, bins = 40): Series["points"] {
  if (samplesMs.length === 0) return [];
  const sorted = [...samplesMs].sort((a, b) => a - b);
  const lo = Math.max(1e-3, sorted[0] as number);
  const hi = Math.max(lo * 1.0001, sorted[sorted.length - 1] as number);
  const step = Math.log(hi / lo) / bins;
  const counts = new Array<number>(bins).fill(0);
  for (const v of sorted) {
    const i = Math.min(bins - 1, Math.max(0, Math.floor(Math.log(Math.max(v, lo) / lo) / step)));
    counts[i] = (counts[i] as number) + 1;
  }
  return counts.map((c, i) => ({ x: lo * Math.exp(i * step), y: c, group }));
}
