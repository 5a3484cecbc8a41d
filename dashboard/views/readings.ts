/**
 * Telemetry readings: NOT DONE. The collector (services/collector, `GET /v1/readings`) is being
 * built in parallel; this view is the hook where its latest readings and a chart per device go
 * once a head knows its collector's URL (same origin or a proxied path: the page's CSP allows
 * `connect-src 'self'` only).
 */
import { h } from "../dom";
import type { View } from "./view";

export function readingsView(): View {
  const element = h(
    "section",
    { id: "view-readings", "aria-labelledby": "h-readings" },
    h("h2", { id: "h-readings" }, "Readings"),
    h(
      "p",
      { class: "notice", "data-hook": "collector-readings" },
      "Not connected yet: the telemetry collector (services/collector, GET /v1/readings) is not wired to this page. ",
      "Its latest readings and a chart per device will appear here.",
    ),
  );
  return { id: "readings", title: "Readings", element, refresh: async () => undefined };
}
