import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import pino from "pino";
import { describe, expect, it } from "vitest";
import { SETTINGS } from "../../../services/collector/config";
import { ALL_COLLECTOR_ERROR_CODES, COLLECTOR_ERROR_STATUS } from "../../../services/collector/errors";
import { createApp } from "../../../services/collector/http/app";
import { openApiDocument } from "../../../services/collector/http/openapi";
import { createMetrics } from "../../../services/collector/metrics";
import { READING_FIELDS, TELEMETRY_ERROR_CODES } from "../../../telemetry";

const ROOT = resolve(__dirname, "../../..");
const read = (path: string) => readFileSync(resolve(ROOT, path), "utf8");

describe("collector documentation stays in sync", () => {
  it("lists every setting's flag, environment variable and default in the README's collector table", () => {
    const readme = read("README.md");
    const table = readme.slice(readme.indexOf("## Configuration of the collector"));
    for (const spec of Object.values(SETTINGS)) {
      const shown = "default" in spec ? `\`${String(spec.default).replace(ROOT + "/", "")}\`` : "—";
      expect(table, spec.flag).toContain(`| \`${spec.flag}\` | \`${spec.env}\` | ${shown} |`);
    }
  });

  it("documents every API error code with its status, every telemetry error code and every field", () => {
    const doc = read("docs/telemetry.md");
    for (const code of ALL_COLLECTOR_ERROR_CODES)
      expect(doc, code).toContain(`| \`${code}\` | ${COLLECTOR_ERROR_STATUS[code]} |`);
    for (const code of TELEMETRY_ERROR_CODES) expect(doc, code).toContain(`| \`${code}\` |`);
    for (const f of READING_FIELDS)
      expect(doc, f.name).toContain(
        `| \`${f.name}\` | \`${f.column}\` | ${f.unit} | ${f.wire} | ${f.min} | ${f.max} |`,
      );
    const openapi = openApiDocument("test");
    expect(openapi.components.schemas.Error.properties.error.properties.code.enum).toEqual([
      ...ALL_COLLECTOR_ERROR_CODES,
    ]);
  });

  it("describes exactly the routes the app serves in its OpenAPI document", () => {
    const app = createApp({
      logger: pino({ level: "silent" }),
      metrics: createMetrics(),
      token: "x".repeat(43),
      version: "test",
      store: undefined as never,
      status: () => ({ deviceId: "", database: "pglite", databaseUp: true, buffered: 0 }),
    });
    type Layer = { route?: { path: string; methods: Record<string, boolean> } };
    const routes = (app as unknown as { router: { stack: Layer[] } }).router.stack.flatMap((layer) =>
      layer.route ? Object.keys(layer.route.methods).map((m) => `${m} ${layer.route!.path}`) : [],
    );
    const documented = Object.entries(openApiDocument("test").paths).flatMap(([path, ops]) =>
      Object.keys(ops).map((m) => `${m} ${path}`),
    );
    expect(routes.sort()).toEqual(documented.sort());
  });
});
