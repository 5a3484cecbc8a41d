import { configDefaults, defineConfig } from "vitest/config";

// `npm test` runs every test but the *.slow.test.ts files (exhaustive fuzzing and bit flips, minutes
// each, the end-to-end runs that start a whole deployment: the story, the load test, a production
// install, and the longest process-heavy runs: the CLI between two processes, the collector's
// faults); `npm run test:slow` runs those, and CI runs both (.ci/run), keeping `npm test` < 10 min.
const slow = process.env.IOTGUARD_TEST_SLOW === "1";

export default defineConfig({
  test: {
    include: slow ? ["test/**/*.slow.test.ts"] : ["test/**/*.test.ts"],
    exclude: slow ? [...configDefaults.exclude] : [...configDefaults.exclude, "test/**/*.slow.test.ts"],
    // Hardhat loads hardhat.config.ts through ts-node; the forked workers must preload it.
    pool: "forks",
    // Two files at a time: most tests wait on a chain, a broker or HTTP, so two overlap well on 2 cores.
    maxWorkers: 2,
    execArgv: ["--require", "ts-node/register/transpile-only"],
    env: { HARDHAT_NETWORK: "hardhat", TS_NODE_TRANSPILE_ONLY: "true" },
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
