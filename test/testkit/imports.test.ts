/**
 * The testkit's place in the tree: tests and the bench import testkit/; testkit/ imports neither
 * test/, bench/ nor vitest (so the bench never loads a test runner); bench/ and scripts/ never
 * import test/.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { REPO_ROOT } from "../../testkit/build";

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory())
      return name === "results" || name === "node_modules" ? [] : sources(path);
    return /\.(ts|mts|cts|js|cjs|mjs)$/.test(name) ? [path] : [];
  });
}

/** Every module a file names in `import … from`, `export … from`, `import()` or `require()`. */
function specifiers(file: string): string[] {
  const text = readFileSync(file, "utf8");
  const found: string[] = [];
  for (const m of text.matchAll(
    /(?:\bfrom\s*|\bimport\s*\(\s*|\brequire\s*\(\s*|^\s*import\s+)["']([^"']+)["']/gm,
  ))
    found.push(m[1] as string);
  return found;
}

/** Where a file's imports land: repository-relative paths for relative specifiers, else the package. */
function targets(file: string): string[] {
  return specifiers(file).map((s) =>
    s.startsWith(".") ? relative(REPO_ROOT, resolve(dirname(file), s)) : s,
  );
}

function offenders(dirs: string[], forbidden: (target: string) => boolean): string[] {
  return dirs.flatMap((dir) =>
    sources(join(REPO_ROOT, dir)).flatMap((file) =>
      targets(file)
        .filter(forbidden)
        .map((t) => `${relative(REPO_ROOT, file)} → ${t}`),
    ),
  );
}

describe("testkit import rules", () => {
  it("testkit/ imports neither test/, bench/ nor vitest", () => {
    expect(
      offenders(
        ["testkit"],
        (t) => /^(test|bench)(\/|$)/.test(t) || t === "vitest" || t.startsWith("vitest/"),
      ),
    ).toEqual([]);
  });

  it("bench/ and scripts/ never import test/", () => {
    expect(offenders(["bench", "scripts"], (t) => /^test(\/|$)/.test(t))).toEqual([]);
  });

  it("the rule checker sees a forbidden import when there is one", () => {
    // test/ imports testkit/ and vitest: the same scan over test/testkit finds both.
    const seen = offenders(["test/testkit"], (t) => t === "vitest" || t.startsWith("testkit/"));
    expect(seen.some((line) => line.endsWith("→ vitest"))).toBe(true);
    expect(seen.some((line) => line.endsWith("→ testkit/build"))).toBe(true);
  });
});
