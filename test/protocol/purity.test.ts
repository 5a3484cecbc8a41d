/**
 * protocol/ must stay pure: no I/O, clocks, timers, logging or ambient randomness.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";

const ROOT = path.resolve(__dirname, "../../protocol");
const FORBIDDEN = [
  /Date\.now/,
  /new Date\(/,
  /Math\.random/,
  /\bconsole\./,
  /\bprocess\./,
  /setTimeout|setInterval|setImmediate/,
  /from "node:/,
  /require\(/,
  /\bfetch\(/,
];

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = path.join(dir, f);
    return statSync(p).isDirectory() ? files(p) : p.endsWith(".ts") ? [p] : [];
  });
}

describe("protocol purity", () => {
  const all = files(ROOT);
  it("has source files", () => expect(all.length).toBeGreaterThan(15));
  it.each(all.map((f) => [path.relative(ROOT, f), f]))(
    "%s uses no I/O, clock, timer, console or Math.random",
    (_rel, file) => {
      const src = readFileSync(file, "utf8");
      for (const re of FORBIDDEN) expect(src, String(re)).not.toMatch(re);
    },
  );
  it.each(all.map((f) => [path.relative(ROOT, f), f]))("%s stays under 300 lines", (_rel, file) => {
    expect(readFileSync(file, "utf8").split("\n").length).toBeLessThan(300);
  });
});
