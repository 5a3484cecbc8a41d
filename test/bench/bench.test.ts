/**
 * `npm run bench -- --quick` on the two cheap suites writes a results file that matches the
 * documented schema, a markdown table and the SVG plots. Benchmarks are not tests: nothing here
 * looks at how fast anything was.
 */
import { execFile } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { resultsSchema, type Results } from "../../bench/lib/schema";

const run = promisify(execFile);
const ROOT = resolve(__dirname, "../..");

describe("npm run bench -- --quick crypto wire", () => {
  const out = mkdtempSync(join(tmpdir(), "iotguard-bench-"));
  let results: Results;
  let files: string[];

  beforeAll(async () => {
    await run(
      process.execPath,
      [
        resolve(ROOT, "node_modules/tsx/dist/cli.mjs"),
        "bench/run.ts",
        "--quick",
        "crypto",
        "wire",
        "--out",
        out,
      ],
      {
        cwd: ROOT,
        timeout: 120_000,
      },
    );
    files = readdirSync(out);
    const json = files.find((f) => f.endsWith(".json"));
    if (!json) throw new Error(`no results file in ${files.join(", ")}`);
    results = resultsSchema.parse(JSON.parse(readFileSync(join(out, json), "utf8")));
  }, 150_000);
  afterAll(() => rmSync(out, { recursive: true, force: true }));

  it("writes a results file valid against the schema, for the suites asked for", () => {
    expect(results.mode).toBe("quick");
    expect(results.suites).toEqual(["crypto", "wire"]);
    expect(results.failures).toEqual([]);
    expect(new Set(results.rows.map((r) => r.suite))).toEqual(new Set(["crypto", "wire"]));
  });

  it("computes every ratio from its baseline and checks every goal against its own figure", () => {
    for (const r of results.rows) {
      if (r.baseline) expect(r.ratio).toBeCloseTo(r.value / r.baseline.value, 9);
      else expect(r.ratio).toBeNull();
      if (r.goal) {
        const subject = r.goal.on === "ratio" ? (r.ratio as number) : r.value;
        expect(r.goal.met).toBe(r.goal.op === ">=" ? subject >= r.goal.target : subject <= r.goal.target);
      }
    }
  });

  it("reports the frame overhead and handshake bytes counted from real messages", () => {
    const byCase = new Map(results.rows.map((r) => [r.case, r]));
    expect(byCase.get("frame-overhead")?.value).toBe(31);
    expect(byCase.get("join-bytes-per-member")?.value).toBe(18 + 140 + 108);
    expect(byCase.get("join-bytes-per-member/hybrid")?.value).toBe(18 + 1325 + 1196);
    // Direct delivery of M1's Grant is what deployments send, and the goal row; relayed is the fallback.
    expect(byCase.get("join+grant-bytes-per-member")?.value).toBe(400);
    expect(byCase.get("join+grant-bytes-per-member")?.goal?.target).toBe(400);
    expect(byCase.get("join+grant-bytes-per-member/relayed")?.value).toBe(436);
    expect(byCase.get("join+grant-bytes-per-member/relayed")?.goal).toBeNull();
    expect(byCase.get("join+grant-bytes-per-member/hybrid")?.baseline?.value).toBe(894 + 1184 + 1088);
    expect(byCase.get("aes-256-gcm-seal/256B/noble")?.baseline?.case).toBe(
      "aes-256-gcm-seal/256B/node:crypto",
    );
  });

  it("writes the markdown table and one SVG per series", () => {
    const md = files.find((f) => f.endsWith(".md"));
    expect(md).toBeDefined();
    const text = readFileSync(join(out, md as string), "utf8");
    expect(text).toContain("| frame-overhead |");
    for (const s of results.series) {
      const svg = files.find((f) => f.endsWith(`-${s.name}.svg`));
      expect(svg, s.name).toBeDefined();
      expect(readFileSync(join(out, svg as string), "utf8")).toMatch(/^<svg/);
    }
  });
});
