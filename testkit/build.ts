/**
 * The build output (dist/, `npm run build`) for tests and benchmarks that spawn the CLI or the head
 * as a user runs them. Tests keep importing the TypeScript sources; only child processes run the
 * built JavaScript, rebuilt first when a source is newer than dist/ (scripts/build.cjs, under a
 * lock shared by parallel workers).
 */
import { resolve } from "node:path";

/** The repository root. */
export const REPO_ROOT = resolve(__dirname, "..");

const build = require(resolve(REPO_ROOT, "scripts/build.cjs")) as {
  ensureBuilt(options?: { force?: boolean; check?: boolean }): boolean;
  isStale(): boolean;
};

/** The `iotguard` bin (package.json), a launcher that runs dist/device/cli/main.js. */
export const CLI_BIN = resolve(REPO_ROOT, "device/cli/iotguard.cjs");

/**
 * Builds dist/ when it is missing or older than a source; synchronous. Without the type check
 * (same files, half the time): `npm test` type-checks first, and a test of a half-typed tree should
 * run as it did under tsx. @throws when tsc cannot emit
 */
export function ensureBuilt(): void {
  build.ensureBuilt({ check: false });
}

/**
 * The absolute path of a built file, e.g. `built("services/cluster-head/main.js")`, after
 * {@link ensureBuilt}.
 */
export function built(relative: string): string {
  ensureBuilt();
  return resolve(REPO_ROOT, "dist", relative);
}
