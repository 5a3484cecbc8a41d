import type { Suite } from "../lib/suite";
export const m2mSuite: Suite = { name: "m2m", description: "todo", async run() { return { rows: [], series: [] }; } };
