import type { Suite } from "../lib/suite";
export const scaleSuite: Suite = { name: "scale", description: "todo", async run() { return { rows: [], series: [] }; } };
