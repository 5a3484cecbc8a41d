import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import pino from "pino";
import { describe, expect, it } from "vitest";
import { loadConfig, SETTINGS } from "../../../services/cluster-head/config";
import { ALL_HEAD_ERROR_CODES } from "../../../services/cluster-head/errors";
import { createApp } from "../../../services/cluster-head/http/app";
import { openApiDocument } from "../../../services/cluster-head/http/openapi";
import { createMetrics } from "../../../services/cluster-head/metrics";

const ROOT = resolve(__dirname, "../../..");
const read = (path: string) => readFileSync(resolve(ROOT, path), "utf8");

describe("documentation stays in sync", () => {
  it("documents every error code a client can see, with its HTTP status", () => {
    const api = read("docs/api.md");
    for (const code of ALL_HEAD_ERROR_CODES)
      expect(api, code).toMatch(new RegExp(`\\| \`${code}\` \\| \\d{3} \\|`));
    const openapi = openApiDocument("test");
    expect(openapi.components.schemas.Error.properties.error.properties.code.enum).toEqual([
      ...ALL_HEAD_ERROR_CODES,
    ]);
  });

  it("lists every setting's flag and environment variable in the README", () => {
    const readme = read("README.md");
    for (const spec of Object.values(SETTINGS)) {
      expect(readme, spec.flag).toContain(`\`${spec.flag}\``);
      expect(readme, spec.env).toContain(`\`${spec.env}\``);
    }
  });
});

describe("OpenAPI document", () => {
  it("describes exactly the routes the app serves", () => {
    // Route registration reads nothing from the context; handlers are never called here.
    const ctx = {
      logger: pino({ level: "silent" }),
      metrics: createMetrics(),
      config: loadConfig({}, {}),
    } as never;
    const app = createApp(ctx, {
      brokerStatus: () => ({ up: true, url: "", embedded: true }),
      version: "test",
    });
    type Layer = { route?: { path: string; methods: Record<string, boolean> }; handle?: { stack?: Layer[] } };
    const routes: string[] = [];
    const walk = (stack: Layer[]) => {
      for (const layer of stack) {
        if (layer.route)
          for (const method of Object.keys(layer.route.methods))
            routes.push(`${method} ${layer.route.path.replace(/:(\w+)/g, "{$1}")}`);
        else if (layer.handle?.stack) walk(layer.handle.stack);
      }
    };
    walk((app as unknown as { router: { stack: Layer[] } }).router.stack);
    const documented = Object.entries(openApiDocument("test").paths).flatMap(([path, ops]) =>
      Object.keys(ops).map((m) => `${m} ${path}`),
    );
    expect(routes.sort()).toEqual(documented.sort());
  });
});
