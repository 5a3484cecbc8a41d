/**
 * `npm run build` (scripts/build.cjs, tsconfig.build.json): dist/ holds CommonJS that plain Node
 * runs, with no TypeScript loader, no Hardhat and no artifacts/ or typechain-types/ at run time.
 */
import { execFile } from "node:child_process";
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { promisify } from "node:util";
import { beforeAll, describe, expect, it } from "vitest";
import { built, ensureBuilt, REPO_ROOT } from "../../testkit/build";

const run = promisify(execFile);
const DIST = join(REPO_ROOT, "dist");
const VERSION: string = JSON.parse(readFileSync(join(REPO_ROOT, "package.json"), "utf8")).version;

function jsFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? jsFiles(path) : name.endsWith(".js") ? [path] : [];
  });
}

beforeAll(() => ensureBuilt(), 120_000);

describe("the build output in dist/", () => {
  it("runs the CLI in plain node, reading the version from the package", async () => {
    const { stdout, stderr } = await run(process.execPath, [built("device/cli/main.js"), "--version"], {
      cwd: tmpdir(),
    });
    expect(stdout.trim()).toBe(VERSION);
    expect(stderr).toBe(""); // no ExperimentalWarning for require() of the ESM-only @noble packages
  });

  it("gives the head the package root's deployment file and data folder as defaults, not dist/'s", async () => {
    const { stdout } = await run(process.execPath, [built("services/cluster-head/main.js"), "--help"], {
      cwd: tmpdir(),
    });
    expect(stdout).toContain(`(default: ${join(REPO_ROOT, "deployments/localhost.json")})`);
    expect(stdout).toContain(`(default: ${join(REPO_ROOT, ".data/cluster-head")})`);
    expect(stdout).not.toContain(DIST);
  });

  it("looks for deployment files in the package root's deployments/, as the CLI's --deployment default", async () => {
    const { stdout } = await run(process.execPath, [
      "-p",
      `require(${JSON.stringify(built("chain/deployment-file.js"))}).DEFAULT_DEPLOYMENTS_DIR`,
    ]);
    expect(stdout.trim()).toBe(join(REPO_ROOT, "deployments"));
  });

  it("keeps the dynamic import() of the ESM-only aedes, and requires no dev tool or generated folder", () => {
    const broker = readFileSync(built("services/cluster-head/broker/embedded-broker.js"), "utf8");
    expect(broker).toMatch(/await import\("aedes"\)/);
    expect(broker).not.toMatch(/require\("aedes"\)/);
    const offenders: string[] = [];
    for (const file of jsFiles(DIST)) {
      const text = readFileSync(file, "utf8");
      // require.resolve("hardhat/…") inside startLocalNode is for tests and `npm start` only.
      const bad = text.match(
        /\brequire\("(?:tsx|ts-node|hardhat|typechain|@typechain\/[^"]*|[./]*(?:typechain-types|artifacts)\/?[^"]*)"\)/g,
      );
      if (bad) offenders.push(`${relative(DIST, file)}: ${bad.join(", ")}`);
    }
    expect(offenders).toEqual([]);
    expect(readdirSync(DIST).sort()).toEqual([
      "chain",
      "dashboard",
      "device",
      "package.json",
      "platform",
      "protocol",
      "services",
      "telemetry",
      "transport",
    ]);
  });
});

describe("the iotguard launcher (package.json bin)", () => {
  it("runs the built CLI", async () => {
    const { stdout } = await run(process.execPath, [join(REPO_ROOT, "device/cli/iotguard.cjs"), "--version"]);
    expect(stdout.trim()).toBe(VERSION);
  });

  it("exits 2 and says to run `npm run build` when dist/ is missing", async () => {
    const dir = mkdtempSync(join(tmpdir(), "iotguard-launcher-"));
    try {
      cpSync(join(REPO_ROOT, "device/cli/iotguard.cjs"), join(dir, "device/cli/iotguard.cjs"));
      const failed = await run(process.execPath, [join(dir, "device/cli/iotguard.cjs"), "--help"]).then(
        () => undefined,
        (error: { code: number; stderr: string }) => error,
      );
      expect(failed?.code).toBe(2);
      expect(failed?.stderr).toContain("run `npm run build` first");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
