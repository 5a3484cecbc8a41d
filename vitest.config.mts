import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // Hardhat loads hardhat.config.ts through ts-node; the forked workers must preload it.
    pool: "forks",
    execArgv: ["--require", "ts-node/register/transpile-only"],
    env: { HARDHAT_NETWORK: "hardhat", TS_NODE_TRANSPILE_ONLY: "true" },
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
