#!/usr/bin/env node
/**
 * `npm run build [-- --if-stale] [--no-check]`: the product's JavaScript in dist/, which the
 * `iotguard` bin and `npm run cluster-head` run, so a production install (`npm install --omit=dev`)
 * needs neither tsx nor Hardhat.
 *
 * 1. `hardhat compile`: the type check needs the typechain types of the registry (type imports
 *    only); skipped with `--no-check`.
 * 2. A clean `tsc -p tsconfig.build.json` (a type error fails the build, unless `--no-check`),
 *    swapped in as dist/. `--no-check` (tsc --noCheck) emits the same files, since every module
 *    compiles on its own (isolatedModules), in half the time: for callers that type-check apart
 *    (`npm test` runs `npm run typecheck` first) or never did (the dev loop tsx used to serve).
 * 3. dist/typechain-types is dropped: only types came from there, no emitted file requires it.
 *    The operator dashboard (dashboard/, browser code) is bundled and minified by esbuild into
 *    dist/dashboard/ with the head's own bundler (services/cluster-head/http/dashboard-assets.ts).
 * 4. dist/package.json: the sources read `require("../../package.json").version` two folders up,
 *    which from dist/<dir>/<dir>/ is dist/. It carries the version and no name, so the package
 *    root is still the first package.json above with a name (platform/package-root.ts). Written
 *    last, with the build's start time as its mtime: the stamp `--if-stale` compares against.
 *
 * `--if-stale` builds only when a source is newer than the last build. Plain JavaScript, no
 * loader: the test and bench helpers call {@link ensureBuilt} before they spawn the built CLI or
 * head, and so does the `iotguard` launcher in a checkout; a cross-process lock keeps parallel
 * test workers from building at once.
 */
"use strict";
const { spawnSync } = require("node:child_process");
const { createHash } = require("node:crypto");
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");

const ROOT = path.resolve(__dirname, "..");
const DIST = path.join(ROOT, "dist");
const STAMP = path.join(DIST, "package.json");
/** What the build output depends on: a file here newer than the stamp makes it stale. */
const INPUTS = [
  "protocol",
  "transport",
  "platform",
  "telemetry",
  "services",
  "device",
  "chain",
  "contracts",
  "dashboard",
  "package.json",
  "tsconfig.json",
  "tsconfig.build.json",
  "scripts/build.cjs",
];
const LOCK = path.join(
  os.tmpdir(),
  `iotguard-build-${createHash("sha256").update(ROOT).digest("hex").slice(0, 16)}.lock`,
);
const LOCK_WAIT_MS = 5 * 60_000;

function newestInput(entry) {
  let stat;
  try {
    stat = fs.statSync(entry);
  } catch {
    return 0;
  }
  if (!stat.isDirectory()) return stat.mtimeMs;
  let newest = stat.mtimeMs; // a file added or removed changes the folder's mtime
  for (const name of fs.readdirSync(entry)) newest = Math.max(newest, newestInput(path.join(entry, name)));
  return newest;
}

function isStale() {
  let built;
  try {
    built = fs.statSync(STAMP).mtimeMs;
  } catch {
    return true;
  }
  return INPUTS.some((input) => newestInput(path.join(ROOT, input)) > built);
}

function sleep(ms) {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** mkdir is atomic: whoever creates the lock folder builds; the others wait for it to go. */
function acquireLock() {
  const deadline = Date.now() + LOCK_WAIT_MS;
  for (;;) {
    try {
      fs.mkdirSync(LOCK);
      fs.writeFileSync(path.join(LOCK, "pid"), String(process.pid));
      return;
    } catch (error) {
      if (error.code !== "EEXIST") throw error;
    }
    if (lockOwnerIsGone()) {
      fs.rmSync(LOCK, { recursive: true, force: true });
      continue;
    }
    if (Date.now() > deadline) throw new Error(`build: ${LOCK} still held after ${LOCK_WAIT_MS / 1000} s`);
    sleep(100);
  }
}

function lockOwnerIsGone() {
  let pid;
  try {
    pid = Number(fs.readFileSync(path.join(LOCK, "pid"), "utf8"));
  } catch {
    // Just created, pid not written yet; or a crash between the two: old enough means gone.
    try {
      return Date.now() - fs.statSync(LOCK).mtimeMs > 10_000;
    } catch {
      return false;
    }
  }
  try {
    process.kill(pid, 0);
  } catch (error) {
    return error.code === "ESRCH";
  }
  // A killed builder whose parent waits synchronously (on this very lock) is a zombie that nobody
  // reaps: it still answers kill(0) but will never release the lock.
  return isZombie(pid);
}

function isZombie(pid) {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    // Field 3, after the parenthesised command name (which may itself contain spaces or parentheses).
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) === "Z";
  } catch {
    return false;
  }
}

function run(what, args) {
  const result = spawnSync(process.execPath, args, {
    cwd: ROOT,
    stdio: ["ignore", "pipe", "pipe"],
    encoding: "utf8",
  });
  if (result.status !== 0) {
    process.stderr.write(`${result.stdout}${result.stderr}`);
    throw new Error(`build: ${what} failed (exit ${result.status ?? result.signal})`);
  }
}

function build(check) {
  const started = new Date();
  if (check) {
    run("hardhat compile", [
      require.resolve("hardhat/internal/cli/bootstrap", { paths: [ROOT] }),
      "compile",
      "--quiet",
    ]);
  }
  // Built beside dist/ and swapped in whole, so a CLI or head already running from dist/ (another
  // test worker, another terminal) never sees a half-written tree.
  const next = path.join(ROOT, `.dist-${process.pid}`);
  fs.rmSync(next, { recursive: true, force: true });
  try {
    const tsc = require.resolve("typescript/bin/tsc", { paths: [ROOT] });
    run("tsc", [tsc, "-p", "tsconfig.build.json", "--outDir", next, ...(check ? [] : ["--noCheck"])]);
    fs.rmSync(path.join(next, "typechain-types"), { recursive: true, force: true });
    writeDashboard(next);
    const { version } = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8"));
    const stamp = {
      private: true,
      description: "iotguard build output (npm run build); the package root is the folder above",
      version,
      type: "commonjs",
    };
    const stampFile = path.join(next, "package.json");
    fs.writeFileSync(stampFile, `${JSON.stringify(stamp, null, 2)}\n`);
    // A source saved while tsc ran is newer than this, so the next --if-stale builds again.
    fs.utimesSync(stampFile, started, started);
    const old = path.join(ROOT, `.dist-old-${process.pid}`);
    if (fs.existsSync(DIST)) fs.renameSync(DIST, old);
    fs.renameSync(next, DIST);
    fs.rmSync(old, { recursive: true, force: true });
  } finally {
    fs.rmSync(next, { recursive: true, force: true });
  }
}

/** The dashboard's bundle into `<out>/dashboard/`, made by the same code that bundles it under tsx. */
function writeDashboard(out) {
  const { bundleDashboard } = require(path.join(out, "services/cluster-head/http/dashboard-assets.js"));
  const dir = path.join(out, "dashboard");
  fs.mkdirSync(dir, { recursive: true });
  for (const [name, file] of bundleDashboard(ROOT, require("esbuild")))
    fs.writeFileSync(path.join(dir, name), file.body);
}

/**
 * Builds dist/ unless it is newer than every input (`force`: build anyway; `check: false`: no type
 * check). Synchronous, holds the build lock throughout.
 * @returns whether it built
 * @throws Error when hardhat compile or tsc fails (their output went to stderr)
 */
function ensureBuilt({ force = false, check = true } = {}) {
  const t0 = Date.now();
  // Checked before the lock too: the fresh case (every CLI call in a checkout) never waits.
  if (!force && !isStale()) return false;
  acquireLock();
  try {
    if (!force && !isStale()) return false;
    build(check);
    process.stderr.write(
      `build: dist/${check ? "" : " (not type-checked)"} in ${((Date.now() - t0) / 1000).toFixed(1)} s\n`,
    );
    return true;
  } finally {
    fs.rmSync(LOCK, { recursive: true, force: true });
  }
}

module.exports = { ensureBuilt, isStale, isZombie, DIST };

if (require.main === module) {
  try {
    ensureBuilt({ force: !process.argv.includes("--if-stale"), check: !process.argv.includes("--no-check") });
  } catch (error) {
    process.stderr.write(`${error.message}\n`);
    process.exit(1);
  }
}
