import type { Suite } from "../lib/suite";
export const telemetrySuite: Suite = { name: "telemetry", description: "todo", async run() { return { rows: [], series: [] }; } };
