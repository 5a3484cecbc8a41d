/** Small hand-made SVG charts (no chart library): a line over time and horizontal bars. */
import { h, svg } from "./dom";

const W = 320;
const H = 120;
const PAD = 28;

/** A line chart of `points` (oldest first) with its title and the latest value. */
export function lineChart(title: string, unit: string, points: number[]): HTMLElement {
  const max = Math.max(1e-9, ...points);
  const step = points.length > 1 ? (W - PAD - 4) / (points.length - 1) : 0;
  const xy = points.map(
    (v, i) => `${(PAD + i * step).toFixed(1)},${(H - 16 - (v / max) * (H - 28)).toFixed(1)}`,
  );
  const last = points.at(-1);
  return h(
    "figure",
    { class: "chart" },
    h("figcaption", {}, title, h("strong", {}, last === undefined ? " —" : ` ${format(last)} ${unit}`)),
    svg(
      "svg",
      { viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": `${title}, last ${points.length} samples` },
      svg("line", { x1: PAD, y1: H - 16, x2: W - 4, y2: H - 16, class: "axis" }),
      svg("text", { x: 2, y: 14, class: "tick" }, format(max)),
      svg("text", { x: 2, y: H - 16, class: "tick" }, "0"),
      points.length > 1 ? svg("polyline", { points: xy.join(" "), class: "line" }) : null,
    ),
  );
}

/** Horizontal bars, largest first. */
export function barChart(title: string, unit: string, values: [string, number][]): HTMLElement {
  const rows = values
    .filter(([, v]) => v > 0)
    .sort((a, b) => b[1] - a[1])
    .slice(0, 8);
  const max = Math.max(1e-9, ...rows.map(([, v]) => v));
  const height = Math.max(1, rows.length) * 22 + 4;
  return h(
    "figure",
    { class: "chart" },
    h("figcaption", {}, title),
    rows.length === 0
      ? h("p", { class: "muted" }, "no data yet")
      : svg(
          "svg",
          { viewBox: `0 0 ${W} ${height}`, role: "img", "aria-label": title },
          ...rows.flatMap(([label, value], i) => [
            svg("rect", {
              x: 120,
              y: i * 22 + 4,
              width: Math.max(1, (value / max) * (W - 180)),
              height: 16,
              class: "bar",
            }),
            svg("text", { x: 116, y: i * 22 + 16, class: "label", "text-anchor": "end" }, label.slice(0, 22)),
            svg(
              "text",
              { x: 124 + (value / max) * (W - 180), y: i * 22 + 16, class: "value" },
              `${format(value)} ${unit}`,
            ),
          ]),
        ),
  );
}

function format(value: number): string {
  if (value === 0) return "0";
  if (value >= 100) return value.toFixed(0);
  if (value >= 10) return value.toFixed(1);
  return value.toFixed(2);
}
