/**
 * Request rates and latencies from the head's own Prometheus metrics (`GET /metrics`), sampled
 * every {@link SAMPLE_MS} and drawn as small SVG charts: rates and means come from the change
 * between two samples, the 95th percentile from the histogram's buckets.
 */
import { barChart, lineChart } from "../charts";
import { h, replace } from "../dom";
import { byLabel, parseMetrics, type Sample, total } from "../prometheus";
import { loading, type View } from "./view";

export const SAMPLE_MS = 5_000;
const HISTORY = 60;

interface Point {
  at: number;
  samples: Sample[];
}

const REQUESTS = "iotguard_http_requests_total";
const SECONDS = "iotguard_http_request_seconds";

export function metricsView(): View & { sample(): Promise<void> } {
  const status = h("div", { class: "status" });
  const charts = h("div", { class: "charts", id: "metric-charts" });
  const counters = h("div", { class: "cards" });
  const element = h(
    "section",
    { id: "view-metrics", "aria-labelledby": "h-metrics" },
    h("h2", { id: "h-metrics" }, "Metrics"),
    h(
      "p",
      { class: "muted" },
      `The head's /metrics, sampled every ${SAMPLE_MS / 1000} s while this page is open.`,
    ),
    status,
    charts,
    counters,
  );
  const history: Point[] = [];
  const rates: number[] = [];
  const means: number[] = [];
  const p95s: number[] = [];
  let visible = false;

  async function sample(): Promise<void> {
    const response = await fetch("/metrics", { cache: "no-store", credentials: "omit" });
    if (!response.ok) throw new Error(`/metrics answered ${response.status}`);
    const point = { at: Date.now(), samples: parseMetrics(await response.text()) };
    const previous = history.at(-1);
    history.push(point);
    if (history.length > HISTORY) history.shift();
    if (previous) {
      const seconds = Math.max(0.001, (point.at - previous.at) / 1000);
      const requests = total(point.samples, REQUESTS) - total(previous.samples, REQUESTS);
      const spent = total(point.samples, `${SECONDS}_sum`) - total(previous.samples, `${SECONDS}_sum`);
      const count = total(point.samples, `${SECONDS}_count`) - total(previous.samples, `${SECONDS}_count`);
      push(rates, Math.max(0, requests) / seconds);
      push(means, count > 0 ? (spent / count) * 1000 : 0);
      push(p95s, percentile(point.samples, previous.samples, 0.95) * 1000);
    }
    if (visible) draw();
  }

  function draw(): void {
    const latest = history.at(-1);
    const previous = history.at(-2);
    const perRoute: [string, number][] = [];
    const latencyPerRoute: [string, number][] = [];
    if (latest && previous) {
      const seconds = Math.max(0.001, (latest.at - previous.at) / 1000);
      const now = byLabel(latest.samples, REQUESTS, "route");
      const before = byLabel(previous.samples, REQUESTS, "route");
      for (const [route, value] of now)
        perRoute.push([route, Math.max(0, value - (before.get(route) ?? 0)) / seconds]);
      const sums = byLabel(latest.samples, `${SECONDS}_sum`, "route");
      const counts = byLabel(latest.samples, `${SECONDS}_count`, "route");
      const sumsBefore = byLabel(previous.samples, `${SECONDS}_sum`, "route");
      const countsBefore = byLabel(previous.samples, `${SECONDS}_count`, "route");
      for (const [route, sum] of sums) {
        const n = (counts.get(route) ?? 0) - (countsBefore.get(route) ?? 0);
        if (n > 0) latencyPerRoute.push([route, ((sum - (sumsBefore.get(route) ?? 0)) / n) * 1000]);
      }
    }
    replace(
      charts,
      lineChart("requests", "/s", rates),
      lineChart("mean latency", "ms", means),
      lineChart("p95 latency", "ms", p95s),
      barChart("requests by route", "/s", perRoute),
      barChart("mean latency by route", "ms", latencyPerRoute),
    );
    if (!latest) return;
    const s = latest.samples;
    const card = (title: string, value: number) =>
      h("article", { class: "card counter" }, h("h3", {}, title), h("p", {}, String(value)));
    replace(
      counters,
      card("joins", total(s, "iotguard_joins_total")),
      card("grants", total(s, "iotguard_grants_total")),
      card("grant warnings", total(s, "iotguard_grant_warnings_total")),
      card("refusals", total(s, "iotguard_refusals_total")),
      card("limit refusals", total(s, "iotguard_limit_refusals_total")),
      card("members", total(s, "iotguard_members")),
    );
  }

  return {
    id: "metrics",
    title: "Metrics",
    element,
    sample: () => loading(status, sample),
    refresh: async () => {
      visible = true;
      if (history.length === 0) await loading(status, sample);
      draw();
    },
  };
}

function push(series: number[], value: number): void {
  series.push(value);
  if (series.length > HISTORY) series.shift();
}

/** The `q` quantile of requests between two samples, from the histogram's cumulative buckets (seconds). */
function percentile(now: Sample[], before: Sample[], q: number): number {
  const buckets = new Map<number, number>();
  const add = (samples: Sample[], sign: number) => {
    for (const s of samples) {
      if (s.name !== `${SECONDS}_bucket`) continue;
      const le = s.labels.le === "+Inf" ? Infinity : Number(s.labels.le);
      buckets.set(le, (buckets.get(le) ?? 0) + sign * s.value);
    }
  };
  add(now, 1);
  add(before, -1);
  const sorted = [...buckets].sort((a, b) => a[0] - b[0]);
  const count = sorted.at(-1)?.[1] ?? 0;
  if (count <= 0) return 0;
  const finite = sorted.filter(([le]) => Number.isFinite(le));
  for (const [le, cumulative] of finite) if (cumulative >= q * count) return le;
  return finite.at(-1)?.[0] ?? 0;
}
