/**
 * The package as a user gets it: `npm pack`, then `npm install --omit=dev <tarball>` into a fresh
 * folder (no TypeScript loader, no Hardhat), then the installed bins run the product against a real
 * Hardhat chain: `iotguard-cluster-head` starts a head, and one device is created, enrolled with
 * the operator token file and joined through the installed `iotguard`.
 *
 * The install takes its packages from the machine's npm cache (`--prefer-offline`), which
 * `npm ci` filled; only what is missing there comes from the registry.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { writeDeployment } from "../../chain/deployment-file";
import { ensureBuilt, REPO_ROOT } from "../../testkit/build";
import { startTestChain, type TestChain } from "../../testkit/chain";

const exec = promisify(execFile);
const CLUSTER_ID = "21";
const timings: Record<string, number> = {};

/** Runs npm (no shell) and returns its stdout. */
async function npm(args: string[], cwd: string): Promise<string> {
  return (await exec("npm", args, { cwd, maxBuffer: 16 * 2 ** 20 })).stdout;
}

async function timed<T>(name: string, work: () => Promise<T>): Promise<T> {
  const t0 = performance.now();
  try {
    return await work();
  } finally {
    timings[name] = Math.round(performance.now() - t0);
  }
}

const work = mkdtempSync(join(tmpdir(), "iotguard-production-"));
const app = join(work, "app");
const bin = (name: string) => join(app, "node_modules/.bin", name);
/** A user's environment: nothing of this repository's or vitest's, and node on the PATH. */
const userEnv: NodeJS.ProcessEnv = {
  PATH: `${dirname(process.execPath)}:${process.env.PATH ?? ""}`,
  HOME: work,
  LANG: "C.UTF-8",
};
let packedFiles: string[];
let chain: TestChain;
let head: ChildProcess | undefined;

/** Runs an installed bin to completion with the user's environment. */
async function runBin(name: string, args: string[]): Promise<{ stdout: string; stderr: string }> {
  return exec(bin(name), args, { cwd: app, env: userEnv, timeout: 30_000 });
}

/** Runs an installed `iotguard … --json` command and returns its last JSON line. */
async function iotguard(args: string[]): Promise<Record<string, unknown>> {
  const { stdout } = await runBin("iotguard", [...args, "--json"]);
  return JSON.parse(stdout.trim().split("\n").pop() as string);
}

beforeAll(async () => {
  ensureBuilt();
  const chainStarted = timed("chain", () => startTestChain());
  const packed = await timed("pack", async () =>
    JSON.parse(await npm(["pack", "--ignore-scripts", "--json", "--pack-destination", work], REPO_ROOT)),
  );
  const tarball = join(work, packed[0].filename as string);
  packedFiles = (packed[0].files as { path: string }[]).map((f) => f.path);
  await timed("install", async () => {
    mkdirSync(app);
    writeFileSync(join(app, "package.json"), JSON.stringify({ name: "production-user", private: true }));
    await npm(["install", "--omit=dev", "--prefer-offline", "--no-audit", "--no-fund", tarball], app);
  });
  chain = await chainStarted;
}, 240_000);

afterAll(async () => {
  if (head && head.exitCode === null && head.signalCode === null) {
    const exited = new Promise((r) => head?.once("exit", r));
    head.kill("SIGTERM");
    await exited;
  }
  await chain?.stop();
  rmSync(work, { recursive: true, force: true });
  if (process.env.IOTGUARD_TEST_TIMING)
    console.log(`production install timings (ms): ${JSON.stringify(timings)}`);
});

describe("a production install of the packed package (npm install --omit=dev <tarball>)", () => {
  it("ships the build output and the launcher, not the TypeScript sources, tests or Hardhat artifacts", () => {
    expect(packedFiles).toContain("dist/device/cli/main.js");
    expect(packedFiles).toContain("dist/services/cluster-head/main.js");
    expect(packedFiles).toContain("device/cli/iotguard.cjs");
    expect(packedFiles.filter((f) => f.endsWith(".ts"))).toEqual([]);
    expect(
      packedFiles.filter((f) => /^(test|bench|artifacts|typechain-types|contracts|scripts)\//.test(f)),
    ).toEqual([]);
  });

  it("installs no devDependency: no tsx, TypeScript, Hardhat or vitest", () => {
    for (const dev of ["tsx", "typescript", "hardhat", "vitest", "ts-node", "solc"]) {
      expect(existsSync(join(app, "node_modules", dev)), dev).toBe(false);
    }
    expect(existsSync(join(app, "node_modules/iotguard/dist/package.json"))).toBe(true);
  });

  it("exports the protocol core and the device SDK (iotguard/protocol, iotguard/device) and no internals", async () => {
    const probe = [
      "const out = {};",
      'for (const id of ["iotguard/protocol", "iotguard/device", "iotguard/dist/services/cluster-head/head.js"]) {',
      "  try { out[id] = Object.keys(require(id)).length; } catch (e) { out[id] = e.code; }",
      "}",
      "console.log(JSON.stringify(out));",
    ].join("\n");
    const { stdout } = await exec(process.execPath, ["-e", probe], { cwd: app, env: userEnv });
    const out = JSON.parse(stdout) as Record<string, number | string>;
    expect(out["iotguard/protocol"]).toBeGreaterThan(0);
    expect(out["iotguard/device"]).toBeGreaterThan(0);
    expect(out["iotguard/dist/services/cluster-head/head.js"]).toBe("ERR_PACKAGE_PATH_NOT_EXPORTED");
  });

  it("answers `iotguard --help` and `--version` from node_modules/.bin", async () => {
    const help = await timed("help", () => runBin("iotguard", ["--help"]));
    expect(help.stdout).toMatch(/^Usage: iotguard /);
    expect(help.stdout).toContain("device");
    expect(help.stderr).toBe("");
    const version = await runBin("iotguard", ["--version"]);
    const pkg = JSON.parse(readFileSync(join(REPO_ROOT, "package.json"), "utf8")) as { version: string };
    expect(version.stdout.trim()).toBe(pkg.version);
  });

  it("starts a cluster head from the installed package, and a device enrolls and joins through the installed CLI", async () => {
    const deploymentFile = join(work, "deployment.json");
    writeDeployment(deploymentFile, chain.deployment);
    const dataDir = join(work, "head-data");
    const started = await timed(
      "head-start",
      () =>
        new Promise<{ url: string; headAddress: string; tokenFile: string }>((resolve, reject) => {
          const child = spawn(
            bin("iotguard-cluster-head"),
            [
              ...["--rpc-url", chain.node.url, "--deployment", deploymentFile, "--data-dir", dataDir],
              ...["--port", "0", "--broker-port", "0", "--cluster-id", CLUSTER_ID, "--radius", "2000000"],
              ...["--poll-interval-ms", "50", "--log-level", "warn"],
            ],
            { cwd: app, env: userEnv, stdio: ["ignore", "ignore", "pipe"] },
          );
          head = child;
          let stderr = "";
          const timer = setTimeout(() => reject(new Error(`the head did not start: ${stderr}`)), 60_000);
          child.stderr?.on("data", (chunk: Buffer) => {
            stderr += chunk.toString();
            const m = stderr.match(
              /cluster head for cluster \d+ \((0x[0-9a-fA-F]{40})\) on (http:\/\/\S+), MQTT on \S+?; operator token in (\S+)\n/,
            );
            if (!m) return;
            clearTimeout(timer);
            resolve({ headAddress: m[1] as string, url: m[2] as string, tokenFile: m[3] as string });
          });
          child.once("exit", (code) => {
            clearTimeout(timer);
            reject(new Error(`the head exited (${code}): ${stderr}`));
          });
        }),
    );
    expect(started.tokenFile).toBe(join(dataDir, "admin-token"));
    const health = (await (await fetch(`${started.url}/health`)).json()) as Record<string, unknown>;
    expect(health).toMatchObject({
      status: "ok",
      clusterId: Number(CLUSTER_ID),
      headAddress: started.headAddress.toLowerCase(),
    });

    const dir = join(work, "device");
    const pinned = ["--head-address", started.headAddress];
    const t0 = performance.now();
    const init = await iotguard(["device", "init", "--data-dir", dir]);
    expect(init).toMatchObject({ event: "initialised", deviceId: expect.stringMatching(/^[0-9a-f]{64}$/) });
    const enrolled = await iotguard([
      ...["device", "enroll", "--data-dir", dir, "--head", started.url],
      ...["--token-file", started.tokenFile, ...pinned],
    ]);
    expect(enrolled).toMatchObject({ event: "enrolled", deviceId: init.deviceId });
    const joined = await iotguard([
      "device",
      "join",
      "--data-dir",
      dir,
      "--lat",
      "0.5",
      "--lon",
      "-0.3",
      ...pinned,
    ]);
    timings["device-init-enroll-join"] = Math.round(performance.now() - t0);
    expect(joined).toMatchObject({ event: "joined", deviceId: init.deviceId, clusterId: Number(CLUSTER_ID) });
    expect(String(joined.headAddress).toLowerCase()).toBe(started.headAddress.toLowerCase());
  });
});
