/**
 * The layer table: docs/architecture.md § Layers and lint/layers.mjs say the same, and ESLint
 * refuses an import that the table forbids (and accepts one it allows).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { ESLint } from "eslint";
import { describe, expect, it } from "vitest";

const ROOT = join(__dirname, "../..");

/** The table of docs/architecture.md § Layers as layer → allowed layers. */
function documentedLayers(): Record<string, string[]> {
  const doc = readFileSync(join(ROOT, "docs/architecture.md"), "utf8");
  const section = doc.slice(doc.indexOf("## Layers"), doc.indexOf("\n## ", doc.indexOf("## Layers") + 3));
  const rows = section.split("\n").filter((line) => /^\| `[^`]+` \|/.test(line));
  return Object.fromEntries(
    rows.map((row) => {
      const [layer, allowed] = row
        .split("|")
        .slice(1, 3)
        .map((cell) => cell.trim());
      const list =
        allowed === "—"
          ? []
          : allowed === "*"
            ? ["*"]
            : allowed!.split(",").map((a) => a.trim().replace(/`/g, ""));
      return [layer!.replace(/`/g, ""), list];
    }),
  );
}

/** ESLint with the project's config, without the type-aware parser (probes are not on disk). */
function linter(): ESLint {
  return new ESLint({
    cwd: ROOT,
    overrideConfig: [
      {
        files: ["**/*.ts"],
        languageOptions: { parserOptions: { projectService: false } },
        rules: {
          "@typescript-eslint/no-floating-promises": "off",
          "@typescript-eslint/no-misused-promises": "off",
          "@typescript-eslint/await-thenable": "off",
        },
      },
    ],
  });
}

async function layerErrors(file: string, source: string): Promise<string[]> {
  const [result] = await linter().lintText(source, { filePath: join(ROOT, file) });
  return result!.messages.filter((m) => m.ruleId === "iotguard/layers").map((m) => m.message);
}

describe("layers", () => {
  it("documents exactly the table that lint enforces", async () => {
    const { LAYERS } = await import("../../lint/layers.mjs");
    expect(documentedLayers()).toEqual(LAYERS);
  });

  it("fails lint when the protocol core imports the head", async () => {
    const errors = await layerErrors(
      "protocol/layer-probe.ts",
      'import { loadConfig } from "../services/cluster-head/config";\nexport const probe = loadConfig;\n',
    );
    expect(errors).toEqual([
      "protocol may not import services/cluster-head (docs/architecture.md § Layers allows: nothing)",
    ]);
  });

  it("fails lint when a use case imports HTTP, the bench imports a test, or a require() crosses a layer", async () => {
    expect(
      await layerErrors(
        "services/cluster-head/use-cases/layer-probe.ts",
        'import type { EnrollItem } from "../http/schemas";\nexport type Probe = EnrollItem;\n',
      ),
    ).toHaveLength(1);
    expect(
      await layerErrors(
        "bench/lib/layer-probe.ts",
        'export { errorCode } from "../../test/helpers/member-client";\n',
      ),
    ).toHaveLength(1);
    expect(
      await layerErrors(
        "device/sdk/layer-probe.ts",
        'export const probe = require("../../chain/deployment-file");\n',
      ),
    ).toHaveLength(1);
  });

  it("fails lint when a package's internals are imported past its public door, except from tests and the bench", async () => {
    expect(
      await layerErrors(
        "services/cluster-head/use-cases/layer-probe.ts",
        'export { toHex } from "../../../protocol/bytes";\n',
      ),
    ).toEqual([
      "import protocol through its public door ./protocol/index (docs/architecture.md § Layers), not protocol/bytes",
    ]);
    expect(
      await layerErrors("device/cli/layer-probe.ts", 'export { HeadClient } from "../sdk/head-client";\n'),
    ).toHaveLength(1);
    expect(
      await layerErrors("scripts/layer-probe.ts", 'export { inboxTopic } from "../transport/mqtt/topics";\n'),
    ).toHaveLength(1);
    expect(
      await layerErrors("scripts/layer-probe.ts", 'export { inboxTopic } from "../transport/mqtt";\n'),
    ).toEqual([]);
    expect(
      await layerErrors(
        "bench/lib/layer-probe.ts",
        'export { aeadSeal } from "../../protocol/crypto/aead";\n',
      ),
    ).toEqual([]);
    expect(
      await layerErrors(
        "test/protocol/layer-probe.ts",
        'export { aeadSeal } from "../../protocol/crypto/aead";\n',
      ),
    ).toEqual([]);
  });

  it("lets a layer import what the table allows", async () => {
    expect(
      await layerErrors(
        "services/cluster-head/use-cases/layer-probe.ts",
        'import { toHex } from "../../../protocol";\nimport type { HeadContext } from "../context";\nexport const probe = [toHex] as unknown as HeadContext;\n',
      ),
    ).toEqual([]);
  });
});
