/** packageRoot: the first folder above with a named package.json, skipping dist/'s nameless one. */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { packageRoot } from "../../platform/package-root";

const dir = mkdtempSync(join(tmpdir(), "iotguard-package-root-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("packageRoot", () => {
  it("skips a package.json without a name (the build's dist/package.json) and stops at the named one", () => {
    const root = join(dir, "pkg");
    mkdirSync(join(root, "dist/services/cluster-head"), { recursive: true });
    writeFileSync(join(root, "package.json"), JSON.stringify({ name: "iotguard", version: "1.2.3" }));
    writeFileSync(join(root, "dist/package.json"), JSON.stringify({ version: "1.2.3", type: "commonjs" }));
    expect(packageRoot(join(root, "dist/services/cluster-head"), "/fallback")).toBe(root);
    expect(packageRoot(join(root, "dist"), "/fallback")).toBe(root);
  });

  it("skips a package.json that is not JSON, and returns the fallback when no named one is above", () => {
    const lone = join(dir, "lone/a/b");
    mkdirSync(lone, { recursive: true });
    writeFileSync(join(dir, "lone/a/package.json"), "{ not json");
    // tmpdir() has no package.json above it on this machine; the walk ends at the filesystem root.
    expect(packageRoot(lone, "/fallback")).toBe("/fallback");
  });

  it("finds this repository's root from its own sources", () => {
    expect(packageRoot(join(__dirname, "../../services/cluster-head"), "/fallback")).toBe(
      join(__dirname, "../.."),
    );
  });
});
