// `npm run lint` (also part of `npm test`): typescript-eslint's recommended rules, the type-aware
// rules that matter in this event-driven code (no floating or misused promises), and the layer
// table of docs/architecture.md (lint/layers.mjs).
import js from "@eslint/js";
import tseslint from "typescript-eslint";
import { layersPlugin } from "./lint/layers.mjs";

export default tseslint.config(
  {
    ignores: [
      "node_modules/",
      "artifacts/",
      "cache/",
      "coverage/",
      "dist/",
      ".dist-*/",
      "typechain-types/",
      "bench/results/",
      "deployments/",
      ".data/",
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: {
        console: "readonly",
        process: "readonly",
        Buffer: "readonly",
        __dirname: "readonly",
        require: "readonly",
        module: "readonly",
        setTimeout: "readonly",
        clearTimeout: "readonly",
        setInterval: "readonly",
        clearInterval: "readonly",
        crypto: "readonly",
        fetch: "readonly",
        performance: "readonly",
        queueMicrotask: "readonly",
        AbortSignal: "readonly",
        TextEncoder: "readonly",
        TextDecoder: "readonly",
        URL: "readonly",
        Response: "readonly",
        NodeJS: "readonly",
      },
    },
    plugins: { iotguard: layersPlugin },
    rules: {
      // CommonJS interop (hardhat config, package.json version, solc) needs require().
      "@typescript-eslint/no-require-imports": "off",
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "iotguard/layers": "error",
    },
  },
  {
    files: ["**/*.ts", "**/*.mts"],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      "@typescript-eslint/no-floating-promises": "error",
      "@typescript-eslint/no-misused-promises": "error",
      "@typescript-eslint/await-thenable": "error",
    },
  },
  { files: ["**/*.cjs"], rules: { "@typescript-eslint/no-require-imports": "off" } },
);
