/**
 * Suite `cli`: what the compiled build (`npm run build`, dist/) buys at start. Cold start of
 * `iotguard --help` and `iotguard device status` through the package's bin on the built JavaScript,
 * against `node -e 0` in the same run (goals: ≤ 0.4 s and ≤ 5× node's own start), and the same
 * commands through the previous bin (the tsx loader on the TypeScript sources), with tsx's
 * transform cache warm and disabled. Then the cluster head's RSS and time to its start line, built
 * vs under tsx. Variants alternate round by round, so drift on the machine hits them alike.
 * @module
 */
import { spawn } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { CLI_BIN, ensureBuilt, REPO_ROOT } from "../../testkit/build";
import { startTestChain } from "../../testkit/chain";
import { latency, median, nowMs, row } from "../lib/measure";
import { procUsage, type Runner, startHeadProcess } from "../lib/processes";
import type { Row, Series } from "../lib/schema";
import type { Suite } from "../lib/suite";

/** How one cold start is launched: node's arguments and extra environment. */
interface Variant {
  name: string;
  args: (command: string[]) => string[];
  env?: NodeJS.ProcessEnv;
}

/** Spawns `node …args`, waits for it to exit 0 and returns the wall time in ms. */
function coldStart(args: string[], env: NodeJS.ProcessEnv = {}): Promise<number> {
  return new Promise((resolvePromise, reject) => {
    const t0 = nowMs();
    const child = spawn(process.execPath, args, {
      cwd: REPO_ROOT,
      env: { ...process.env, ...env },
      stdio: ["ignore", "ignore", "pipe"],
    });
    let stderr = "";
    child.stderr?.on("data", (c: Buffer) => void (stderr += c.toString()));
    child.once("error", reject);
    child.once("exit", (code) => {
      const ms = nowMs() - t0;
      if (code === 0) resolvePromise(ms);
      else reject(new Error(`node ${args.join(" ")} exited ${code}: ${stderr.slice(-400)}`));
    });
  });
}

/** Resolves once the head's /health answers at all (it has served a request), polling every 20 ms. */
async function firstHealthAnswer(url: string, timeoutMs = 30_000): Promise<void> {
  const deadline = nowMs() + timeoutMs;
  while (nowMs() < deadline) {
    const answered = await fetch(`${url}/health`).then(
      () => true,
      () => false,
    );
    if (answered) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`${url}/health did not answer within ${timeoutMs} ms`);
}

export const cliSuite: Suite = {
  name: "cli",
  description:
    "cold start of `iotguard --help` / `device status` built vs node -e 0 (goals ≤ 0.4 s, ≤ 5×) and vs the tsx loader; head RSS at start built vs tsx",
  async run(ctx) {
    const rounds = ctx.quick ? 3 : 15;
    const headRounds = ctx.quick ? 1 : 3;
    const rows: Row[] = [];
    const series: Series[] = [];
    ensureBuilt();
    const work = mkdtempSync(join(tmpdir(), "iotguard-bench-cli-"));
    try {
      // The bin before the build (device/cli/iotguard.cjs until then): tsx's CommonJS hook on the sources.
      const tsxBin = join(work, "iotguard-tsx.cjs");
      writeFileSync(
        tsxBin,
        [
          `require(${JSON.stringify(require.resolve("tsx/cjs/api", { paths: [REPO_ROOT] }))}).register();`,
          `require(${JSON.stringify(resolve(REPO_ROOT, "device/cli/main.ts"))}).run();`,
          "",
        ].join("\n"),
      );
      // The bin as installed: the launcher with dist/ beside it and no scripts/build.cjs, so it
      // skips the freshness check a checkout does (and a rebuild by someone else cannot land mid-run).
      const installedBin = join(work, "pkg/device/cli/iotguard.cjs");
      mkdirSync(dirname(installedBin), { recursive: true });
      copyFileSync(CLI_BIN, installedBin);
      symlinkSync(join(REPO_ROOT, "dist"), join(work, "pkg/dist"));
      const dataDir = join(work, "device");
      await coldStart([installedBin, "device", "init", "--data-dir", dataDir]);
      const commands: Record<string, string[]> = {
        "iotguard-help": ["--help"],
        "iotguard-device-status": ["device", "status", "--data-dir", dataDir],
      };
      const node: Variant = { name: "node -e 0", args: () => ["-e", "0"] };
      const variants: Variant[] = [
        { name: "built", args: (c) => [installedBin, ...c] },
        { name: "tsx", args: (c) => [tsxBin, ...c] },
        { name: "tsx-no-cache", args: (c) => [tsxBin, ...c], env: { TSX_DISABLE_CACHE: "1" } },
      ];
      const samples = new Map<string, number[]>();
      const record = (key: string, ms: number) => samples.set(key, [...(samples.get(key) ?? []), ms]);
      // Warm-up: the OS file cache and tsx's transform cache, as after the first call.
      await coldStart(node.args([]));
      for (const v of variants) for (const c of Object.values(commands)) await coldStart(v.args(c), v.env);
      for (let r = 0; r < rounds; r++) {
        record(node.name, await coldStart(node.args([])));
        for (const [command, argv] of Object.entries(commands)) {
          for (const v of variants) record(`${command}/${v.name}`, await coldStart(v.args(argv), v.env));
        }
        ctx.progress((0.7 * (r + 1)) / rounds, `cold starts, round ${r + 1}/${rounds}`);
      }

      const nodeMs = median(samples.get(node.name) as number[]);
      rows.push(
        row("cli", {
          case: "cold-start/node-e-0",
          unit: "ms (p50)",
          better: "lower",
          value: nodeMs,
          latencyMs: latency(samples.get(node.name) as number[]),
          note: `\`node -e 0\`: spawn to exit of a bare Node ${process.versions.node}, ${rounds} runs alternating with the CLI's`,
        }),
      );
      const nodeBaseline = { case: "cold-start/node-e-0", value: nodeMs };
      for (const [command, argv] of Object.entries(commands)) {
        const shown = `iotguard ${argv.map((a) => (a === dataDir ? "<dir>" : a)).join(" ")}`;
        const builtSamples = samples.get(`${command}/built`) as number[];
        const builtMs = median(builtSamples);
        rows.push(
          row("cli", {
            case: `cold-start/${command}/built`,
            unit: "ms (p50)",
            better: "lower",
            value: builtMs,
            baseline: nodeBaseline,
            latencyMs: latency(builtSamples),
            goal: { text: "≤ 0.4 s per CLI call", on: "value", op: "<=", target: 400 },
            note: `\`${shown}\` through the bin as installed (device/cli/iotguard.cjs → dist/), spawn to exit`,
          }),
        );
        rows.push(
          row("cli", {
            case: `cold-start/${command}/built/vs-node`,
            unit: "ms (p50)",
            better: "lower",
            value: builtMs,
            baseline: nodeBaseline,
            goal: { text: "≤ 5× node's own start", on: "ratio", op: "<=", target: 5 },
            note: "the same figure against `node -e 0` measured in the same rounds",
          }),
        );
        for (const v of variants.slice(1)) {
          const s = samples.get(`${command}/${v.name}`) as number[];
          rows.push(
            row("cli", {
              case: `cold-start/${command}/${v.name}`,
              unit: "ms (p50)",
              better: "lower",
              value: median(s),
              baseline: { case: `cold-start/${command}/built`, value: builtMs },
              latencyMs: latency(s),
              note:
                v.name === "tsx"
                  ? "before the build: the previous bin (tsx/cjs/api register + device/cli/main.ts), tsx's transform cache warm; ratio = how many times slower than built"
                  : "the previous bin with TSX_DISABLE_CACHE=1: the first call after an install or an edit, every file transformed again",
            }),
          );
        }
      }
      series.push({
        suite: "cli",
        name: "cli-cold-start",
        title: "CLI cold start, spawn to exit (p50)",
        kind: "bar",
        x: { label: "command", scale: "band" },
        y: { label: "ms", scale: "log" },
        points: [
          { x: "node -e 0", y: nodeMs, group: "node -e 0" },
          ...Object.keys(commands).flatMap((command) =>
            variants.map((v) => ({
              x: command,
              y: median(samples.get(`${command}/${v.name}`) as number[]),
              group: v.name,
            })),
          ),
        ],
      });

      ctx.progress(0.75, "head RSS at start");
      const chain = await startTestChain();
      try {
        const heads = new Map<Runner, { rssMB: number[]; startMs: number[] }>([
          ["built", { rssMB: [], startMs: [] }],
          ["tsx", { rssMB: [], startMs: [] }],
        ]);
        let clusterId = 100;
        for (let r = 0; r < headRounds; r++) {
          for (const [runner, m] of heads) {
            ensureBuilt(); // a rebuild (someone saved a source) must not count as start time
            const t0 = nowMs();
            const head = await startHeadProcess(chain, ["--cluster-id", String(++clusterId)], runner);
            try {
              m.startMs.push(nowMs() - t0);
              await firstHealthAnswer(head.url);
              m.rssMB.push(procUsage(head.pid).rssMB);
            } finally {
              await head.stop();
            }
          }
          ctx.progress(0.75 + (0.25 * (r + 1)) / headRounds, `head starts, round ${r + 1}/${headRounds}`);
        }
        const tsx = heads.get("tsx") as { rssMB: number[]; startMs: number[] };
        const built = heads.get("built") as { rssMB: number[]; startMs: number[] };
        rows.push(
          row("cli", {
            case: "head-rss-at-start/built",
            unit: "MB",
            better: "lower",
            value: median(built.rssMB),
            baseline: { case: "head-rss-at-start/tsx", value: median(tsx.rssMB) },
            note: `RSS of the head process (dist/services/cluster-head/main.js) right after its first /health answer, median of ${headRounds} starts; baseline: the same under node --import tsx`,
          }),
        );
        rows.push(
          row("cli", {
            case: "head-start/built",
            unit: "ms (p50)",
            better: "lower",
            value: median(built.startMs),
            baseline: { case: "head-start/tsx", value: median(tsx.startMs) },
            latencyMs: latency(built.startMs),
            note: "spawn to the head's start line (chain checked, cluster created on chain, HTTP and broker listening); baseline: under node --import tsx",
          }),
        );
      } finally {
        await chain.stop();
      }
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
    return { rows, series };
  },
};
