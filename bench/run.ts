/**
 * `npm run bench [-- [--quick] [--profile] [--out DIR] [suite ...]]`: runs the benchmark suites and writes
 * bench/results/<stem>.json (schema in bench/lib/schema.ts, documented in bench/README.md),
 * <stem>.md (summary table) and <stem>-<plot>.svg. Progress goes to stderr.
 * @module
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os, { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { nativeCurveBackend } from "../platform/native-curve-backend";
import { nodeSymmetricBackend } from "../platform/node-symmetric-backend";
import { nobleBackend, useSymmetricBackend } from "../protocol/crypto/backend";
import { type CurveBackend, nobleCurveBackend, useCurveBackend } from "../protocol/crypto/curve-backend";
import { renderSvg } from "./lib/plots";
import { markdown } from "./lib/report";
import { RESULTS_SCHEMA, type Results, resultsSchema, SUITE_NAMES, type SuiteName } from "./lib/schema";
import type { Suite } from "./lib/suite";
import { chainSuite } from "./suites/chain";
import { cliSuite } from "./suites/cli";
import { cryptoSuite } from "./suites/crypto";
import { dashboardSuite } from "./suites/dashboard";
import { floodSuite } from "./suites/flood";
import { grantSuite } from "./suites/grant";
import { joinSuite } from "./suites/join";
import { m2mSuite } from "./suites/m2m";
import { scaleSuite } from "./suites/scale";
import { telemetrySuite } from "./suites/telemetry";
import { wireSuite } from "./suites/wire";

const SUITES: Record<SuiteName, Suite> = {
  crypto: cryptoSuite,
  wire: wireSuite,
  join: joinSuite,
  grant: grantSuite,
  m2m: m2mSuite,
  telemetry: telemetrySuite,
  chain: chainSuite,
  scale: scaleSuite,
  cli: cliSuite,
  flood: floodSuite,
  dashboard: dashboardSuite,
};

const USAGE = `usage: npm run bench -- [--quick] [--crypto node|noble] [--profile [--keep-profiles]] [--out DIR] [suite ...]
--crypto: the crypto backends of the head and the bench devices (default node: node:crypto and
  libsecp256k1, as the head runs; noble: pure JavaScript for both)
--profile: run the heads of the grant and join suites under \`node --cpu-prof\` and write where
  their main thread spent the timed windows to <stem>-profile.md
--keep-profiles: with --profile, keep the raw .cpuprofile files (Chrome DevTools opens them) and
  print where they are
suites (default: all, in this order):
${SUITE_NAMES.map((n) => `  ${n.padEnd(10)} ${SUITES[n].description}`).join("\n")}`;

interface Args {
  quick: boolean;
  crypto: "node" | "noble";
  profile: boolean;
  keepProfiles: boolean;
  out: string;
  suites: SuiteName[];
}

function parseArgs(argv: string[]): Args {
  const args: Args = {
    quick: false,
    crypto: "node",
    profile: false,
    keepProfiles: false,
    out: resolve(__dirname, "results"),
    suites: [],
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    if (a === "--quick") args.quick = true;
    else if (a === "--profile") args.profile = true;
    else if (a === "--keep-profiles") args.keepProfiles = true;
    else if (a === "--crypto") {
      const value = argv[++i];
      if (value !== "node" && value !== "noble") {
        console.error(`bench: --crypto takes node or noble\n${USAGE}`);
        process.exit(2);
      }
      args.crypto = value;
    } else if (a === "--out") args.out = resolve(argv[++i] ?? "");
    else if (a === "--help" || a === "-h") {
      console.log(USAGE);
      process.exit(0);
    } else if ((SUITE_NAMES as readonly string[]).includes(a)) args.suites.push(a as SuiteName);
    else {
      console.error(`bench: unknown argument ${JSON.stringify(a)}\n${USAGE}`);
      process.exit(2);
    }
  }
  if (args.suites.length === 0) args.suites = [...SUITE_NAMES];
  else args.suites = SUITE_NAMES.filter((n) => args.suites.includes(n));
  return args;
}

function tryRun(cmd: string, argv: string[]): string | null {
  try {
    return execFileSync(cmd, argv, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], timeout: 5000 });
  } catch (error) {
    // `mosquitto -h` exits non-zero but prints its version.
    const out = (error as { stdout?: string }).stdout;
    return typeof out === "string" && out.length ? out : null;
  }
}

function machine(loadAvgStart: number): Results["machine"] {
  const cpus = os.cpus();
  const mosq = tryRun("mosquitto", ["-h"])?.match(/mosquitto version (\S+)/)?.[1] ?? null;
  return {
    hostname: os.hostname(),
    platform: os.platform(),
    release: os.release(),
    arch: os.arch(),
    cpuModel: cpus[0]?.model.trim() ?? "unknown",
    cpus: cpus.length,
    totalMemMB: Math.round(os.totalmem() / 2 ** 20),
    node: process.versions.node,
    loadAvgStart,
    loadAvgEnd: os.loadavg()[0] ?? 0,
    mosquitto: mosq,
  };
}

/** One stderr line per update; in a terminal the line is redrawn in place. */
function progressPrinter(total: number) {
  const tty = process.stderr.isTTY;
  let last = 0;
  return (index: number, suite: string, fraction: number, label: string) => {
    const now = Date.now();
    if (!tty && now - last < 2000 && fraction < 1 && fraction > 0) return;
    last = now;
    const overall = (index + Math.min(1, Math.max(0, fraction))) / total;
    const width = 24;
    const filled = Math.round(overall * width);
    const bar = `[${"#".repeat(filled)}${"-".repeat(width - filled)}] ${(overall * 100).toFixed(0).padStart(3)}%`;
    const line = `${bar} ${suite} (${index + 1}/${total}) ${label}`;
    if (tty) process.stderr.write(`\r\x1b[2K${line.slice(0, (process.stderr.columns ?? 120) - 1)}`);
    else process.stderr.write(`${line}\n`);
  };
}

/** libsecp256k1 where its binding loads (as on the head), else @noble. */
function nativeCurveOrNoble(): CurveBackend {
  try {
    return nativeCurveBackend();
  } catch {
    return nobleCurveBackend;
  }
}

export async function main(argv: string[]): Promise<Results> {
  const args = parseArgs(argv);
  // One backend for the bench's devices and the head processes it starts (they read the env).
  useSymmetricBackend(args.crypto === "node" ? nodeSymmetricBackend : nobleBackend);
  // The devices sign and agree keys on the same curve code as the head, so they are not the limit.
  const curve = args.crypto === "node" ? nativeCurveOrNoble() : nobleCurveBackend;
  useCurveBackend(curve);
  process.env.IOTGUARD_CRYPTO_BACKEND = args.crypto;
  console.error(`bench: crypto backends ${args.crypto} (curve: ${curve.name})`);
  const profileRoot = args.profile ? mkdtempSync(join(tmpdir(), "iotguard-bench-profile-")) : undefined;
  const profiles: string[] = [];
  const started = new Date();
  const loadAvgStart = os.loadavg()[0] ?? 0;
  const results: Results = {
    schema: RESULTS_SCHEMA,
    startedAt: started.toISOString(),
    durationS: 0,
    mode: args.quick ? "quick" : "full",
    suites: args.suites,
    command: ["npm run bench --", ...argv].join(" ").replace(/ --$/, ""),
    git: {
      commit: tryRun("git", ["rev-parse", "HEAD"])?.trim() ?? "unknown",
      dirty: (tryRun("git", ["status", "--porcelain", "--", "."])?.trim().length ?? 0) > 0,
    },
    machine: machine(loadAvgStart),
    rows: [],
    series: [],
    notes: [],
    failures: [],
  };
  const progress = progressPrinter(args.suites.length);
  for (const [index, name] of args.suites.entries()) {
    const suite = SUITES[name];
    progress(index, name, 0, "starting");
    const t0 = Date.now();
    try {
      const out = await suite.run({
        quick: args.quick,
        progress: (f, label) => progress(index, name, f, label),
        note: (text) => results.notes.push(`${name}: ${text}`),
        ...(profileRoot ? { profileDir: mkdtempSync(join(profileRoot, `${name}-`)) } : {}),
        profile: (markdown) => profiles.push(`## ${name}\n\n${markdown}`),
      });
      results.rows.push(...out.rows);
      results.series.push(...out.series);
    } catch (error) {
      const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
      results.failures.push({ suite: name, error: message.split("\n").slice(0, 4).join(" | ") });
    }
    progress(index, name, 1, `done in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    if (process.stderr.isTTY) process.stderr.write("\n");
  }
  results.durationS = (Date.now() - started.getTime()) / 1000;
  results.machine.loadAvgEnd = os.loadavg()[0] ?? 0;
  resultsSchema.parse(results);

  mkdirSync(args.out, { recursive: true });
  const date = started.toISOString().slice(0, 10);
  const all = args.suites.length === SUITE_NAMES.length;
  const stem = `${date}${args.quick ? "-quick" : ""}${all ? "" : `-${args.suites.join("+")}`}`;
  const svgFiles: string[] = [];
  for (const s of results.series) {
    const file = `${stem}-${s.name}.svg`;
    writeFileSync(join(args.out, file), await renderSvg(s));
    svgFiles.push(file);
  }
  writeFileSync(join(args.out, `${stem}.json`), `${JSON.stringify(results, null, 2)}\n`);
  writeFileSync(join(args.out, `${stem}.md`), markdown(results, svgFiles));
  if (profiles.length > 0) {
    const header = `# Where the head's main thread spent the timed windows — ${results.startedAt}\n\n\`${results.command}\` · commit ${results.git.commit.slice(0, 10)}${results.git.dirty ? " (dirty)" : ""} · self time from \`node --cpu-prof\` samples (bench/lib/cpu-profile.ts)\n\n`;
    writeFileSync(join(args.out, `${stem}-profile.md`), header + profiles.join("\n"));
  }
  if (profileRoot && args.keepProfiles) console.error(`bench: raw CPU profiles kept in ${profileRoot}`);
  else if (profileRoot) rmSync(profileRoot, { recursive: true, force: true });
  console.error(`bench: wrote ${join(args.out, `${stem}.json`)}, .md and ${svgFiles.length} SVG plots`);
  for (const f of results.failures) console.error(`bench: suite ${f.suite} failed: ${f.error}`);
  return results;
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (r) => {
      // Suites close what they open; exit anyway so a stray handle cannot keep the run alive.
      process.exit(r.failures.length ? 1 : 0);
    },
    (error) => {
      console.error(error);
      process.exit(1);
    },
  );
}
