// The allowed import directions between the repository's layers, and the ESLint rule that enforces
// them. docs/architecture.md § Layers shows the same table (test/docs/layers.test.ts keeps the two
// equal). A layer is a folder; a file belongs to the longest layer path that contains it. Imports
// inside one layer are always allowed; imports of packages (node_modules) are not checked here.
import { dirname, normalize, relative, resolve, sep } from "node:path";

/** layer → the layers it may import. */
export const LAYERS = {
  protocol: [],
  platform: ["protocol"],
  chain: ["platform", "typechain-types"],
  transport: ["protocol", "platform"],
  "services/cluster-head/stores": ["protocol", "platform", "chain"],
  "services/cluster-head/use-cases": [
    "protocol",
    "platform",
    "chain",
    "transport",
    "services/cluster-head",
    "services/cluster-head/stores",
  ],
  "services/cluster-head/http": [
    "protocol",
    "platform",
    "chain",
    "transport",
    "services/cluster-head",
    "services/cluster-head/stores",
    "services/cluster-head/use-cases",
  ],
  "services/cluster-head": [
    "protocol",
    "platform",
    "chain",
    "transport",
    "services/cluster-head/stores",
    "services/cluster-head/use-cases",
    "services/cluster-head/http",
    "package.json",
  ],
  telemetry: ["protocol"],
  "services/collector": ["protocol", "platform", "transport", "telemetry", "device/sdk", "package.json"],
  "device/sdk": ["protocol", "platform", "transport"],
  "device/cli": ["protocol", "platform", "chain", "transport", "telemetry", "device/sdk", "package.json"],
  scripts: [
    "protocol",
    "platform",
    "chain",
    "transport",
    "services/cluster-head",
    "services/collector",
    "telemetry",
    "device/sdk",
    "typechain-types",
  ],
  testkit: [
    "protocol",
    "platform",
    "chain",
    "transport",
    "services/cluster-head",
    "services/collector",
    "telemetry",
    "device/sdk",
    "device/cli",
  ],
  bench: [
    "protocol",
    "platform",
    "chain",
    "transport",
    "services/cluster-head",
    "services/collector",
    "telemetry",
    "device/sdk",
    "scripts",
    "testkit",
  ],
  dashboard: [],
  test: ["*"],
};

/**
 * Packages with one public door: from outside the package, only its index may be imported.
 * `test` and `bench` may reach inside (they test and measure the internals).
 */
export const DOORS = {
  protocol: "protocol/index",
  "transport/mqtt": "transport/mqtt/index",
  telemetry: "telemetry/index",
  "device/sdk": "device/sdk/index",
};
const DOOR_EXEMPT = ["test", "bench"];

/** The package whose door `target` (a repository path without extension) bypasses, if any. */
export function bypassedDoor(from, target) {
  if (DOOR_EXEMPT.includes(from)) return undefined;
  const posix = target
    .split(sep)
    .join("/")
    .replace(/\.(ts|js|mjs|cjs)$/, "");
  for (const [pkg, door] of Object.entries(DOORS)) {
    if (!posix.startsWith(`${pkg}/`)) continue;
    if (from === pkg || layerOf(`${pkg}/x`) === from) return undefined;
    return posix === door ? undefined : pkg;
  }
  return undefined;
}

const ORDERED = Object.keys(LAYERS).sort((a, b) => b.length - a.length);

/** The layer of a repository-relative path, or undefined outside every layer (configs, generated code). */
export function layerOf(path) {
  const posix = path.split(sep).join("/");
  return (
    ORDERED.find((layer) => posix === layer || posix.startsWith(`${layer}/`)) ??
    (posix.startsWith("typechain-types/")
      ? "typechain-types"
      : posix === "package.json"
        ? "package.json"
        : undefined)
  );
}

/** Whether `from` may import `to` (both layers). */
export function mayImport(from, to) {
  if (from === to) return true;
  const allowed = LAYERS[from];
  return allowed !== undefined && (allowed.includes("*") || allowed.includes(to));
}

const rule = {
  meta: {
    type: "problem",
    docs: { description: "imports follow the layer table of docs/architecture.md" },
    schema: [],
    messages: {
      forbidden: "{{from}} may not import {{to}} (docs/architecture.md § Layers allows: {{allowed}})",
      door: "import {{pkg}} through its public door ./{{door}} (docs/architecture.md § Layers), not {{target}}",
    },
  },
  create(context) {
    const root = context.cwd;
    const file = relative(root, context.filename);
    const from = layerOf(file);
    if (from === undefined) return {};
    const check = (node, specifier) => {
      if (typeof specifier !== "string" || !specifier.startsWith(".")) return;
      const target = relative(root, normalize(resolve(dirname(context.filename), specifier)));
      const to = layerOf(target);
      if (to === undefined) return;
      if (!mayImport(from, to)) {
        context.report({
          node,
          messageId: "forbidden",
          data: { from, to, allowed: LAYERS[from].join(", ") || "nothing" },
        });
        return;
      }
      const pkg = bypassedDoor(from, target);
      if (pkg) context.report({ node, messageId: "door", data: { pkg, door: DOORS[pkg], target } });
    };
    return {
      ImportDeclaration: (node) => check(node.source, node.source.value),
      ExportNamedDeclaration: (node) => node.source && check(node.source, node.source.value),
      ExportAllDeclaration: (node) => check(node.source, node.source.value),
      ImportExpression: (node) => node.source.type === "Literal" && check(node.source, node.source.value),
      CallExpression: (node) => {
        if (
          node.callee.type === "Identifier" &&
          node.callee.name === "require" &&
          node.arguments[0]?.type === "Literal"
        )
          check(node.arguments[0], node.arguments[0].value);
      },
    };
  },
};

export const layersPlugin = { rules: { layers: rule } };
