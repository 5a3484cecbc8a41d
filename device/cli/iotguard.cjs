#!/usr/bin/env node
// Launcher for `iotguard` (package.json "bin"): runs the built CLI from dist/ (`npm run build`), so
// an install without devDependencies needs no TypeScript loader and each call starts in plain Node.
"use strict";
const { existsSync } = require("node:fs");
const { join } = require("node:path");

const BUILT = join(__dirname, "../../dist/device/cli/main.js");
// In a source checkout (the package as installed has no scripts/), rebuild first when a source is
// newer than dist/, so `npx iotguard` never runs stale code. Not type-checked, as tsx did not:
// `npm run typecheck` / `npm run build` do that.
const BUILD_SCRIPT = join(__dirname, "../../scripts/build.cjs");
if (existsSync(BUILD_SCRIPT)) {
  try {
    require(BUILD_SCRIPT).ensureBuilt({ check: false });
  } catch (error) {
    process.stderr.write(`iotguard: ${error.message}\n`);
    process.exit(2);
  }
}

if (!existsSync(BUILT)) {
  process.stderr.write(`iotguard: ${BUILT} is missing: run \`npm run build\` first\n`);
  process.exit(2);
}
require(BUILT).run();
