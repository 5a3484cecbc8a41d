import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import pino from "pino";
import { describe, expect, it } from "vitest";
import { loadConfig, SETTINGS } from "../../../services/cluster-head/config";
import { ALL_HEAD_ERROR_CODES } from "../../../services/cluster-head/errors";
import { createApp } from "../../../services/cluster-head/http/app";
import { openApiDocument } from "../../../services/cluster-head/http/openapi";
import { PROTOCOL_ROUTES } from "../../../services/cluster-head/http/routes/protocol";
import { createMetrics } from "../../../services/cluster-head/metrics";
import { recordFee, walletStatus } from "../../../services/cluster-head/use-cases/head-wallet";
import { pendingView } from "../../../services/cluster-head/use-cases/pending-transactions";

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
    // The protocol routes are served in front of Express, on bare node:http.
    routes.push(...PROTOCOL_ROUTES.map((route) => `post ${route.path}`));
    const documented = Object.entries(openApiDocument("test").paths).flatMap(([path, ops]) =>
      Object.keys(ops).map((m) => `${m} ${path}`),
    );
    expect(routes.sort()).toEqual(documented.sort());
  });
});

describe("OpenAPI document on transactions waiting for confirmations", () => {
  const doc = openApiDocument("test");
  type Operation = { parameters?: { name: string }[]; responses: Record<string, { content?: unknown }> };
  const operations = Object.entries(doc.paths).flatMap(([path, ops]) =>
    Object.entries(ops as Record<string, Operation>).map(([method, op]) => ({ at: `${method} ${path}`, op })),
  );

  it("documents ?wait and the 202 answer on exactly the routes that send a registry transaction", () => {
    const withWait = operations.filter(({ op }) => op.parameters?.some((p) => p.name === "wait"));
    expect(withWait.map((o) => o.at).sort()).toEqual([
      "post /v1/devices",
      "post /v1/devices/batch",
      "post /v1/devices/{deviceId}/revoke",
      "post /v1/devices/{deviceId}/rotate",
    ]);
    for (const { at, op } of withWait) expect(op.responses["202"]?.content, at).toBeDefined();
    const with202 = operations.filter(({ op }) => op.responses["202"]).map((o) => o.at);
    expect(with202.sort()).toEqual(withWait.map((o) => o.at).sort());
  });

  it("describes `pending` with the fields the head answers", () => {
    const ctx = { config: { confirmations: 2 }, follower: { status: () => ({ chainHead: 7 }) } } as never;
    const view = pendingView(ctx, {
      txHash: `0x${"ab".repeat(32)}`,
      action: "enroll",
      deviceIds: ["01"],
      operator: "admin",
      sentAt: 0,
      block: 6,
    });
    const schema = doc.components.schemas.Pending;
    expect(Object.keys(view).sort()).toEqual([...schema.required].sort());
    expect(Object.keys(schema.properties).sort()).toEqual(Object.keys(view).sort());
    expect(doc.components.schemas.Enrollment.properties.pending.$ref).toBe("#/components/schemas/Pending");
    expect(doc.components.schemas.Transaction.properties.pending.$ref).toBe("#/components/schemas/Pending");
  });

  it("describes /health's wallet with every field the head can answer", async () => {
    const ctx = {
      identity: { address: new Uint8Array(20) },
      registry: { runner: { provider: { getBalance: async () => 10n ** 18n } } },
      logger: pino({ level: "silent" }),
    } as never;
    recordFee(ctx, "enroll", 2, 10n ** 14n);
    const wallet = await walletStatus(ctx);
    const schema = doc.components.schemas.Wallet;
    expect(Object.keys(wallet).sort()).toEqual(Object.keys(schema.properties).sort());
    for (const field of schema.required) expect(wallet, field).toHaveProperty(field);
    expect(doc.components.schemas.Health.properties.wallet.$ref).toBe("#/components/schemas/Wallet");
  });

  it("names E_ENROLLMENT_PENDING among the join's refusals", () => {
    const join = operations.find((o) => o.at === "post /v1/join")!.op;
    expect(JSON.stringify(join.responses["409"])).toContain("E_ENROLLMENT_PENDING");
  });
});
