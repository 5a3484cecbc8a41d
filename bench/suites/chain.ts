import type { Suite } from "../lib/suite";
export const chainSuite: Suite = { name: "chain", description: "todo", async run() { return { rows: [], series: [] }; } };
