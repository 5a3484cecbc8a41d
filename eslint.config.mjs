// `npm run lint`: ESLint with typescript-eslint's recommended rules.
import js from "@eslint/js";
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["node_modules/", "artifacts/", "cache/", "coverage/", "dist/", "typechain-types/", "bench/results/", "deployments/", ".data/"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { console: "readonly", process: "readonly", Buffer: "readonly", __dirname: "readonly", require: "readonly", module: "readonly", setTimeout: "readonly", clearTimeout: "readonly", setInterval: "readonly", clearInterval: "readonly", crypto: "readonly", fetch: "readonly", performance: "readonly", queueMicrotask: "readonly", AbortSignal: "readonly", TextEncoder: "readonly", TextDecoder: "readonly", URL: "readonly", Response: "readonly", NodeJS: "readonly" } },
    rules: {
      // CommonJS interop (hardhat config, package.json version, solc) needs require().
      "@typescript-eslint/no-require-imports": "off",
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
    },
  },
  { files: ["**/*.cjs"], rules: { "@typescript-eslint/no-require-imports": "off" } },
);
