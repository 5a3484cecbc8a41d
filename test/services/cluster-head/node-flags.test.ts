/**
 * The head's V8 flags are given wherever the head is started: the npm script, the bin's shebang
 * and the testkit's head processes (which import the constant itself).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { HEAD_NODE_FLAGS } from "../../../services/cluster-head/node-flags";
import { REPO_ROOT } from "../../../testkit/build";

describe("the head's node flags", () => {
  it("are on the npm cluster-head script", () => {
    const pkg = JSON.parse(readFileSync(join(REPO_ROOT, "package.json"), "utf8")) as {
      scripts: Record<string, string>;
    };
    expect(pkg.scripts["cluster-head"]).toBe(
      `node ${HEAD_NODE_FLAGS.join(" ")} dist/services/cluster-head/main.js`,
    );
  });

  it("are on the shebang of the bin, through env -S", () => {
    const firstLine = readFileSync(join(REPO_ROOT, "services/cluster-head/main.ts"), "utf8").split("\n")[0];
    expect(firstLine).toBe(`#!/usr/bin/env -S node ${HEAD_NODE_FLAGS.join(" ")}`);
  });
});
